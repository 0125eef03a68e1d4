"""Targets without closed forms, for the reference tests (``--targets-file``)."""

from __future__ import annotations

from typing import Any

from autodiff_bench import register
from autodiff_bench.targets import Point, Target


def energy(xp: Any, x: Any, p: Any) -> Any:
    """Σ log(1 + x²) + Σ xᵢxᵢ₊₁: nothing anyone derived by hand."""
    return xp.sum(xp.log1p(x**2)) + xp.sum(x[:-1] * x[1:])


def branchy(xp: Any, x: Any, p: Any) -> Any:
    """A Python branch on a traced value: fine op by op, untraceable by jax.jit."""
    if bool(x[0] > 0):
        return xp.sum(x**2)
    return xp.sum(x**3)


register(
    Target(
        name="energy_nocf",
        formula="Σ log(1+x²) + Σ xᵢxᵢ₊₁",
        f=energy,
        closed_forms={},
        quantities=("grad", "hessian", "hvp"),
        sample=lambda rng, n: Point.of(rng.standard_normal(n), "drawn"),
        canonical=[Point.of([0.5, -1.0, 2.0], "x=(0.5, -1, 2)")],
        default_suite=False,
    )
)
register(
    Target(
        name="branchy_nocf",
        formula="Σx² if x₀ > 0 else Σx³",
        f=branchy,
        closed_forms={},
        quantities=("grad",),
        sample=lambda rng, n: Point.of(rng.uniform(0.5, 1.5, n), "drawn"),
        default_suite=False,
    )
)
