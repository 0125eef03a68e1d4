"""The statistics of the gate: a cell's metric pooled over runs, and whether a change is
beyond the noise (a one-sided Mann-Whitney U test, from SciPy)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from autodiff_bench.model import TimeRecord, TrainRecord

#: A record with timings: a ``time`` cell, or a ``train`` run (its time per step).
Timed = TimeRecord | TrainRecord

#: The exact U distribution is used up to this many sample pairs (without ties); beyond it
#: the normal approximation is accurate to well under 1 % of the p-value that matters.
EXACT_PAIRS = 1600


@dataclass(frozen=True)
class RankTest:
    """A one-sided Mann-Whitney U test of NEW against BASE."""

    u: float  # pairs (b, n) with n > b, ties counting one half
    p_slower: float  # P(U ≥ u) when nothing changed: small means NEW is slower
    p_faster: float  # P(U ≤ u): small means NEW is faster
    exact: bool


def mann_whitney(base: np.ndarray, new: np.ndarray) -> RankTest:
    """One-sided Mann-Whitney U tests that NEW's values tend to be larger (or smaller) than
    BASE's: ``scipy.stats.mannwhitneyu``, exact without ties and for up to
    :data:`EXACT_PAIRS` pairs, otherwise the normal approximation with the tie and
    continuity corrections."""
    from scipy.stats import mannwhitneyu  # lazily: SciPy takes a while to import

    base, new = np.asarray(base, dtype=np.float64), np.asarray(new, dtype=np.float64)
    m, n = len(base), len(new)
    if m == 0 or n == 0:
        raise ValueError("both samples need at least one value")
    both = np.concatenate([base, new])
    exact = len(np.unique(both)) == m + n and m * n <= EXACT_PAIRS
    if not exact and np.all(both == both[0]):  # every value equal: no evidence either way
        return RankTest(m * n / 2.0, 1.0, 1.0, False)
    method = "exact" if exact else "asymptotic"
    slower = mannwhitneyu(new, base, alternative="greater", method=method)
    faster = mannwhitneyu(new, base, alternative="less", method=method)
    return RankTest(float(slower.statistic), float(slower.pvalue), float(faster.pvalue), exact)


def rank_test_can_decide(m: int, n: int, alpha: float) -> bool:
    """Whether m and n samples can give a one-sided p-value below ``alpha`` at all: the
    smallest possible one is 1/C(m+n, m) (every NEW value above every BASE value)."""
    # Compared as int against float (exact), since C(m+n, m) overflows a float past ~1000 + 1000.
    return m > 0 and n > 0 and math.comb(m + n, m) > 1.0 / alpha


@dataclass(frozen=True)
class PooledMetric:
    """A cell's metric over one or several runs: its value (the median of the runs'
    values), every run's samples pooled in the metric's unit, their IQR, and each run's
    value."""

    value: float
    samples: np.ndarray
    iqr: float | None
    runs: tuple[float, ...] = ()


@dataclass(frozen=True)
class SlowdownVerdict:
    """Whether a change is beyond the noise, and how that was decided."""

    significant: bool
    p_value: float | None
    test: str
    #: Whether the change held run by run (False: some BASE run was as far off).
    every_run: bool = True


def slowdown_test(
    base: PooledMetric, new: PooledMetric, factor: float, slower: bool, alpha: float
) -> SlowdownVerdict:
    """Is NEW slower than BASE by more than ``factor`` (``slower=True``), or faster by more
    than ``factor``, beyond the noise of both?

    The threshold is built into the test: NEW's samples are tested against BASE's samples
    scaled by ``factor`` (× for slower, ÷ for faster), so a BASE whose samples are spread
    wide cannot make a change just past the factor look certain.  With enough samples for
    the rank test to reach ``alpha`` (5 and 5 suffice at 1 %): a one-sided Mann-Whitney U
    test.  With fewer (or none recorded): the bands median ± IQR must not overlap once
    BASE's is scaled; with no spread information at all the factor alone decides.

    Samples within one run cannot show how much a whole run moves (a busy moment can slow
    a cell evenly for all of its measurement), so when a side has several runs the change
    must also hold run by run: every NEW run beyond every BASE run by the factor."""
    scale = factor if slower else 1.0 / factor
    if base.runs and new.runs:
        if slower:
            every_run = min(new.runs) > scale * max(base.runs)
        else:
            every_run = max(new.runs) < scale * min(base.runs)
    else:
        every_run = True
    m, n = len(base.samples), len(new.samples)
    if rank_test_can_decide(m, n, alpha):
        result = mann_whitney(base.samples * scale, new.samples)
        p = result.p_slower if slower else result.p_faster
        name = "mann-whitney exact" if result.exact else "mann-whitney normal"
        return SlowdownVerdict(p < alpha and every_run, p, name, every_run)
    b_iqr, n_iqr = base.iqr or 0.0, new.iqr or 0.0
    if slower:
        apart = new.value - n_iqr > scale * (base.value + b_iqr)
    else:
        apart = new.value + n_iqr < scale * (base.value - b_iqr)
    return SlowdownVerdict(apart and every_run, None, "iqr bands", every_run)


# ---- a cell's metric -----------------------------------------------------------------------


def _finite(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def run_measurement(record: Timed, metric: str) -> PooledMetric | None:
    """One timed record's metric with its samples, or None when it has no usable value.

    A ratio's samples are the cell's own samples scaled by ratio/median (the reference's
    median is one number per run); the reference's own noise is not added, which is fair
    because its median over many samples is far steadier than one sample."""
    value = _finite(getattr(record, metric, None))
    if value is None or value <= 0:
        return None
    if metric == "median_s":
        scale = 1.0
    else:
        median = _finite(record.median_s)
        if not median:  # without the median the ratio came from, samples cannot be converted
            return PooledMetric(value, np.empty(0), None, (value,))
        scale = value / median
    raw = record.warm_times_s or []
    samples = scale * np.array([t for t in raw if _finite(t) is not None], dtype=np.float64)
    stored = _finite(record.iqr_s)
    if len(samples) >= 2:
        iqr: float | None = float(np.percentile(samples, 75) - np.percentile(samples, 25))
    else:
        iqr = None if stored is None else stored * scale
    return PooledMetric(value, samples, iqr, (value,))


def measurement(records: list[Timed], metric: str) -> PooledMetric | None:
    """A cell's metric over its runs (one record each): the median of the runs' values,
    their samples pooled, or None when no run has a usable value."""
    runs = [m for m in (run_measurement(r, metric) for r in records) if m is not None]
    if not runs:
        return None
    if len(runs) == 1:
        return runs[0]
    samples = np.concatenate([m.samples for m in runs])
    if len(samples) >= 2:
        iqr: float | None = float(np.percentile(samples, 75) - np.percentile(samples, 25))
    else:
        iqrs = [m.iqr for m in runs if m.iqr is not None]
        iqr = max(iqrs) if iqrs else None
    values = tuple(m.value for m in runs)
    return PooledMetric(float(np.median(values)), samples, iqr, values)


__all__ = [
    "EXACT_PAIRS",
    "PooledMetric",
    "RankTest",
    "SlowdownVerdict",
    "Timed",
    "mann_whitney",
    "measurement",
    "rank_test_can_decide",
    "run_measurement",
    "slowdown_test",
]
