"""The model against simple peers on OULAD: what an outside check compares it with.

Issue 14 measured ``earlywarn train`` against a short independent script: a logistic regression
and a plain LightGBM on a few columns of the raw OULAD tables, with no clickstream and no
sensitive columns. This benchmark is such a peer, written from that description and nothing of
ours (it reads the CSV files with pandas, not through the importer or the feature code), so a
change that helps only our own baseline cannot make the model look better here.

For each label (``withdrawn``; ``not-passed``, withdrawn or failed) it trains on every
presentation before the latest one in the folder and scores the latest one at weeks 1-8, with the
same population rule as the model (a student is scored at week w when not unregistered by the end
of day 7w - 1, the last day the week's checkpoint sees). The peers' features as of that day:
highest education, studied credits, earlier attempts, the module (one-hot), the module's
withdrawal rate in earlier presentations, the registration day, and the assessments due,
submitted, submitted late and missing so far with the mean score of those submitted. Both peers
train on all weeks 1-8 at once with the week as a feature.

The model's figures are read from ``benchmarks/results/oulad.json`` (``oulad_eval.py --save``), so
run that first, or from ``--results FILE`` (the JSON line ``oulad_eval.py`` prints last); their
test presentation must be the one scored here (the script checks).

    .venv/bin/python benchmarks/oulad_peer.py --source ../shared/data/oulad
    .venv/bin/python benchmarks/oulad_peer.py --save   # also write benchmarks/results/peer.json
    .venv/bin/python benchmarks/oulad_peer.py --without code_module   # what one column brings
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "oulad"
RESULTS = Path(__file__).resolve().parent / "results"
WEEKS = range(1, 9)
NOT_RETAINED = {"withdrawn": {"Withdrawn"}, "not-passed": {"Withdrawn", "Fail"}}
KEY = ["code_module", "code_presentation", "id_student"]
NUMERIC = [
    "studied_credits",
    "num_of_prev_attempts",
    "date_registration",
    "module_rate",
    "due",
    "submitted",
    "late",
    "missing",
    "score",
    "week",
]
CATEGORICAL = ["highest_education", "code_module"]


def presentation_order(code: str) -> tuple[int, str]:
    """2013B before 2013J before 2014B: the year, then the letter (B starts in February)."""
    return int(code[:4]), code[4:]


def student_weeks(source: Path, label: str) -> pd.DataFrame:
    """One row per registration and week 1-8 it is still registered at, with the peers' columns."""
    info, registration, assessments, results = (
        _read(source, name)
        for name in ("studentInfo", "studentRegistration", "assessments", "studentAssessment")
    )
    students = info.merge(registration, on=KEY)
    students["y"] = students["final_result"].isin(NOT_RETAINED[label]).astype(int)
    order = sorted(students["code_presentation"].unique(), key=presentation_order)
    students["period"] = students["code_presentation"].map(order.index)
    students["module_rate"] = module_rates(students)
    due_day = assessments["date"].fillna(np.inf)  # an exam without a date is never due early
    results = results.merge(
        assessments[["id_assessment", "code_module", "code_presentation"]].assign(due=due_day),
        on="id_assessment",
    )
    frames = []
    for week in WEEKS:
        day = 7 * week - 1
        left = students["date_unregistration"] <= day
        rows = students[~left].assign(week=week)
        due = (
            assessments[due_day <= day]
            .groupby(["code_module", "code_presentation"])
            .size()
            .rename("due")
        )
        seen = results[results["date_submitted"] <= day]
        seen = seen.assign(late=seen["date_submitted"] > seen["due"])
        work = seen.groupby(KEY).agg(
            submitted=("id_assessment", "size"), late=("late", "sum"), score=("score", "mean")
        )
        rows = rows.merge(due, on=["code_module", "code_presentation"], how="left")
        rows = rows.merge(work, on=KEY, how="left")
        rows[["due", "submitted", "late"]] = rows[["due", "submitted", "late"]].fillna(0)
        rows["missing"] = (rows["due"] - rows["submitted"]).clip(lower=0)
        frames.append(rows)
    return pd.concat(frames, ignore_index=True)


def _read(source: Path, name: str) -> pd.DataFrame:
    path = source / f"{name}.csv"
    if not path.is_file():
        print(f"error: {path} not found: pass --source with the folder of OULAD's CSV files",
              file=sys.stderr)  # fmt: skip
        raise SystemExit(2)
    return pd.read_csv(path)


def module_rates(students: pd.DataFrame) -> pd.Series:
    """Each registration's module withdrawal rate in the presentations before its own (the rate of
    all earlier registrations for a module with none; missing in the first presentation)."""
    withdrawn = students["final_result"].eq("Withdrawn")
    rates = pd.Series(np.nan, index=students.index)
    for period in sorted(students["period"].unique()):
        earlier = students["period"] < period
        if not earlier.any():
            continue
        by_module = withdrawn[earlier].groupby(students.loc[earlier, "code_module"]).mean()
        here = students["period"] == period
        rate = students.loc[here, "code_module"].map(by_module).fillna(withdrawn[earlier].mean())
        rates[here] = rate
    return rates


