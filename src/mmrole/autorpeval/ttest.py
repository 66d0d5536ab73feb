"""The independent two-sample t-test (Student's, pooled variance) BeyondDialogue compares models with.

``ttest_ind(a, b)`` is ``scipy.stats.ttest_ind(a, b)`` (its default, ``equal_var=True``): scipy
computes it when it is installed; without scipy the same test is computed here, the two-sided
p-value from the regularised incomplete beta function (a continued fraction, as in Numerical
Recipes' ``betacf``), accurate to about 1e-12.

Pure: no I/O.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["TTest", "student_t_sf2", "ttest_ind"]

_EPS = 1e-15
_TINY = 1e-300
_MAX_TERMS = 10_000


@dataclass(frozen=True)
class TTest:
    """A two-sample t-test: the difference of means (A - B), t, degrees of freedom, two-sided p."""

    difference: float
    t: float
    df: int
    p: float

    def to_dict(self) -> dict[str, float]:
        return {"difference": self.difference, "t": self.t, "df": self.df, "p": self.p}


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, _MAX_TERMS):
        m2 = 2 * m
        for numerator in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            h *= d * c
        if abs(d * c - 1.0) < _EPS:
            break
    return h


def _incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(b, a, 1.0 - x) / b


def student_t_sf2(t: float, df: float) -> float:
    """The two-sided tail probability P(|T| >= |t|) of Student's t with ``df`` degrees of freedom."""
    if math.isinf(t):
        return 0.0
    return _incomplete_beta(df / 2.0, 0.5, df / (df + t * t))


def ttest_ind(a: Sequence[float], b: Sequence[float]) -> TTest | None:
    """Student's two-sample t-test of ``a`` against ``b`` (None with fewer than two values in either,
    or when both are constant, where t is undefined)."""
    n1, n2 = len(a), len(b)
    if n1 < 2 or n2 < 2:
        return None
    m1, m2 = math.fsum(a) / n1, math.fsum(b) / n2
    ss = math.fsum((x - m1) ** 2 for x in a) + math.fsum((x - m2) ** 2 for x in b)
    df = n1 + n2 - 2
    if ss == 0.0:
        return None
    try:
        stats = importlib.import_module("scipy.stats")  # optional: not a dependency of mmrole
    except ImportError:
        t = (m1 - m2) / math.sqrt(ss / df * (1.0 / n1 + 1.0 / n2))
        return TTest(m1 - m2, t, df, student_t_sf2(t, df))
    result = stats.ttest_ind(list(a), list(b))
    return TTest(m1 - m2, float(result.statistic), df, float(result.pvalue))
