"""Who appears in which digest: each student to their own advisor only, sized to a person."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from earlywarn.digest.selection import (
    AdvisorContact,
    Roster,
    StudentContact,
    Thresholds,
    select_digests,
)
from earlywarn.state import ScoreRow, tier_for

T = Thresholds(high=0.5, medium=0.3, max_students=3, worse_margin=0.05)


def score(student_id: str, risk: float, n_reasons: int = 4) -> ScoreRow:
    return ScoreRow(
        student_id=student_id,
        risk=risk,
        tier=tier_for(risk, high=0.5, medium=0.3),
        program_id="p1",
        courses="Scored Course",
        reasons=[
            {"driver": f"d{i}", "text": f"reason {i} of {student_id}", "action": f"act {i % 2}"}
            for i in range(n_reasons)
        ],
    )


def roster(assignments: dict[str, str | None], advisors: dict[str, str | None]) -> Roster:
    return Roster(
        students={
            s: StudentContact(s, f"Name {s}", a, (f"Course of {s}",))
            for s, a in assignments.items()
        },
        advisors={a: AdvisorContact(a, f"Advisor {a}", e) for a, e in advisors.items()},
    )


def test_each_advisor_gets_only_their_at_risk_students_riskiest_first() -> None:
    r = roster(
        {"s1": "a1", "s2": "a1", "s3": "a2", "s4": "a1", "s5": "a2"},
        {"a1": "a1@uni.example", "a2": "a2@uni.example", "a3": "a3@uni.example"},
    )
    scores = [score("s1", 0.35), score("s2", 0.8), score("s3", 0.6), score("s4", 0.1)]
    scores.append(score("s5", 0.29))
    sel = select_digests(scores, {}, r, T)
    assert [d.advisor.advisor_id for d in sel.digests] == ["a1", "a2"]  # a3 has nobody to act on
    a1, a2 = sel.digests
    assert [s.student_id for s in a1.students] == ["s2", "s1"]
    assert [s.student_id for s in a2.students] == ["s3"]
    assert sel.tier_counts == {"high": 2, "medium": 1, "low": 2}


def test_a_long_list_is_cut_to_the_maximum_with_the_rest_counted() -> None:
    ids = [f"s{i:02d}" for i in range(7)]
    r = roster(dict.fromkeys(ids, "a1"), {"a1": "a1@uni.example"})
    sel = select_digests([score(s, 0.3 + i / 100) for i, s in enumerate(ids)], {}, r, T)
    [digest] = sel.digests
    assert [s.student_id for s in digest.shown] == ["s06", "s05", "s04"]
    assert digest.more == 4
    assert len(digest.students) == 7


def test_new_worse_and_still_at_risk_against_the_previous_week() -> None:
    r = roster(dict.fromkeys(("new1", "new2", "worse", "still", "down"), "a1"), {"a1": "a@x.org"})
    previous = {"new2": 0.29, "worse": 0.40, "still": 0.60, "down": 0.7}
    now = [score("new1", 0.4), score("new2", 0.5), score("worse", 0.46)]
    now += [score("still", 0.65), score("down", 0.4)]
    sel = select_digests(now, previous, r, T)
    lines = {s.student_id: s for s in sel.digests[0].students}
    assert {k: v.status for k, v in lines.items()} == {
        "new1": "new",  # not scored last week
        "new2": "new",  # scored, but below the medium tier
        "worse": "worse",  # up 6 points, more than the 5-point margin
        "still": "still",  # up exactly 5 points: not more than the margin
        "down": "still",
    }
    assert lines["new1"].previous_risk is None
    assert lines["worse"].previous_risk == 0.40


def test_reasons_are_cut_to_three_and_actions_deduplicated() -> None:
    r = roster({"s1": "a1"}, {"a1": "a@x.org"})
    [line] = select_digests([score("s1", 0.9, n_reasons=5)], {}, r, T).digests[0].students
    assert [x.text for x in line.reasons] == ["reason 0 of s1", "reason 1 of s1", "reason 2 of s1"]
    assert line.actions == ("act 0", "act 1")
    assert line.courses == ("Course of s1",)
    assert line.name == "Name s1"


def test_students_no_advisor_can_be_told_about_go_to_the_operator() -> None:
    r = roster(
        {"s1": None, "s2": "ghost", "s3": "a2", "s4": None, "s5": "a1"},
        {"a1": "a1@uni.example", "a2": None},
    )
    scores = [score("s1", 0.7), score("s2", 0.5), score("s3", 0.4), score("s4", 0.1)]
    scores += [score("s5", 0.35), score("s9", 0.9)]
    sel = select_digests(scores, {}, r, T)
    assert [(u.student_id, u.why) for u in sel.unassigned] == [
        ("s1", "no advisor"),
        ("s2", "advisor ghost is not in the advisors table"),
        ("s3", "advisor a2 has no usable email address"),
    ]
    assert sel.unknown_students == ["s9"]
    assert [d.advisor.advisor_id for d in sel.digests] == ["a1"]
    assert [s.student_id for s in sel.digests[0].students] == ["s5"]


@given(
    assignments=st.dictionaries(
        st.text("abcdef", min_size=1, max_size=3),
        st.sampled_from(["a1", "a2", "a3", None]),
        max_size=30,
    ),
    risks=st.lists(st.floats(0, 1), min_size=30, max_size=30),
)
def test_no_student_ever_reaches_another_advisor(
    assignments: dict[str, str | None], risks: list[float]
) -> None:
    r = roster(assignments, {"a1": "a1@x.org", "a2": "a2@x.org", "a3": None})
    scores = [score(s, risk) for s, risk in zip(assignments, risks, strict=False)]
    sel = select_digests(scores, {}, r, T)
    listed = [s.student_id for d in sel.digests for s in d.students]
    assert len(listed) == len(set(listed))
    for digest in sel.digests:
        for line in digest.students:
            assert assignments[line.student_id] == digest.advisor.advisor_id
            assert line.risk >= T.medium
        assert len(digest.shown) <= T.max_students
    at_risk = {s.student_id for s in scores if s.risk >= T.medium}
    told_operator = {u.student_id for u in sel.unassigned}
    assert set(listed) | told_operator == at_risk
    assert not set(listed) & told_operator
