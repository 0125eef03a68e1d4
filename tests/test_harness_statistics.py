"""The harness's statistics and loop calibration where a wrong choice would go unnoticed:
an outlier must not move the median, and a coarse clock must get longer samples."""

from __future__ import annotations

import pytest

from autodiff_bench.timing import harness
from autodiff_bench.timing.harness import HarnessSettings, Measurement, measure


def test_one_outlier_does_not_move_the_median() -> None:
    # A GC pause or a context switch in one sample of five: the median stays put, the mean
    # would be dragged to 20.8.
    m = Measurement(cold_s=1.0, loops=1, times_s=[1.0, 1.0, 1.0, 1.0, 100.0])
    assert m.median_s == 1.0
    assert m.min_s == 1.0 and m.max_s == 100.0


def test_the_median_of_an_even_count_is_the_middle_pair_average() -> None:
    m = Measurement(cold_s=1.0, loops=1, times_s=[4.0, 1.0, 3.0, 2.0])
    assert m.median_s == 2.5
    assert m.iqr_s == pytest.approx(1.5)


class TickClock:
    """A clock that advances 10 µs per call made, read in 1 ms ticks (a coarse timer)."""

    def __init__(self) -> None:
        self.ns = 0

    def call(self) -> None:
        self.ns += 10_000

    def now(self) -> int:
        return self.ns // 1_000_000 * 1_000_000


def test_a_coarse_clock_gets_samples_a_thousand_ticks_long(monkeypatch) -> None:
    clock = TickClock()
    monkeypatch.setattr(harness, "timer_resolution_s", lambda: 1e-3)
    settings = HarnessSettings(budget_s=1e-9, min_samples=3, max_samples=3, settle=0.0)
    m = measure(clock.call, None, settings, clock=clock.now)
    # 1000 ticks of 1 ms is 1 s per sample: 100 000 calls of 10 µs, so rounding to the tick
    # is below 0.1 %.  Calibrated on min_sample_s alone, a sample would be a few ticks.
    assert m.loops * 10e-6 >= 1.0
    assert m.median_s == pytest.approx(10e-6, rel=2e-3)
