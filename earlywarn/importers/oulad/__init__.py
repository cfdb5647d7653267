"""The Open University Learning Analytics Dataset (OULAD) importer: sources, layout, convert."""
