"""Where the ranking falls short on OULAD: the modules' levels, or the order within each module.

Imports the OULAD folder (``--label``, without the clickstream fragment, as ``oulad_eval.py``
does), trains exactly as ``earlywarn train`` does but in this process and without logging, and
splits each week's ROC-AUC on the test presentations into two parts:

- ``levels_known``: the ROC-AUC if every module's level were right. Each module's risks are shifted
  on the logit scale, one shift per module, until their mean is the module's actual rate in the
  test presentation; the order within the module is kept. This is an upper bound for any
  improvement that only gets modules' levels right (a new module's rate, say).
- ``within_module``: the mean of each module's own ROC-AUC, weighted by its students. No level,
  right or wrong, moves it: only a better order of students inside a module does.

It also prints each module's mean risk against its actual rate (a module with no training
presentation is marked new), and the ECE without the new modules.

    .venv/bin/python benchmarks/oulad_levels.py                    # withdrawn, weeks 1-8
    .venv/bin/python benchmarks/oulad_levels.py --label not-passed --source path/to/oulad
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from oulad_eval import DEFAULT_SOURCE, LABELS, earlywarn, oulad_clickstream, say, weeks_wanted
from scipy.optimize import brentq
from scipy.special import expit, logit
from sklearn.metrics import roc_auc_score

from earlywarn.model.metrics import expected_calibration_error as ece

#: The widest logit shift a module's risks are moved by: a risk of 1e-9 to one of 1 - 1e-9.
MAX_SHIFT = 42.0


def relevel(y: np.ndarray, risk: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """``risk`` with each group's logits shifted so that the group's mean risk is its rate in
    ``y``; the order inside each group is unchanged. A group with one class only is set to it."""
    z = logit(np.clip(risk.astype(float), 1e-9, 1 - 1e-9))
    out = np.empty(len(z))
    for group in np.unique(groups):
        inside = groups == group
        rate, zg = float(y[inside].mean()), z[inside]
        if rate in (0.0, 1.0):
            out[inside] = rate
            continue
        shift = brentq(
            lambda s, zg=zg, rate=rate: expit(zg + s).mean() - rate, -MAX_SHIFT, MAX_SHIFT
        )
        out[inside] = expit(zg + shift)
    return out


def within_group_auc(y: np.ndarray, risk: np.ndarray, groups: np.ndarray) -> float | None:
    """The mean of each group's ROC-AUC, weighted by the group's rows; groups with one class only
    are left out. ``None`` when no group has both classes."""
    total, weight = 0.0, 0
    for group in np.unique(groups):
        inside = groups == group
        if 0 < y[inside].sum() < inside.sum():
            total += roc_auc_score(y[inside], risk[inside]) * int(inside.sum())
            weight += int(inside.sum())
    return total / weight if weight else None


def week_levels(y: np.ndarray, risk: np.ndarray, groups: np.ndarray, new: set[str]) -> dict:
    """One week's split of the ROC-AUC, the ECE with and without ``new`` groups, and each
    group's rows, rate and mean risk."""
    old = ~np.isin(groups, sorted(new))
    auc = roc_auc_score(y, risk) if 0 < y.sum() < len(y) else None
    return {
        "n": len(y),
        "roc_auc": auc,
        "levels_known": roc_auc_score(y, relevel(y, risk, groups)) if auc is not None else None,
        "within_module": within_group_auc(y, risk, groups),
        "ece": float(ece(y, risk)),
        "ece_without_new": float(ece(y[old], risk[old])) if old.any() else None,
        "modules": {
            str(g): {
                "n": int((groups == g).sum()),
                "rate": float(y[groups == g].mean()),
                "mean_risk": float(risk[groups == g].mean()),
                "new": str(g) in new,
            }
            for g in np.unique(groups)
        },
    }


def train_in_process(folder: Path) -> tuple[pd.DataFrame, set[str]]:
    """Train on the imported ``folder`` as ``earlywarn train`` does, without logging: the test rows
    (week, module, at risk, risk) and the modules no training row has."""
    from earlywarn.core.settings import Settings
    from earlywarn.training.pipeline import train_from_folder

    result = train_from_folder(Settings(), folder, log=False, progress=say)
    test, train = result.split.test, result.split.train
    rows = pd.DataFrame(
        {
            "week": test["checkpoint_week"].to_numpy(),
            "module": test["program_id"].astype(str).to_numpy(),
            "at_risk": result.test_at_risk.to_numpy().astype(int),
            "risk": np.asarray(result.test_risk, dtype=float),
        }
    )
    return rows, set(rows["module"]) - set(train["program_id"].astype(str))


def _f(value: float | None) -> str:
    return "  n/a" if value is None else f"{value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="the OULAD folder")
    parser.add_argument("--label", choices=LABELS, default=LABELS[0], help="what is predicted")
    parser.add_argument("--weeks", default="1-8", help="checkpoint weeks, e.g. 1-8")
    args = parser.parse_args()
    oulad_clickstream(args.source)  # a one-line error unless it holds OULAD's files
    with tempfile.TemporaryDirectory(prefix="oulad-levels-") as scratch:
        folder = Path(scratch) / "folder"
        say(f"importing {args.source} (earlywarn import oulad --label {args.label})")
        earlywarn("import", "oulad", str(args.source), "--out", str(folder), "--label",
                  args.label, "--no-activity")  # fmt: skip
        rows, new = train_in_process(folder)
    weeks: dict[int, dict[str, Any]] = {}
    for week in weeks_wanted(args.weeks):
        part = rows[rows["week"] == week]
        if len(part):
            weeks[week] = week_levels(
                part["at_risk"].to_numpy(), part["risk"].to_numpy(), part["module"].to_numpy(), new
            )
    print(f"OULAD {args.label}; modules new to the model: {', '.join(sorted(new)) or 'none'}")
    print("| week | n | ROC-AUC | levels known | within module | ECE | ECE without new |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for week, w in weeks.items():
        keys = ("roc_auc", "levels_known", "within_module", "ece", "ece_without_new")
        cells = [w[key] for key in keys]
        print(f"| {week} | {w['n']} | " + " | ".join(_f(c) for c in cells) + " |")
    for week in [w for w in (1, 2, 4) if w in weeks]:
        modules = weeks[week]["modules"]
        print(f"week {week}, mean risk / rate: " + ", ".join(
            f"{m}{' (new)' if v['new'] else ''} {v['mean_risk']:.3f}/{v['rate']:.3f}"
            for m, v in modules.items()))  # fmt: skip
    print(json.dumps({"label": args.label, "new_modules": sorted(new), "weeks": weeks}))


if __name__ == "__main__":
    main()
