"""Scalar targets: one variable x, derivatives d1..d4.

Closed forms are written against ``xp`` like ``f``: they run in NumPy and in every framework.
"""

from __future__ import annotations

import math
from typing import Any

from autodiff_bench.backends.namespace import numpy_namespace
from autodiff_bench.targets import Point, Target, register, scalar_sampler

register(
    Target(
        name="square",
        formula="x²",
        f=lambda xp, x, p: x * x,
        closed_forms={
            "d1": lambda xp, x, p: 2.0 * x,
            "d2": lambda xp, x, p: 2.0 * xp.ones_like(x),
        },
        closed_form_text={"d1": "2x", "d2": "2"},
        sample=scalar_sampler(-3.0, 3.0),
        canonical=lambda: [Point.scalar(5.0)],
        description="the first derivative anyone checks",
    )
)

register(
    Target(
        name="cubic",
        formula="x³ + 2x",
        f=lambda xp, x, p: x * x * x + 2.0 * x,
        closed_forms={
            "d1": lambda xp, x, p: 3.0 * x**2 + 2.0,
            "d2": lambda xp, x, p: 6.0 * x,
            "d3": lambda xp, x, p: 6.0 * xp.ones_like(x),
        },
        closed_form_text={"d1": "3x² + 2", "d2": "6x", "d3": "6"},
        sample=scalar_sampler(-3.0, 3.0),
        canonical=lambda: [Point.scalar(3.0)],
    )
)

register(
    Target(
        name="sin_x2",
        formula="sin(x)·x²",
        f=lambda xp, x, p: xp.sin(x) * x * x,
        closed_forms={
            "d1": lambda xp, x, p: 2 * x * xp.sin(x) + x**2 * xp.cos(x),
            "d2": lambda xp, x, p: 2 * xp.sin(x) + 4 * x * xp.cos(x) - x**2 * xp.sin(x),
        },
        closed_form_text={"d1": "2x·sin x + x²·cos x", "d2": "2 sin x + 4x cos x − x² sin x"},
        sample=scalar_sampler(-3.0, 3.0),
        canonical=lambda: [Point.scalar(1.234)],
    )
)


def _sech2(xp: Any, x: Any) -> Any:
    """1 − tanh²x = 4e/(1 + e)² with e = exp(−2|x|): no 1 − t² that cancels (1e-8 relative
    error at |x| = 10, every digit lost from |x| ≈ 19), no overflow for any x."""
    e = xp.exp(-2.0 * xp.abs(x))
    return 4.0 * e / ((1.0 + e) * (1.0 + e))


def _tanh_d(n: int):
    """The n-th derivative of tanh in t = tanh x and s = 1 − t² (computed stably); every
    factor 1 − k·t² is rewritten in s (1 − 3t² = 3s − 2, 2 − 3t² = 3s − 1)."""
    rules = {
        1: lambda t, s: s,
        2: lambda t, s: -2.0 * t * s,
        3: lambda t, s: -2.0 * s * (3.0 * s - 2.0),
        4: lambda t, s: 8.0 * t * s * (3.0 * s - 1.0),
    }
    return lambda xp, x, p: rules[n](xp.tanh(x), _sech2(xp, x))


register(
    Target(
        name="tanh",
        formula="tanh x",
        f=lambda xp, x, p: xp.tanh(x),
        closed_forms={f"d{n}": _tanh_d(n) for n in range(1, 5)},
        closed_form_text={
            "d1": "s = 1 − t² = 4e/(1 + e)²  (t = tanh x, e = exp(−2|x|))",
            "d2": "−2ts",
            "d3": "−2s(3s − 2)  (= −2(1 − t²)(1 − 3t²))",
            "d4": "8ts(3s − 1)  (= 8t(1 − t²)(2 − 3t²))",
        },
        sample=scalar_sampler(-2.0, 2.0),
        # ±10: the tails, where 1 − t² would cancel and derivatives are ~1e-8.
        canonical=lambda: [
            Point.scalar(0.5),
            Point.scalar(10.0, stress=True),
            Point.scalar(-10.0, stress=True),
        ],
        description="derivatives up to the 4th: nested differentiation of one primitive",
    )
)

TAYLOR_TERMS = 10
#: Coefficients (−1)ᵏ/(2k)! of the truncated cosine series, k = 0..N−1.
_TAYLOR = [(-1) ** k / math.factorial(2 * k) for k in range(TAYLOR_TERMS)]


def _taylor_cos(xp, x, p):
    # Horner's rule in y = x²: no powers, so every backend differentiates plain products.
    y = x * x
    acc = _TAYLOR[-1] * y
    for c in reversed(_TAYLOR[1:-1]):
        acc = (acc + c) * y
    return acc + _TAYLOR[0]


def _taylor_cos_d(n: int):
    """The exact n-th derivative of the truncated series (not of cos)."""

    def d(xp: Any, x: Any, p: object) -> Any:
        total = xp.zeros_like(x)
        for k, c in enumerate(_TAYLOR):
            e = 2 * k
            if e >= n:
                total = total + c * math.perm(e, n) * x ** (e - n)
        return total

    return d


def _taylor_notes(point: Point) -> dict[str, float]:
    x = float(point.x)
    xp = numpy_namespace(point.x.dtype)
    return {
        "series − cos x": float(_taylor_cos(xp, point.x, {})) - math.cos(x),
        "f' − (−sin x)": float(_taylor_cos_d(1)(xp, point.x, {})) + math.sin(x),
    }


register(
    Target(
        name="taylor_cos",
        formula=f"Σₖ₌₀^{TAYLOR_TERMS - 1} (−1)ᵏ x²ᵏ/(2k)!  (cos x, {TAYLOR_TERMS} terms)",
        f=_taylor_cos,
        closed_forms={f"d{n}": _taylor_cos_d(n) for n in range(1, 5)},
        closed_form_text={f"d{n}": f"exact d{n} of the truncated series" for n in range(1, 5)},
        sample=scalar_sampler(-3.0, 3.0),
        canonical=lambda: [Point.scalar(1.0)],
        notes=_taylor_notes,
        description="a truncated Taylor series; notes report its gap to cos and −sin",
    )
)
