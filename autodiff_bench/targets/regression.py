"""Loss functions of the classic regression lessons.

Closed forms are written against ``xp`` like ``f``: they run in NumPy and in every framework.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from autodiff_bench.targets import Point, Target, register

if TYPE_CHECKING:
    import numpy as np
else:
    from autodiff_bench.lazy import numpy as np


def _sigmoid(xp: Any, z: Any) -> Any:
    """σ(z) = 1/(1 + e⁻ᶻ), computed from e = exp(−|z|) ≤ 1: exp of a non-positive number
    only, so no overflow for |z| in the thousands, and both branches of the ``where`` are
    finite everywhere."""
    e = xp.exp(-xp.abs(z))
    return xp.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _sigmoid_slope(xp: Any, z: Any) -> Any:
    """σ'(z) = σ(z)(1 − σ(z)) = e/(1 + e)² with e = exp(−|z|): symmetric in z, never
    overflows, and no 1 − σ(z) that cancels to 0 for z ≳ 37."""
    e = xp.exp(-xp.abs(z))
    return e / ((1.0 + e) * (1.0 + e))


def _logistic_z(xp: Any, x: Any, p: Any) -> Any:
    """z = ⟨a, x⟩ (a 0-d array)."""
    return xp.matmul(p["a"], x)


def _logistic_sample(rng: np.random.Generator, n: int) -> Point:
    return Point.of(rng.standard_normal(n) / np.sqrt(n), "random", a=rng.standard_normal(n))


_A = [1.0, 2.0, -1.0]

register(
    Target(
        name="logistic",
        formula="ln(1 + exp⟨a, x⟩)",
        # logaddexp(0, z) = ln(1 + eᶻ) without overflow: finite for |z| ≥ 800 everywhere.
        f=lambda xp, x, p: xp.logaddexp(0.0, xp.sum(p["a"] * x)),
        closed_forms={
            "grad": lambda xp, x, p: _sigmoid(xp, _logistic_z(xp, x, p)) * p["a"],
            "hessian": lambda xp, x, p: (
                _sigmoid_slope(xp, _logistic_z(xp, x, p)) * xp.outer(p["a"], p["a"])
            ),
            "hvp": lambda xp, x, p, v: (
                _sigmoid_slope(xp, _logistic_z(xp, x, p)) * xp.matmul(p["a"], v) * p["a"]
            ),
        },
        closed_form_text={
            "grad": "σ(z)a,  z = ⟨a, x⟩",
            "hessian": "σ(z)(1 − σ(z))aaᵀ",
            "hvp": "σ(z)(1 − σ(z))⟨a, v⟩a",
        },
        sample=_logistic_sample,
        canonical=lambda: [
            Point.of([0.3, -0.2, 0.5], "z=-0.6", a=_A),
            Point.of([200.0, 300.0, 0.0], "z=800", a=_A),
            Point.of([-200.0, -300.0, 0.0], "z=-800", a=_A),
            # The tails: σ(1 − σ) ≈ 9.4e-14 at |z| = 30, where 1 − σ(z) would cancel.
            Point.of([10.0, 10.0, 0.0], "z=30", stress=True, a=_A),
            Point.of([-10.0, -10.0, 0.0], "z=-30", stress=True, a=_A),
        ],
        description="stable for huge |z|: written with logaddexp",
    )
)


def _design(p: dict) -> np.ndarray:
    """The design matrix [x, 1] of the line fit."""
    return np.stack([p["data_x"], np.ones_like(p["data_x"])], axis=1)


def _linreg_f(xp, theta, p):
    # theta = (m, b); the design matrix keeps it one matmul, with no indexing.
    r = xp.matmul(p["design"], theta) - p["data_y"]
    return xp.mean(r * r)


def _linreg_point(theta: list[float], x: Any, y: Any, label: str) -> Point:
    p = {"data_x": np.asarray(x, dtype=np.float64), "data_y": np.asarray(y, dtype=np.float64)}
    return Point.of(theta, label, design=_design(p), **p)


def _linreg_grad(xp: Any, theta: Any, p: dict) -> Any:
    r = theta[0] * p["data_x"] + theta[1] - p["data_y"]
    return xp.stack([2.0 * xp.mean(p["data_x"] * r), 2.0 * xp.mean(r)])


def _linreg_hessian(xp: Any, theta: Any, p: dict) -> Any:
    d = p["design"]
    return 2.0 * xp.matmul(xp.transpose(d), d) / d.shape[0]


def _linreg_hvp(xp: Any, theta: Any, p: dict, v: Any) -> Any:
    d = p["design"]
    return 2.0 * xp.matmul(xp.matmul(d, v), d) / d.shape[0]


def _linreg_sample(rng: np.random.Generator, n: int) -> Point:
    x = rng.uniform(0.0, 7.0, n)
    y = -0.5 * x + 2.0 + 0.1 * rng.standard_normal(n)
    return _linreg_point(list(rng.standard_normal(2)), x, y, "random")


#: The lesson's data: x = 0..7 and the measured y.
LINREG_X = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
LINREG_Y = [1.86, 1.31, 0.62, 0.33, 0.09, -0.67, -1.23, -1.37]

register(
    Target(
        name="linreg_mse",
        formula="mean((m·x + b − y)²) over data, variable (m, b)",
        f=_linreg_f,
        closed_forms={
            "grad": _linreg_grad,
            "hessian": _linreg_hessian,
            "hvp": _linreg_hvp,
        },
        closed_form_text={
            "grad": "(2·mean(x·r), 2·mean(r)),  r = m·x + b − y",
            "hessian": "2/N · [x 1]ᵀ[x 1]",
            "hvp": "2/N · [x 1]ᵀ([x 1]v)",
        },
        sample=_linreg_sample,
        canonical=lambda: [_linreg_point([0.9, 0.1], LINREG_X, LINREG_Y, "m=0.9,b=0.1")],
        default_size=8,
        description="the gradient-descent lesson's loss (data x = 0..7)",
    )
)
