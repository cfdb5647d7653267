"""Weekly scoring with the champion model: risk per student, the reasons behind it, drift."""
