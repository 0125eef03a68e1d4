"""Every built-in closed form against 50-digit arithmetic (mpmath), at its canonical points
and its stress points (the tails, where a formula such as 1 − tanh²x or σ(1 − σ) cancels).

Each target's f is restated here in mpmath, independently of its xp code; the exact
derivatives come from mpmath's differentiation at 50 digits.  A closed form must agree to
1e-13 relative (to the largest element of the quantity).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import mpmath as mp
import numpy as np
import pytest

from autodiff_bench.targets import Point, Target, all_targets
from autodiff_bench.targets.scalar import TAYLOR_TERMS

mp.mp.dps = 50
RTOL = 1e-13


def _vec(p: Point, name: str) -> list[Any]:
    return [mp.mpf(float(v)) for v in np.asarray(p.params[name]).reshape(-1)]


def _taylor(x: Any) -> Any:
    return mp.fsum((-1) ** k * x ** (2 * k) / mp.factorial(2 * k) for k in range(TAYLOR_TERMS))


def _quadratic(x: list[Any], p: Point) -> Any:
    a = np.asarray(p.params["A"])
    n = len(x)
    quad = mp.fsum(x[i] * mp.mpf(float(a[i, j])) * x[j] for i in range(n) for j in range(n))
    return (
        quad / 2
        + mp.fsum(bi * xi for bi, xi in zip(_vec(p, "b"), x, strict=True))
        + float(p.params["c"])
    )


def _trace_axb(x: list[Any], p: Point) -> Any:
    a, b = np.asarray(p.params["A"]), np.asarray(p.params["B"])
    m, k = p.x.shape
    xm = [[x[i * k + j] for j in range(k)] for i in range(m)]
    # tr(AXB) = Σ_{r,i,j} A[r,i] X[i,j] B[j,r]
    return mp.fsum(
        mp.mpf(float(a[r, i])) * xm[i][j] * mp.mpf(float(b[j, r]))
        for r in range(a.shape[0])
        for i in range(m)
        for j in range(k)
    )


def _least_squares(x: list[Any], p: Point) -> Any:
    a = np.asarray(p.params["A"])
    b = _vec(p, "b")
    res = [
        mp.fsum(mp.mpf(float(a[r, c])) * x[c] for c in range(len(x))) - b[r] for r in range(len(b))
    ]
    return mp.fsum(r * r for r in res) / 2


def _logistic(x: list[Any], p: Point) -> Any:
    z = mp.fsum(ai * xi for ai, xi in zip(_vec(p, "a"), x, strict=True))
    return mp.log(1 + mp.exp(z))


def _linreg(x: list[Any], p: Point) -> Any:
    xs, ys = _vec(p, "data_x"), _vec(p, "data_y")
    return mp.fsum((x[0] * xi + x[1] - yi) ** 2 for xi, yi in zip(xs, ys, strict=True)) / len(xs)


#: f of every built-in in mpmath: scalar targets take x, the others (x as a flat list, point).
SCALAR: dict[str, Callable[[Any], Any]] = {
    "square": lambda x: x * x,
    "cubic": lambda x: x**3 + 2 * x,
    "sin_x2": lambda x: mp.sin(x) * x * x,
    "tanh": mp.tanh,
    "taylor_cos": _taylor,
}
VECTOR: dict[str, Callable[[list[Any], Point], Any]] = {
    "quadratic": _quadratic,
    "trace_axb": _trace_axb,
    "least_squares": _least_squares,
    "logistic": _logistic,
    "linreg_mse": _linreg,
}


#: The quantities this file can compute exactly (a vector-valued target's Jacobian is not).
EXACT_QUANTITIES = {"d1", "d2", "d3", "d4", "grad", "hessian", "hvp"}


def builtin_target_names() -> list[str]:
    """The built-in scalar-valued targets (defined in the package, not by a test)."""
    return [
        name
        for name, t in all_targets().items()
        if t.f.__module__.startswith("autodiff_bench.targets")
        and set(t.quantities) <= EXACT_QUANTITIES
    ]


def test_every_builtin_has_a_precise_statement_here() -> None:
    assert set(SCALAR) | set(VECTOR) == set(builtin_target_names())


def _cases() -> list[tuple[str, str, Point]]:
    cases = []
    for name in builtin_target_names():
        target = all_targets()[name]
        for point in target.canonical:
            for quantity in target.quantities:
                cases.append((name, quantity, point))
    return cases


def _exact(target: Target, quantity: str, point: Point, v: np.ndarray | None) -> np.ndarray:
    if target.name in SCALAR:
        order = int(quantity[1:])
        return np.asarray(float(mp.diff(SCALAR[target.name], mp.mpf(float(point.x)), order)))
    flat = [mp.mpf(float(v)) for v in point.x.reshape(-1)]
    n = len(flat)
    f = VECTOR[target.name]

    def fn(*xs: Any) -> Any:
        return f(list(xs), point)

    def partial(orders: list[int]) -> Any:
        return mp.diff(fn, flat, orders)

    def unit(*idx: int) -> list[int]:
        orders = [0] * n
        for i in idx:
            orders[i] += 1
        return orders

    if quantity == "grad":
        return np.array([float(partial(unit(i))) for i in range(n)]).reshape(point.x.shape)
    hess = [[partial(unit(i, j)) for j in range(n)] for i in range(n)]
    if quantity == "hessian":
        return np.array([[float(h) for h in row] for row in hess]).reshape(point.x.shape * 2)
    assert v is not None
    vm = [mp.mpf(float(c)) for c in v.reshape(-1)]
    return np.array(
        [float(mp.fsum(h * c for h, c in zip(row, vm, strict=True))) for row in hess]
    ).reshape(point.x.shape)


@pytest.mark.parametrize(
    ("name", "quantity", "point"),
    _cases(),
    ids=[f"{n}-{q}-{p.label}" for n, q, p in _cases()],
)
def test_closed_form_matches_50_digit_arithmetic(name: str, quantity: str, point: Point) -> None:
    target = all_targets()[name]
    v = np.linspace(-1.0, 1.0, point.x.size).reshape(point.x.shape) if quantity == "hvp" else None
    got = np.asarray(target.closed_form(quantity, point, v), dtype=np.float64)
    exact = _exact(target, quantity, point, v)
    assert got.shape == exact.shape
    scale = float(np.max(np.abs(exact)))
    if scale == 0.0:  # an exactly zero quantity (trace_axb's Hessian) must be exactly zero
        assert np.all(got == 0.0)
        return
    worst = float(np.max(np.abs(got - exact))) / scale
    assert worst <= RTOL, f"{name} {quantity} at {point.label}: relative error {worst:.2e}"


def test_the_stress_points_are_in_the_canonical_sets() -> None:
    stress = {
        name: sorted(p.label for p in all_targets()[name].canonical if p.stress)
        for name in ("logistic", "tanh")
    }
    assert stress == {"logistic": ["z=-30", "z=30"], "tanh": ["x=-10", "x=10"]}
    # ... and run only when asked: the default points leave them out.
    labels = [p.label for p in all_targets()["tanh"].points(0, 0, None)]
    assert labels == ["x=0.5"]
    labels = [p.label for p in all_targets()["tanh"].points(0, 0, None, stress=True)]
    assert labels == ["x=0.5", "x=10", "x=-10"]


def test_the_old_tanh_formula_would_fail_here() -> None:
    # The reason for the rewrite: 1 − t² at x = 10 is off by ~1e-8 relative.
    t = np.tanh(10.0)
    exact = float(mp.sech(10) ** 2)
    assert abs((1 - t * t) - exact) / exact > 1e-9
    tanh = all_targets()["tanh"]
    got = float(tanh.closed_form("d1", Point.scalar(10.0)))
    assert abs(got - exact) / exact < RTOL
