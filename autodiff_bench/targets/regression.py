"""Loss functions of the classic regression lessons."""

from __future__ import annotations

import numpy as np

from autodiff_bench.targets import Point, Target, register


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # exp of a non-positive number only: no overflow for |z| in the thousands.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


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
            "grad": lambda x, p: _sigmoid(p["a"] @ x) * p["a"],
            "hessian": lambda x, p: (
                _sigmoid(p["a"] @ x) * (1 - _sigmoid(p["a"] @ x)) * np.outer(p["a"], p["a"])
            ),
            "hvp": lambda x, p, v: (
                _sigmoid(p["a"] @ x) * (1 - _sigmoid(p["a"] @ x)) * (p["a"] @ v) * p["a"]
            ),
        },
        closed_form_text={
            "grad": "σ(z)a,  z = ⟨a, x⟩",
            "hessian": "σ(z)(1 − σ(z))aaᵀ",
            "hvp": "σ(z)(1 − σ(z))⟨a, v⟩a",
        },
        sample=_logistic_sample,
        canonical=[
            Point.of([0.3, -0.2, 0.5], "z=-0.6", a=_A),
            Point.of([200.0, 300.0, 0.0], "z=800", a=_A),
            Point.of([-200.0, -300.0, 0.0], "z=-800", a=_A),
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


def _linreg_point(theta: list[float], x: np.ndarray, y: np.ndarray, label: str) -> Point:
    p = {"data_x": x, "data_y": y}
    return Point.of(theta, label, design=_design(p), **p)


def _linreg_grad(theta: np.ndarray, p: dict) -> np.ndarray:
    r = theta[0] * p["data_x"] + theta[1] - p["data_y"]
    return np.array([2 * np.mean(p["data_x"] * r), 2 * np.mean(r)])


def _linreg_sample(rng: np.random.Generator, n: int) -> Point:
    x = rng.uniform(0.0, 7.0, n)
    y = -0.5 * x + 2.0 + 0.1 * rng.standard_normal(n)
    return _linreg_point(list(rng.standard_normal(2)), x, y, "random")


LINREG_X = np.arange(8.0)
LINREG_Y = np.array([1.86, 1.31, 0.62, 0.33, 0.09, -0.67, -1.23, -1.37])

register(
    Target(
        name="linreg_mse",
        formula="mean((m·x + b − y)²) over data, variable (m, b)",
        f=_linreg_f,
        closed_forms={
            "grad": _linreg_grad,
            "hessian": lambda t, p: 2.0 * _design(p).T @ _design(p) / len(p["data_x"]),
            "hvp": lambda t, p, v: 2.0 * _design(p).T @ (_design(p) @ v) / len(p["data_x"]),
        },
        closed_form_text={
            "grad": "(2·mean(x·r), 2·mean(r)),  r = m·x + b − y",
            "hessian": "2/N · [x 1]ᵀ[x 1]",
            "hvp": "2/N · [x 1]ᵀ([x 1]v)",
        },
        sample=_linreg_sample,
        canonical=[_linreg_point([0.9, 0.1], LINREG_X, LINREG_Y, "m=0.9,b=0.1")],
        default_size=8,
        description="the gradient-descent lesson's loss (data x = 0..7)",
    )
)