def peer_scores(rows: pd.DataFrame, without: set[str]) -> pd.DataFrame:
    """The latest presentation's rows with the two peers' scores, trained on the earlier ones;
    ``without``: columns left out (to see which ones give the peers their edge)."""
    import lightgbm
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    categorical = [c for c in CATEGORICAL if c not in without]
    dummies = pd.get_dummies(rows[categorical].astype(str), dtype=float)
    numeric = [c for c in NUMERIC if c not in without]
    features = pd.concat([rows[numeric].astype(float), dummies], axis=1)
    # The logistic regression needs values: no score yet is a score of -1 with a flag for it.
    fill = {"score": -1.0, "date_registration": 0.0, "module_rate": rows["module_rate"].mean()}
    filled = features.fillna({c: v for c, v in fill.items() if c in numeric})
    if "score" in numeric:
        filled["has_score"] = features["score"].notna().astype(float)
    test = rows["period"] == rows["period"].max()
    y = rows["y"]
    logistic = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    logistic.fit(filled[~test], y[~test])
    boosted = lightgbm.LGBMClassifier(
        n_estimators=300, learning_rate=0.03, num_leaves=15, min_child_samples=50, verbose=-1
    )
    boosted.fit(features[~test], y[~test])
    return rows[test].assign(
        logistic=logistic.predict_proba(filled[test])[:, 1],
        lightgbm=boosted.predict_proba(features[test])[:, 1],
    )


def compare(source: Path, label: str, model: dict[str, Any], without: set[str]) -> dict[str, Any]:
    """Per week: n, positives, the model's ROC-AUC and each peer's."""
    from sklearn.metrics import roc_auc_score

    scored = peer_scores(student_weeks(source, label), without)
    presentation = str(scored["code_presentation"].iloc[0])
    tested = {str(c).rsplit("-", 1)[-1] for c in model.get("test_cohorts", [])}
    if tested != {presentation}:
        raise SystemExit(
            f"the model's figures score {sorted(tested)} but the latest presentation here is "
            f"{presentation}: run oulad_eval.py --save on the same folder first, or pass its "
            "JSON with --results"
        )
    by_week = {int(w["week"]): w for w in model["weeks"]}
    weeks = []
    for week in WEEKS:
        rows = scored[scored["week"] == week]
        model_week = by_week.get(week, {})
        if model_week.get("n") not in (None, len(rows)):
            raise SystemExit(
                f"week {week}: the model scored {model_week['n']} students and the peers "
                f"{len(rows)}; the population rule differs"
            )
        weeks.append(
            {
                "week": week,
                "n": len(rows),
                "positives": int(rows["y"].sum()),
                "model": model_week.get("roc_auc"),
                "logistic_peer": float(roc_auc_score(rows["y"], rows["logistic"])),
                "lightgbm_peer": float(roc_auc_score(rows["y"], rows["lightgbm"])),
            }
        )
    return {"test_presentation": presentation, "weeks": weeks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="the OULAD CSV folder")
    parser.add_argument("--save", action="store_true", help="write results/peer.json")
    parser.add_argument(
        "--results",
        type=Path,
        default=RESULTS / "oulad.json",
        help="the model's figures: oulad_eval.py's JSON for the same folder (default: the saved)",
    )
    parser.add_argument(
        "--without",
        action="append",
        default=[],
        choices=NUMERIC[:-1] + CATEGORICAL,
        help="leave this peer column out (repeatable); not with --save",
    )
    args = parser.parse_args()
    if args.save and args.without:
        parser.error("--save records the peers with all their columns: drop --without")
    if not args.results.is_file():
        parser.error(f"{args.results} not found: run oulad_eval.py --save first, or pass --results")
    model_results = json.loads(args.results.read_text())
    report = {}
    for label in NOT_RETAINED:
        report[label] = compare(args.source, label, model_results[label], set(args.without))
        print(f"\n{label}, {report[label]['test_presentation']}: ROC-AUC by week")
        print(f"{'week':>4} {'n':>6} {'model':>7} {'logistic peer':>14} {'LightGBM peer':>14} "
              f"{'model - best peer':>18}")  # fmt: skip
        for w in report[label]["weeks"]:
            best = max(w["logistic_peer"], w["lightgbm_peer"])
            gap = "" if w["model"] is None else f"{w['model'] - best:+.3f}"
            shown = "" if w["model"] is None else f"{w['model']:.3f}"
            print(f"{w['week']:>4} {w['n']:>6} {shown:>7} {w['logistic_peer']:>14.3f} "
                  f"{w['lightgbm_peer']:>14.3f} {gap:>18}")  # fmt: skip
    if args.save:
        (RESULTS / "peer.json").write_text(json.dumps(report, indent=2) + "\n")
    json.dump(report, sys.stdout)
    print()


if __name__ == "__main__":
    main()
