"""The latest training runs side by side, week by week: what an ML engineer checks before
`earlywarn promote`.

    .venv/bin/python training/compare_runs.py [--home DIR] [--runs N] [--weeks 1,2,4,8]

Reads the home's MLflow store through earlywarn's adapter (earlywarn.model.runs); prints the
model's ROC-AUC and its logistic baseline's at each checkpoint week, the window's mean and the
booster's trees, newest run first.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=Path.cwd(), help="earlywarn home folder")
    parser.add_argument("--runs", type=int, default=5, help="how many runs, newest first")
    parser.add_argument("--weeks", default="1,2,4,8", help="checkpoint weeks to show")
    args = parser.parse_args(argv)

    from earlywarn.core.settings import load_settings
    from earlywarn.model.runs import recent_runs

    weeks = [int(w) for w in args.weeks.split(",") if w.strip()]
    settings = load_settings(args.home)
    if not (settings.mlruns_dir / "mlflow.db").is_file():
        print(f"no MLflow store in {settings.mlruns_dir}: run earlywarn train there first")
        return 2
    runs = recent_runs(settings, limit=args.runs, keys=("roc_auc", "baseline_roc_auc"))
    if not runs:
        print("no training runs yet: run earlywarn train DIR")
        return 0
    header = ["run", "started (UTC)", "test cohort", "trees", "mean 1-8"]
    header += [f"w{w} model/logit" for w in weeks]
    print("  ".join(header))
    for run in runs:
        started = datetime.fromtimestamp(run["started"] / 1000, tz=UTC)
        mean = run["window_mean_roc_auc"]
        cells = [
            run["run_id"][:8],
            f"{started:%Y-%m-%d %H:%M}",
            run["test_cohort"] or "-",
            "-" if run["trees"] is None else f"{run['trees']:.0f}",
            "-" if mean is None else f"{mean:.3f}",
        ]
        for week in weeks:
            model = run["roc_auc"].get(week)
            logit = run["baseline_roc_auc"].get(week)
            cells.append("-" if model is None or logit is None else f"{model:.3f}/{logit:.3f}")
        print("  ".join(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
