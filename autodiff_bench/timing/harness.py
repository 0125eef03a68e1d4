"""The timing harness: how one call is timed.  It measures; it never prints.

The method (README, "Timing"), after ``torch.utils.benchmark`` and pyperf:

1. The caller builds and converts every input first; :func:`measure` only sees a
   zero-argument call, so nothing but the computation is inside the clock.
2. The first call is timed on its own and reported as ``cold_s``: tracing, JIT compilation
   and cache fills land there, never in the warm figures.
3. The loop count is calibrated so that one sample (a block of ``loops`` calls) lasts
   ``sample_s``, far above the timer's resolution; the calibration blocks double as warm-up.
4. Samples are taken until there are ``min_samples`` of them *and* ``budget_s`` is spent, or
   earlier once the median has settled (its 95% confidence half-width, the box-plot notch
   1.57·IQR/√n, is within ``settle`` of it), and never more than ``max_samples``.
5. The garbage collector is off while timing (a collection in the middle of a sample would
   be charged to whichever call triggered it), and every call's result is synchronised
   (``block_until_ready``, device sync) before the next one starts and before the clock stops.

Times are ``time.perf_counter_ns`` integers; results are seconds per call.
"""

from __future__ import annotations

import functools
import gc
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from autodiff_bench.model.records import (
    NOISY_IQR,
    median_halfwidth,
    relative_iqr,
    significant_figures,
)

#: A sample should last at least this many timer ticks, so rounding to the tick is < 0.1%.
RESOLUTION_FACTOR = 1000
#: Fewest samples before the spread is trusted to decide that sampling may stop early.
SETTLE_MIN_SAMPLES = 10

Clock = Callable[[], int]
Call = Callable[[], Any]
Sync = Callable[[Any], None]


@dataclass(frozen=True)
class HarnessSettings:
    """How hard to try on one cell."""

    #: Warm sampling time per cell (seconds) once ``min_samples`` are in.
    budget_s: float = 0.2
    #: Samples always taken (unless ``max_samples`` is lower).
    min_samples: int = 5
    #: Hard cap on samples per cell.
    max_samples: int = 1000
    #: Stop early once the median's confidence half-width is within this fraction of it.
    settle: float = 0.01
    #: Shortest sample (seconds); raised to RESOLUTION_FACTOR timer ticks when coarser.
    min_sample_s: float = 1e-3

    def __post_init__(self) -> None:
        if not self.budget_s > 0:
            raise ValueError(f"budget must be positive, not {self.budget_s}")
        if self.min_samples < 1 or self.max_samples < self.min_samples:
            raise ValueError("need 1 ≤ min_samples ≤ max_samples")
        if not self.settle >= 0 or not self.min_sample_s > 0:
            raise ValueError("settle must be ≥ 0 and min_sample_s > 0")


