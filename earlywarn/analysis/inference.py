"""The interval of one driver's coefficient, computed at the level where the driver varies.

A student-level driver (behaviour, open content) is assigned student by student, so its uncertainty
comes from students: heteroskedasticity-robust (HC1) errors, each student being one row (Abadie,
Athey, Imbens and Wooldridge 2023: cluster where the treatment is assigned in clusters). A
course-design driver is assigned course by course, so its errors are clustered (``clusters``): CR1
with Student's t on G-1 degrees of freedom when there are at least ``min_clusters`` of them, and
otherwise the wild cluster bootstrap with Webb's six-point weights from the ``wildboottest``
package, which holds up with few clusters where CR1 does not (Cameron, Gelbach and Miller 2008;
Webb 2023). The p-value is the restricted bootstrap's (WCR, the null imposed); the interval is the
unrestricted bootstrap's symmetric percentile-t interval (WCU): the estimate plus or minus the 95th
percentile of the bootstrap |t| times the CR1 standard error. Inverting the WCR test would need a
bootstrap per trial value, and ``wildboottest`` compiles its kernel on every call, which made one
driver take minutes on a shared machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

HC1 = "hc1"
CR1 = "cr1_t"
WILD_BOOTSTRAP = "wild_cluster_bootstrap_webb"


@dataclass(frozen=True)
class CoefficientInference:
    """Standard error, p-value (against zero) and interval of the first coefficient."""

    se: float
    p_value: float
    low: float
    high: float
    method: str
    clusters: int


def coefficient_inference(
    exog: np.ndarray,
    outcome: np.ndarray,
    clusters: np.ndarray | None,
    *,
    confidence: float = 0.95,
    min_clusters: int = 30,
    bootstrap_draws: int = 1999,
    random_state: int | None = 0,
) -> tuple[Any, CoefficientInference]:
    """Fit OLS of ``outcome`` on ``exog`` and infer on its first column's coefficient.

    ``clusters`` is None for a driver that varies between students (HC1, t on the residual
    degrees of freedom), else each row's cluster code. Returns the statsmodels results (fitted
    with the same covariance) and the inference.
    """
    import numpy as np
    import pandas as pd
    import statsmodels.api as sm
    from scipy import stats

    model = sm.OLS(outcome, exog)
    if clusters is None:
        result = model.fit(cov_type="HC1", use_t=True)
        critical = float(stats.t.ppf(0.5 + confidence / 2, int(result.df_resid)))
        se = float(result.bse[0])
        coef = float(result.params[0])
        p_value = float(result.pvalues[0])
        return result, CoefficientInference(
            se, p_value, coef - critical * se, coef + critical * se, HC1, len(outcome)
        )
    codes, _ = pd.factorize(pd.Series(np.asarray(clusters)), sort=True)
    n_clusters = int(codes.max()) + 1
    if n_clusters < 2:
        raise ValueError("clustered inference needs at least two clusters")
    result = model.fit(cov_type="cluster", cov_kwds={"groups": codes}, use_t=True)
    coef, se = float(result.params[0]), float(result.bse[0])
    if n_clusters >= min_clusters:
        critical = float(stats.t.ppf(0.5 + confidence / 2, n_clusters - 1))
        p_value = float(2 * stats.t.sf(abs(coef / se), n_clusters - 1)) if se > 0 else 1.0
        return result, CoefficientInference(
            se, p_value, coef - critical * se, coef + critical * se, CR1, n_clusters
        )
    restricted = wild_bootstrap(exog, outcome, codes, draws=bootstrap_draws, seed=random_state)
    unrestricted = wild_bootstrap(
        exog, outcome, codes, draws=bootstrap_draws, seed=random_state, impose_null=False
    )
    t_boot = np.abs(np.asarray(unrestricted.t_boot, dtype=float).ravel())
    critical = float(np.quantile(t_boot[np.isfinite(t_boot)], confidence))
    boot_se = float(
        np.sqrt(unrestricted.ssc * restriction_of(exog) @ unrestricted.vcov @ restriction_of(exog))
    )
    p_value = float(np.asarray(restricted.pvalue).ravel()[0])
    return result, CoefficientInference(
        se,
        p_value,
        coef - critical * boot_se,
        coef + critical * boot_se,
        WILD_BOOTSTRAP,
        n_clusters,
    )


def restriction_of(exog: np.ndarray) -> np.ndarray:
    """The row vector that picks the first coefficient."""
    import numpy as np

    restriction = np.zeros(exog.shape[1])
    restriction[0] = 1.0
    return restriction


def wild_bootstrap(
    exog: np.ndarray,
    outcome: np.ndarray,
    codes: np.ndarray,
    *,
    draws: int,
    seed: int | None,
    impose_null: bool = True,
) -> Any:
    """One wild cluster bootstrap (Webb weights, CR1 t) of the first coefficient, run through."""
    from wildboottest.wildboottest import WildboottestCL

    boot = WildboottestCL(
        X=exog, Y=outcome, cluster=codes, R=restriction_of(exog), B=draws, seed=seed, parallel=False
    )
    boot.get_scores(bootstrap_type="11", impose_null=impose_null)
    boot.get_weights(weights_type="webb")
    boot.get_numer()
    boot.get_denom()
    boot.get_tboot()
    boot.get_vcov()
    boot.get_tstat()
    boot.get_pvalue(pval_type="two-tailed")
    return boot
