"""One glossary of the 22 drivers in program staff's words, used by every view of the report.

Each entry has a plain name (a table row, a chart label, the summary), the same idea as the subject
of a sentence, and what a program can do about it. The variable names (``grade_first_term``) stay
the keys of ``--json`` and of docs/driver-definitions.md; readers of the report never need them.
"""

from __future__ import annotations

from typing import NamedTuple


class GlossaryEntry(NamedTuple):
    """A driver in plain words."""

    name: str
    subject: str
    advice: str


GLOSSARY: dict[str, GlossaryEntry] = {
    "completed_open_course": GlossaryEntry(
        "Finished an open course before starting",
        "Having finished an open course before the degree began",
        "Pointing applicants to a relevant open course before they start is a cheap way to build "
        "the habit early.",
    ),
    "stackable_open_course": GlossaryEntry(
        "Took a stackable open course before starting",
        "Having enrolled in an open course that shares material with the degree",
        "Stackable open courses let future students try the program before they commit.",
    ),
    "first_assessment_on_time": GlossaryEntry(
        "Passed the first assessment on time",
        "Passing the first graded assessment by its deadline",
        "Reminders, office hours and quick answers before the first deadline target this moment.",
    ),
    "days_active_first_term": GlossaryEntry(
        "Days studied in the first term",
        "Studying on more separate days in the first term",
        "Short, frequent tasks bring students back more often than a few long sessions.",
    ),
    "learning_hours_first_term": GlossaryEntry(
        "Hours studied in the first term",
        "Spending more hours learning in the first term",
        "Read it beside days active: a steady rhythm can matter more than total time.",
    ),
    "days_active_before_first_deadline": GlossaryEntry(
        "Days studied before the first deadline",
        "Studying on more separate days before the first deadline",
        "Small tasks in the first week help new students settle into a routine.",
    ),
    "learning_hours_before_first_deadline": GlossaryEntry(
        "Hours studied before the first deadline",
        "Spending more hours learning before the first deadline",
        "An early workload that is clear and steady helps students plan their first weeks.",
    ),
    "grade_first_term": GlossaryEntry(
        "Mean first-term grade",
        "A higher mean final grade in the first term",
        "Students slipping in their first term are the ones to reach early; clearer grading "
        "criteria help more than easier tests.",
    ),
    "courses_enrolled": GlossaryEntry(
        "First-term courses taken",
        "Taking more courses in the first term",
        "Advice on course load at enrolment should weigh momentum against the risk of overload.",
    ),
    "courses_dropped": GlossaryEntry(
        "First-term courses dropped",
        "Dropping more first-term courses",
        "A dropped course is a signal worth a conversation with an advisor.",
    ),
    "dropped_after_deadline": GlossaryEntry(
        "Dropped a course after the drop deadline",
        "Dropping a course after the drop deadline",
        "Late drops often follow a crisis; an advisor's call soon after one can help.",
    ),
    "has_staff_graded": GlossaryEntry(
        "Courses with staff-graded work",
        "First-term courses with at least one staff-graded assessment",
        "Expert feedback on at least one assignment per course may repay the staff time.",
    ),
    "has_hands_on": GlossaryEntry(
        "Courses with hands-on graded work",
        "First-term courses with a hands-on graded assignment",
        "Applied work (code, writing, peer review, team projects) keeps students invested.",
    ),
    "practice_share": GlossaryEntry(
        "Practice share of ungraded items",
        "A larger share of practice items among a course's ungraded items",
        "Swapping some readings or videos for low-stakes practice is a design lever to test.",
    ),
    "video_share": GlossaryEntry(
        "Video share of ungraded items",
        "A larger share of videos among a course's ungraded items",
        "Videos are a means, not an end; their mix with practice is what to review.",
    ),
    "reading_share": GlossaryEntry(
        "Reading share of ungraded items",
        "A larger share of readings among a course's ungraded items",
        "Long reading lists can be broken up with practice and short videos.",
    ),
    "staff_grade_share": GlossaryEntry(
        "Grade share from staff grading",
        "More of the course grade coming from staff-graded work",
        "How much of the grade rests on expert grading is a course design choice to revisit.",
    ),
    "peer_grade_share": GlossaryEntry(
        "Grade share from peer grading",
        "More of the course grade coming from peer-graded work",
        "Peer review works best as part of the grade, not most of it.",
    ),
    "quiz_grade_share": GlossaryEntry(
        "Grade share from quizzes",
        "More of the course grade coming from quizzes",
        "Quizzes check understanding quickly but should not carry the whole grade.",
    ),
    "graded_weight_centroid": GlossaryEntry(
        "Grade weight late in the course",
        "Grade weight placed later in the course, as with a final project",
        "A final project works best with milestones that spread the work across the term.",
    ),
    "max_item_weight": GlossaryEntry(
        "Weight of the largest assessment",
        "A heavier single largest assessment",
        "Very heavy single assessments raise the stakes; scaffolding them can help.",
    ),
    "course_median_days_active": GlossaryEntry(
        "Typical days studied in the courses",
        "Courses whose past students studied on more separate days",
        "Courses built for regular short visits tend to keep students coming back.",
    ),
}


def plain_name(driver: str) -> str:
    """The driver's plain name, or its variable name when the glossary does not know it."""
    entry = GLOSSARY.get(driver)
    return entry.name if entry is not None else driver
