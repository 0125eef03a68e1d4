"""The timing harness on tiny inputs: a fake clock makes every figure exact."""

from __future__ import annotations

import gc
import math

import numpy as np
import pytest

from autodiff_bench.timing.harness import (
    HarnessSettings,
    Measurement,
    calibrate_loops,
    measure,
    quantile,
    settled,
    significant_figures,
    timer_resolution_s,
)


class FakeClock:
    """A nanosecond clock that only moves when a fake call spends time."""

    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now

    def spend(self, ns: int) -> None:
        self.now += ns


def costly(clock: FakeClock, costs_ns: list[int], steady_ns: int):
    """A call costing ``costs_ns`` on its first calls, then ``steady_ns`` each."""
    calls = {"n": 0}

    def call() -> int:
        i = calls["n"]
        calls["n"] += 1
        clock.spend(costs_ns[i] if i < len(costs_ns) else steady_ns)
        return i

    return call, calls


def test_quantile_interpolates_like_numpy() -> None:
    data = [5.0, 1.0, 4.0, 2.0, 3.0, 10.0]
    for q in (0.0, 0.25, 0.5, 0.75, 1.0):
        assert quantile(data, q) == pytest.approx(float(np.quantile(data, q)))


def test_cold_call_is_reported_apart_from_the_warm_median() -> None:
    clock = FakeClock()
    # A 50 ms first call (compilation), then 10 µs per call.
    call, _ = costly(clock, [50_000_000], 10_000)
    m = measure(call, settings=HarnessSettings(budget_s=0.05, settle=0.0), clock=clock)
    assert m.cold_s == pytest.approx(0.05)
    assert m.median_s == pytest.approx(1e-5)
    assert m.min_s == m.max_s == pytest.approx(1e-5)
    assert m.iqr_s == 0


def test_loops_are_calibrated_so_a_sample_lasts_min_sample_s() -> None:
    clock = FakeClock()
    call, _ = costly(clock, [], 10_000)  # 10 µs a call
    loops = calibrate_loops(call, None, sample_ns=1e6, clock=clock)
    # 1 ms / 10 µs = 100 calls, plus the 5% margin the calibration aims above the goal.
    assert 100 <= loops <= 106
    m = measure(call, settings=HarnessSettings(min_sample_s=1e-3, settle=0.0), clock=clock)
    assert m.loops * m.median_s >= 1e-3
    # Far above the resolution of the real clock, as the method asks.
    assert m.loops * m.median_s >= 1000 * timer_resolution_s()


def test_budget_and_min_samples_bound_the_sampling() -> None:
    clock = FakeClock()
    call, _ = costly(clock, [], 1_000_000)  # 1 ms a call: one call per sample
    m = measure(
        call, settings=HarnessSettings(budget_s=0.02, min_samples=5, settle=0.0), clock=clock
    )
    assert m.loops == 1
    assert m.stopped == "budget"
    assert 20 <= m.samples <= 21  # the budget, counted from the first sample
    clock2 = FakeClock()
    slow, _ = costly(clock2, [], 100_000_000)  # 0.1 s a call: the budget is spent at once
    m2 = measure(
        slow, settings=HarnessSettings(budget_s=0.01, min_samples=7, settle=0.0), clock=clock2
    )
    assert m2.samples == 7  # never fewer than min_samples


def test_sampling_stops_early_once_the_median_has_settled() -> None:
    clock = FakeClock()
    call, _ = costly(clock, [], 2_000_000)
    m = measure(call, settings=HarnessSettings(budget_s=100.0, settle=0.01), clock=clock)
    assert m.stopped == "settled"
    assert m.samples == 10  # a perfectly steady call settles as soon as it may
    capped = measure(
        call, settings=HarnessSettings(budget_s=100.0, settle=0.0, max_samples=12), clock=clock
    )
    assert capped.stopped == "max_samples" and capped.samples == 12


def test_settled_uses_the_notch_half_width() -> None:
    steady = [1.0] * 9 + [1.001]
    assert settled(steady, 0.01)
    assert not settled(steady[:9], 0.01)  # too few samples to judge
    spread = [1.0, 1.2] * 5  # IQR 0.2: half-width 1.57·0.2/√10 ≈ 0.099
    assert not settled(spread, 0.05)
    assert settled(spread, 0.1)


def test_every_call_is_synchronised_before_the_clock_stops() -> None:
    clock = FakeClock()
    pending: list[int] = []

    def call() -> int:
        clock.spend(1_000)  # dispatching costs 1 µs; the work itself is done in sync
        pending.append(1)
        return len(pending)

    synced = []

    def sync(value: int) -> None:
        clock.spend(3_000_000)  # the real work happens at synchronisation (async dispatch)
        synced.append(value)

    m = measure(call, sync, HarnessSettings(budget_s=0.03, settle=0.0), clock=clock)
    assert synced == list(range(1, len(pending) + 1))  # every call, in order, not the last
    assert m.median_s == pytest.approx(3.001e-3)
    assert m.cold_s == pytest.approx(3.001e-3)