@dataclass
class Measurement:
    """What :func:`measure` saw: the cold call and the warm samples (seconds per call)."""

    cold_s: float
    loops: int
    times_s: list[float] = field(default_factory=list)
    #: Why sampling stopped: ``budget``, ``settled`` or ``max_samples``.
    stopped: str = "budget"

    @property
    def samples(self) -> int:
        """How many samples (blocks of ``loops`` calls) were taken."""
        return len(self.times_s)

    @property
    def median_s(self) -> float:
        """The warm median, seconds per call."""
        return quantile(self.times_s, 0.5)

    @property
    def iqr_s(self) -> float:
        """Interquartile range of the samples, seconds per call."""
        return quantile(self.times_s, 0.75) - quantile(self.times_s, 0.25)

    @property
    def min_s(self) -> float:
        """The fastest sample."""
        return min(self.times_s)

    @property
    def max_s(self) -> float:
        """The slowest sample."""
        return max(self.times_s)

    @property
    def noisy(self) -> bool:
        """Whether the spread makes the median doubtful (IQR > 10% of it)."""
        return relative_iqr(self.iqr_s, self.median_s) > NOISY_IQR


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q``-quantile by linear interpolation between order statistics (NumPy's default,
    ``statistics.quantiles(method='inclusive')``); here to keep this module import-light."""
    if not values:
        raise ValueError("no values")
    s = sorted(values)
    pos = q * (len(s) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


@functools.lru_cache(maxsize=1)
def timer_resolution_s() -> float:
    """The smallest step ``perf_counter_ns`` shows in practice (its declared resolution, or
    the gap between two back-to-back reads, whichever is larger), in seconds."""
    clock = time.perf_counter_ns
    declared = time.get_clock_info("perf_counter").resolution
    gaps = []
    for _ in range(20):
        t0 = clock()
        t1 = clock()
        while t1 == t0:
            t1 = clock()
        gaps.append(t1 - t0)
    return max(declared, min(gaps) * 1e-9)


def _block_ns(call: Call, sync: Sync | None, loops: int, clock: Clock) -> int:
    """``loops`` calls, each synchronised, in one clock interval."""
    if sync is None:
        t0 = clock()
        for _ in range(loops):
            call()
        return clock() - t0
    t0 = clock()
    for _ in range(loops):
        sync(call())
    return clock() - t0


def calibrate_loops(
    call: Call, sync: Sync | None, sample_ns: float, clock: Clock, max_loops: int = 10**7
) -> int:
    """The loop count whose block lasts at least ``sample_ns``; the blocks run here are the
    warm-up.  Grows towards the goal from the last block's rate (at most ×10 per step, so a
    first call that happened to be fast cannot make it overshoot by much)."""
    loops = 1
    while True:
        elapsed = max(_block_ns(call, sync, loops, clock), 1)
        if elapsed >= sample_ns or loops >= max_loops:
            return loops
        want = math.ceil(loops * sample_ns * 1.05 / elapsed)
        loops = min(max(loops + 1, min(want, loops * 10)), max_loops)


def settled(times_s: Sequence[float], settle: float) -> bool:
    """Whether the median is known to within ``settle`` of itself (needs ≥ 10 samples)."""
    n = len(times_s)
    if n < SETTLE_MIN_SAMPLES or settle <= 0:
        return False
    med = quantile(times_s, 0.5)
    iqr = quantile(times_s, 0.75) - quantile(times_s, 0.25)
    return med > 0 and median_halfwidth(iqr, n) <= settle * med


def measure(
    call: Call,
    sync: Sync | None = None,
    settings: HarnessSettings | None = None,
    clock: Clock = time.perf_counter_ns,
) -> Measurement:
    """Time ``call`` (already holding converted inputs) as described in the module docstring.

    ``sync`` receives each call's result and blocks until it is really computed.
    """
    s = settings or HarnessSettings()
    sample_ns = max(s.min_sample_s, RESOLUTION_FACTOR * timer_resolution_s()) * 1e9
    gc_was_on = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        cold_ns = _block_ns(call, sync, 1, clock)
        loops = calibrate_loops(call, sync, sample_ns, clock)
        times: list[float] = []
        stopped = "budget"
        start = clock()
        while True:
            times.append(_block_ns(call, sync, loops, clock) / loops * 1e-9)
            n = len(times)
            if n >= s.max_samples:
                stopped = "max_samples"
                break
            if n < s.min_samples:
                continue
            if (clock() - start) * 1e-9 >= s.budget_s:
                break
            # The sort inside is outside every sample's clock interval, so it costs no accuracy.
            if settled(times, s.settle):
                stopped = "settled"
                break
    finally:
        if gc_was_on:
            gc.enable()
    return Measurement(cold_s=cold_ns * 1e-9, loops=loops, times_s=times, stopped=stopped)


__all__ = [
    "NOISY_IQR",
    "HarnessSettings",
    "Measurement",
    "calibrate_loops",
    "measure",
    "median_halfwidth",
    "quantile",
    "relative_iqr",
    "settled",
    "significant_figures",
    "timer_resolution_s",
]
