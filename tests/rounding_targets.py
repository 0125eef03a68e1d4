"""Targets and test-only backends for ``tests/test_verdict_rules.py``, written as a user
writes a ``--targets-file`` (``check`` imports it in its workers too).

Every closed form here is right except where a name says ``wrong``: the interesting part is
f's own float32 rounding, or a wrong closed form whose error one constant explains.
"""

import numpy as np

from autodiff_bench import Point, Target, register, scalar_sampler
from autodiff_bench.backends import register_backend
from autodiff_bench.backends.minigrad_backend import MinigradBackend

#: Where log(1 + x) − x cancels in float32: 1 + x keeps 4 of x's 7 digits, so every
#: backend that follows f's operations gets f′ = 1/(1 + x) − 1 to about 6e-4 relative.
SMALL_X = 1e-4

# f = log(1 + x) − x, with the closed forms written stably (no 1/(1 + x) − 1).
register(
    Target(
        name="vr_log1p_cancel",
        formula="log(1 + x) − x",
        f=lambda xp, x, p: xp.log(1.0 + x) - x,
        closed_forms={
            "d1": lambda x, p: -x / (1.0 + x),
            "d2": lambda x, p: -1.0 / (1.0 + x) ** 2,
        },
        sample=scalar_sampler(1e-4, 3e-4),
        canonical=[Point.scalar(SMALL_X)],
    )
)

# The same f with d1 written as 1/(1 + x) − 1: right, and exact in float64, but in float32
# the closed form itself cancels, as f does.
register(
    Target(
        name="vr_log1p_naive",
        formula="log(1 + x) − x, d1 = 1/(1 + x) − 1",
        f=lambda xp, x, p: xp.log(1.0 + x) - x,
        closed_forms={"d1": lambda xp, x, p: 1.0 / (1.0 + x) - 1.0},
        sample=scalar_sampler(1e-4, 3e-4),
        canonical=[Point.scalar(SMALL_X)],
    )
)

# x³ with d1 written 3x: wrong by a different ratio (x) at every point.
register(
    Target(
        name="vr_cube_wrong",
        formula="x³, d1 = 3x",
        f=lambda xp, x, p: x * x * x,
        closed_forms={"d1": lambda x, p: 3.0 * x},
        sample=scalar_sampler(0.2, 3.0),
        canonical=[Point.scalar(2.0)],
    )
)

#: The lesson's data: y ≈ 2x + 1 at N = 4 points.
LESSON_X = np.array([0.0, 1.0, 2.0, 3.0])
LESSON_Y = np.array([1.1, 2.9, 5.2, 6.8])
N = len(LESSON_X)


def _mse(xp, w, p):
    """The lesson's loss: mean((w₀ + w₁·x − y)²) over the N points."""
    residual = w[0] + w[1] * p["xs"] - p["ys"]
    return xp.sum(residual * residual) / N


def _mse_grad(scale: float):
    """The gradient 2/N · [Σr, Σx·r], times ``scale`` (N: the lesson's .mean() of a dot)."""

    def grad(w, p):
        residual = w[0] + w[1] * p["xs"] - p["ys"]
        return scale * 2.0 / N * np.array([residual.sum(), (p["xs"] * residual).sum()])

    return grad


def _lesson_points(rng: np.random.Generator, n: int) -> Point:
    return Point.of(rng.uniform(-1.0, 3.0, 2), "random", xs=LESSON_X, ys=LESSON_Y)


def _lesson_target(name: str, grad_scale: float, formula: str) -> Target:
    return register(
        Target(
            name=name,
            formula=formula,
            f=_mse,
            closed_forms={"grad": _mse_grad(grad_scale)},
            sample=_lesson_points,
            canonical=[Point.of(np.array([0.5, 1.5]), "w=(0.5, 1.5)", xs=LESSON_X, ys=LESSON_Y)],
        )
    )


# np.dot(2*x, y_pred - y).mean(): the dot is already a sum, .mean() of a number keeps it.
_lesson_target("vr_mse_dot_mean", float(N), "mean((w₀ + w₁x − y)²), gradient N× too large")
_lesson_target("vr_mse_sign", -1.0, "mean((w₀ + w₁x − y)²), gradient of the wrong sign")
_lesson_target("vr_mse_right", 1.0, "mean((w₀ + w₁x − y)²)")

# A gradient of the wrong shape: one element per data point instead of per weight.
register(
    Target(
        name="vr_mse_shape",
        formula="mean((w₀ + w₁x − y)²), gradient per data point",
        f=_mse,
        closed_forms={"grad": lambda w, p: 2.0 / N * (w[0] + w[1] * p["xs"] - p["ys"])},
        sample=_lesson_points,
        canonical=[Point.of(np.array([0.5, 1.5]), "w=(0.5, 1.5)", xs=LESSON_X, ys=LESSON_Y)],
    )
)


@register_backend
class TwinMinigrad(MinigradBackend):
    """minigrad again (test-only): a second AD vote that rounds as minigrad does."""

    name = "vr_minigrad_twin"
    description = "minigrad again (test-only), a second AD vote"


@register_backend
class HalfGradient(MinigradBackend):
    """An AD engine with a shared bug (test-only): every derivative 1.5 times too large."""

    name = "vr_scaled"
    description = "minigrad × 1.5 (test-only): a wrong engine"

    def evaluate(self, *args, **kwargs):
        return 1.5 * super().evaluate(*args, **kwargs)


@register_backend
class HalfGradientTwin(HalfGradient):
    """The same wrong engine under a second name: two agreeing wrong AD votes."""

    name = "vr_scaled_twin"
