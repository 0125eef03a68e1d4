"""Time ``finite``'s Hessian and hvp of ``least_squares`` and count the evaluations of f.

    python benchmarks/bench_finite.py [--sizes 10,40,100] [--repeats 3]

For each n: the best of ``--repeats`` wall-clock times (``time.perf_counter``) of the
Hessian and of the hvp through the backend, as ``adbench check`` computes them, the number
of f evaluations each took, and the largest error against the closed form AᵀA relative to
its largest entry.  The issue's budget: the Hessian at n = 100 under 2 s.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from autodiff_bench.backends.finite import FiniteBackend
from autodiff_bench.targets import Target, get_target


def timed(backend: FiniteBackend, target: Target, quantity: str, n: int, repeats: int) -> str:
    """One line: best time, f evaluations and relative error of ``quantity`` at size ``n``."""
    point = target.points(1, 0, n)[-1]
    v = np.cos(np.arange(n)) if quantity == "hvp" else None
    calls = 0
    f = target.f

    def counting(xp: object, x: object, p: object) -> object:
        nonlocal calls
        calls += 1
        return f(xp, x, p)

    counted = Target(
        name=f"{target.name}_counted",
        formula=target.formula,
        f=counting,
        closed_forms=target.closed_forms,
        sample=target.sample,
    )
    best = float("inf")
    for _ in range(repeats):
        calls = 0
        start = time.perf_counter()
        got = backend.evaluate(counted, quantity, point, v)
        best = min(best, time.perf_counter() - start)
    ref = target.closed_form(quantity, point, v)
    error = float(np.max(np.abs(got - ref)) / np.max(np.abs(ref)))
    return (
        f"{quantity:8s} n={n:4d}  {best:8.3f} s  {calls:8d} evaluations of f  "
        f"max rel error {error:.1e}"
    )


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,40,100")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    backend = FiniteBackend()
    backend.ensure_loaded()
    target = get_target("least_squares")
    for n in (int(s) for s in args.sizes.split(",")):
        for quantity in ("hessian", "hvp"):
            print(timed(backend, target, quantity, n, args.repeats), flush=True)


if __name__ == "__main__":
    main()