class FakeDevice:
    """An accelerator on the fake clock: a call only *enqueues* work (asynchronous dispatch,
    as JAX and CUDA do) and returns a handle at once; the device runs the queue one item
    after the other; only ``sync`` waits for a handle, and only it marks the handle ready."""

    def __init__(self, clock: FakeClock, work_ns: int, dispatch_ns: int) -> None:
        self.clock, self.work_ns, self.dispatch_ns = clock, work_ns, dispatch_ns
        self.busy_until = 0
        self.handles: list[dict[str, int | bool]] = []

    def call(self) -> dict[str, int | bool]:
        # Every earlier result was waited for before this call started.
        assert all(h["ready"] for h in self.handles), "a call started before the last was synced"
        self.clock.spend(self.dispatch_ns)
        self.busy_until = max(self.clock.now, self.busy_until) + self.work_ns
        handle: dict[str, int | bool] = {"done_at": self.busy_until, "ready": False}
        self.handles.append(handle)
        return handle

    def sync(self, handle: dict[str, int | bool]) -> None:
        self.clock.now = max(self.clock.now, int(handle["done_at"]))
        handle["ready"] = True


def test_asynchronous_work_waited_for_by_sync_is_inside_the_measured_time() -> None:
    clock = FakeClock()
    device = FakeDevice(clock, work_ns=2_000_000, dispatch_ns=1_000)
    m = measure(device.call, device.sync, HarnessSettings(budget_s=0.03, settle=0.0), clock=clock)
    # The 2 ms of work finish only inside sync: timed, they are the whole figure.
    assert m.cold_s == pytest.approx(2.001e-3)
    assert m.median_s == pytest.approx(2.001e-3)
    assert m.min_s == pytest.approx(2.001e-3)
    assert all(h["ready"] for h in device.handles)


def test_asynchronous_work_of_several_loops_is_each_synchronised_and_timed() -> None:
    clock = FakeClock()
    device = FakeDevice(clock, work_ns=100_000, dispatch_ns=1_000)  # 0.1 ms: ~10 per sample
    m = measure(device.call, device.sync, HarnessSettings(budget_s=0.03, settle=0.0), clock=clock)
    assert m.loops > 1
    assert m.median_s == pytest.approx(1.01e-4)
    assert len(device.handles) >= 1 + m.samples * m.loops


def test_a_sync_that_sleeps_shows_in_the_median_on_the_real_clock() -> None:
    import time

    synced: list[object] = []

    def sync(value: object) -> None:
        # Timed, 5 ms syncs make one call a sample: a few dozen calls in all.  Far more means
        # the sleeps are not being timed (and would take minutes): stop there.
        assert len(synced) < 100, "the harness ran 100 calls: it does not time the sync"
        time.sleep(5e-3)  # the device finishing the work
        synced.append(value)

    m = measure(object, sync, HarnessSettings(budget_s=0.01, min_samples=3, settle=0.0))
    assert m.samples >= 3 and len(synced) >= 1 + m.samples * m.loops
    assert m.cold_s >= 5e-3
    assert m.median_s >= 5e-3 and m.min_s >= 5e-3


def test_gc_is_off_while_timing_and_restored_after() -> None:
    seen = []
    m = measure(lambda: seen.append(gc.isenabled()), settings=HarnessSettings(budget_s=0.01))
    assert m.samples >= 5
    assert seen and not any(seen)
    assert gc.isenabled()
    gc.disable()
    try:
        measure(lambda: None, settings=HarnessSettings(budget_s=0.001))
        assert not gc.isenabled()  # a caller's choice is left alone
    finally:
        gc.enable()


def test_an_exception_in_the_call_propagates_and_gc_comes_back_on() -> None:
    def boom() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        measure(boom)
    assert gc.isenabled()


def test_a_real_call_on_the_real_clock() -> None:
    a = np.random.default_rng(0).standard_normal((50, 50))
    m = measure(lambda: a @ a, settings=HarnessSettings(budget_s=0.05))
    assert 0 < m.min_s <= m.median_s <= m.max_s
    assert m.samples >= 5 and m.loops >= 1
    assert len(m.times_s) == m.samples
    assert m.loops * m.median_s >= 0.5e-3  # a sample is about a millisecond at least


def test_noisy_flag_and_significant_figures() -> None:
    steady = Measurement(cold_s=0.0, loops=1, times_s=[1.0, 1.0, 1.01, 0.99, 1.0])
    noisy = Measurement(cold_s=0.0, loops=1, times_s=[1.0, 1.5, 0.7, 1.3, 1.0])
    assert not steady.noisy
    assert noisy.noisy
    assert significant_figures(1e-5, 0.0, 50) == 4
    assert significant_figures(1e-5, 1e-7, 100) == 2  # half-width 1.6e-8: log10(625) → 2
    assert significant_figures(1e-5, 5e-6, 10) == 1
    assert significant_figures(None, None, 0) == 1


@pytest.mark.parametrize(
    "kwargs",
    [{"budget_s": 0}, {"budget_s": -1}, {"min_samples": 0}, {"min_samples": 5, "max_samples": 4}],
)
def test_bad_settings_are_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        HarnessSettings(**kwargs)


def test_timer_resolution_is_small_and_positive() -> None:
    r = timer_resolution_s()
    assert 0 < r < 1e-3
    assert math.isfinite(r)
