"""Time minigrad's gradient against HIPS autograd's on the same functions, in one process.

    python benchmarks/bench_minigrad.py [--repeats 7] [--sample-ms 50] [--sizes 10,100,1000]

Cases: ``least_squares`` f(x) = ½‖Ax − b‖² with A of shape (n+3)×n (seeded) for each n,
and ``cubic`` f(x) = x³ + 2x at a scalar. Each gradient is checked against the closed form
before it is timed. Method: warm-up calls, a loop count calibrated so one sample lasts at
least ``--sample-ms``, ``--repeats`` samples timed with ``time.perf_counter_ns`` while the
garbage collector is off, median per call reported with its spread (max/min − 1 over the
samples; a spread above 10% means the machine was busy and the figure is doubtful). Both
engines share one NumPy, so they share its BLAS threads; set OPENBLAS_NUM_THREADS (or
OMP_NUM_THREADS) to pin them, e.g. to 1 on a loaded machine.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import numpy as np

from autodiff_bench.minigrad import grad as minigrad_grad
from autodiff_bench.minigrad import xp


@dataclass
class Timing:
    """Per-call seconds of one gradient: the median sample and the relative spread."""

    median_s: float
    spread: float
    loops: int


def time_call(fn: Callable[[Any], Any], arg: Any, repeats: int, sample_s: float) -> Timing:
    """Median per-call time of ``fn(arg)`` over ``repeats`` calibrated samples."""
    for _ in range(3):  # warm-up: first calls fill caches and import lazily
        fn(arg)
    loops = 1
    while True:  # calibrate: double the loop count until one sample is long enough
        start = time.perf_counter_ns()
        for _ in range(loops):
            fn(arg)
        if (time.perf_counter_ns() - start) * 1e-9 >= sample_s or loops >= 1 << 20:
            break
        loops *= 2
    samples = []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            start = time.perf_counter_ns()
            for _ in range(loops):
                fn(arg)
            samples.append((time.perf_counter_ns() - start) * 1e-9 / loops)
    finally:
        if gc_was_enabled:
            gc.enable()
    return Timing(statistics.median(samples), max(samples) / min(samples) - 1, loops)


def cases(sizes: list[int]) -> list[tuple[str, Any, Any, Any, np.ndarray]]:
    """(label, minigrad f, autograd f or None, x, expected gradient) for every case."""
    try:
        import autograd.numpy as anp  # type: ignore[import-untyped]
    except ImportError:
        anp = None
    rng = np.random.default_rng(0)
    out: list[tuple[str, Any, Any, Any, np.ndarray]] = []
    for n in sizes:
        A = rng.standard_normal((n + 3, n))
        b = rng.standard_normal(n + 3)
        x = rng.standard_normal(n)

        def mg_ls(v: Any, A: np.ndarray = A, b: np.ndarray = b) -> Any:
            return 0.5 * xp.sum((xp.matmul(A, v) - b) ** 2)

        def ag_ls(v: Any, A: np.ndarray = A, b: np.ndarray = b) -> Any:
            return 0.5 * anp.sum((anp.matmul(A, v) - b) ** 2)

        out.append((f"least_squares n={n}", mg_ls, ag_ls if anp else None, x, A.T @ (A @ x - b)))

    def cubic(v: Any) -> Any:
        return v**3 + 2 * v

    out.append(("cubic (scalar)", cubic, cubic if anp else None, 3.0, np.array(29.0)))
    return out


def main() -> None:
    """Measure every case and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--sample-ms", type=float, default=50.0)
    parser.add_argument("--sizes", default="10,100,1000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    try:
        import autograd  # type: ignore[import-untyped]

        autograd_grad, autograd_version = autograd.grad, version("autograd")
    except ImportError:
        autograd_grad, autograd_version = None, "not installed"

    threads = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
    print(
        f"numpy {np.__version__}, autograd {autograd_version}, BLAS threads "
        f"{threads or 'default'}, {os.cpu_count()} CPUs; median of {args.repeats} samples "
        f"of >= {args.sample_ms:g} ms each, GC off (± is max/min - 1)"
    )
    header = f"{'case':<22}{'minigrad':>16}{'autograd':>16}{'minigrad/autograd':>20}"
    print(header)
    print("-" * len(header))
    sample_s = args.sample_ms / 1e3
    for label, mg_f, ag_f, x, expected in cases(sizes):
        mg = minigrad_grad(mg_f)
        np.testing.assert_allclose(mg(x).data, expected, rtol=1e-9, atol=1e-9)
        mine = time_call(mg, x, args.repeats, sample_s)
        theirs_text, ratio_text = "-", "-"
        if autograd_grad is not None and ag_f is not None:
            ag = autograd_grad(ag_f)
            np.testing.assert_allclose(ag(x), expected, rtol=1e-9, atol=1e-9)
            theirs = time_call(ag, x, args.repeats, sample_s)
            theirs_text = _format_timing(theirs)
            ratio_text = f"{mine.median_s / theirs.median_s:.2f}"
        print(f"{label:<22}{_format_timing(mine):>16}{theirs_text:>16}{ratio_text:>20}")


def _format_timing(timing: Timing) -> str:
    scale, unit = next(
        (scale, unit)
        for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))
        if timing.median_s >= scale or unit == "ns"
    )
    return f"{timing.median_s / scale:.3g} {unit} ±{timing.spread:.0%}"


if __name__ == "__main__":
    main()
