"""The registry: canonical values from the spec, closed forms against finite differences
(property-based), stability, and the public API users register their targets with."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autodiff_bench.backends.finite import FiniteBackend, richardson_jacobian
from autodiff_bench.errors import UsageError
from autodiff_bench.targets import (
    Point,
    Target,
    all_targets,
    check_size,
    get_target,
    load_targets_file,
    scalar_sampler,
)
from tests.conftest import ROOT

BUILTINS = [
    "square", "cubic", "sin_x2", "tanh", "taylor_cos",
    "quadratic", "trace_axb", "least_squares", "logistic", "linreg_mse",
]  # fmt: skip


def test_every_builtin_of_the_spec_is_registered_in_order() -> None:
    assert list(all_targets())[: len(BUILTINS)] == BUILTINS


@pytest.mark.parametrize(
    ("name", "x", "quantity", "expected"),
    [
        ("square", 5.0, "d1", 10.0),
        ("cubic", 3.0, "primal", 33.0),
        ("cubic", 3.0, "d1", 29.0),
        ("cubic", 3.0, "d2", 18.0),
        ("cubic", 3.0, "d3", 6.0),
        ("sin_x2", 1.234, "d1", 2.8325610668434710),
        ("tanh", 0.5, "d4", 3.9522195637245830),
    ],
)
def test_canonical_values_of_the_spec(name: str, x: float, quantity: str, expected: float) -> None:
    t = get_target(name)
    p = Point.scalar(x)
    got = t.value(p) if quantity == "primal" else t.closed_form(quantity, p)
    assert float(got) == pytest.approx(expected, rel=1e-15, abs=1e-15)


def test_linreg_canonical_gradient_from_the_data() -> None:
    t = get_target("linreg_mse")
    (p,) = t.canonical
    x = np.arange(8.0)
    y = np.array([1.86, 1.31, 0.62, 0.33, 0.09, -0.67, -1.23, -1.37])
    r = 0.9 * x + 0.1 - y
    assert float(t.value(p)) == pytest.approx(np.mean(r**2))
    np.testing.assert_allclose(
        t.closed_form("grad", p), [2 * np.mean(x * r), 2 * np.mean(r)], rtol=1e-14
    )


def test_logistic_is_finite_and_right_at_z_800() -> None:
    t = get_target("logistic")
    pts = {p.label: p for p in t.canonical}
    assert float(t.value(pts["z=800"])) == 800.0
    assert float(t.value(pts["z=-800"])) == 0.0
    np.testing.assert_array_equal(t.closed_form("grad", pts["z=800"]), [1.0, 2.0, -1.0])
    np.testing.assert_array_equal(t.closed_form("grad", pts["z=-800"]), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(t.closed_form("hessian", pts["z=800"]), np.zeros((3, 3)))


def test_taylor_cos_reports_its_gap_to_cos() -> None:
    t = get_target("taylor_cos")
    notes = t.notes(Point.scalar(1.0))
    # The first omitted term of the 10-term series is x²⁰/20! ≈ 4.1e-19 at x = 1.
    assert abs(notes["series − cos x"]) < 1e-15
    assert abs(notes["f' − (−sin x)"]) < 1e-15
    big = t.notes(Point.scalar(3.0))
    assert abs(big["series − cos x"]) == pytest.approx(3.0**20 / math.factorial(20), rel=0.2)


SCALARS = [n for n in BUILTINS if get_target(n).is_scalar]
VECTORS = [n for n in BUILTINS if not get_target(n).is_scalar]


@pytest.mark.parametrize("name", SCALARS)
@settings(max_examples=25, deadline=None)
@given(x=st.floats(-2.5, 2.5, allow_nan=False))
def test_scalar_closed_forms_match_finite_differences(name: str, x: float) -> None:
    t = get_target(name)
    p = Point.scalar(x)
    # Each order against a Richardson derivative of the order below (closed form), which is
    # far more accurate than differencing f n times.
    previous = lambda y, prm: t.f(np, y, prm)  # noqa: E731
    for n, q in enumerate(t.quantities, start=1):
        fd = richardson_jacobian(previous, p.x, p.params)
        scale = max(1.0, abs(float(t.closed_form(q, p))))
        assert float(t.closed_form(q, p)) == pytest.approx(float(fd), abs=1e-7 * scale), q
        previous = lambda y, prm, q=q: t.closed_form(q, Point(np.asarray(y), prm))  # noqa: E731
        assert n == int(q[1:])


@pytest.mark.parametrize("name", VECTORS)
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(1, 6))
def test_vector_closed_forms_match_finite_differences(name: str, seed: int, size: int) -> None:
    t = get_target(name)
    p = t.sample(np.random.default_rng(seed), size)
    fd = FiniteBackend()
    grad = t.closed_form("grad", p)
    scale = max(1.0, float(np.max(np.abs(grad))))
    np.testing.assert_allclose(fd.evaluate(t, "grad", p), grad, atol=1e-7 * scale, rtol=1e-7)
    # The Hessian as the Jacobian of the closed-form gradient.
    hess = t.closed_form("hessian", p)
    grad_at = lambda y, prm: t.closed_form("grad", Point(y, prm))  # noqa: E731
    fd_hess = richardson_jacobian(grad_at, p.x, p.params)
    hscale = max(1.0, float(np.max(np.abs(hess))))
    np.testing.assert_allclose(fd_hess, hess, atol=1e-7 * hscale, rtol=1e-7)
    v = np.random.default_rng(seed + 1).standard_normal(p.x.shape)
    n = p.x.size
    np.testing.assert_allclose(
        t.closed_form("hvp", p, v), (hess.reshape(n, n) @ v.reshape(n)).reshape(p.x.shape)
    )


def test_samplers_are_seeded_and_sized() -> None:
    t = get_target("least_squares")
    a = t.sample(np.random.default_rng(7), 4)
    b = t.sample(np.random.default_rng(7), 4)
    np.testing.assert_array_equal(a.x, b.x)
    assert a.x.shape == (4,) and a.params["A"].shape == (7, 4)
    assert get_target("trace_axb").sample(np.random.default_rng(0), 3).x.shape == (3, 4)


def test_points_are_canonical_then_random() -> None:
    pts = get_target("cubic").points(2, seed=0, size=None)
    assert [p.label for p in pts] == ["x=3", "random#1", "random#2"]


def test_a_target_without_closed_form_is_refused() -> None:
    with pytest.raises(ValueError, match="no closed-form"):
        Target("nope", "x", lambda xp, x, p: x, {}, scalar_sampler(0, 1))
    with pytest.raises(ValueError, match="not a scalar quantity"):
        Target("mixed", "x", lambda xp, x, p: x, {"d1": abs, "grad": abs}, scalar_sampler(0, 1))


def test_absurd_sizes_are_refused_with_the_memory_needed() -> None:
    with pytest.raises(UsageError, match="GiB"):
        check_size(10**7, [get_target("quadratic")])
    with pytest.raises(UsageError, match="positive"):
        check_size(0, [get_target("cubic")])
    check_size(1000, [get_target("least_squares")])  # fine


def test_targets_files_register_through_the_public_api() -> None:
    added = load_targets_file(ROOT / "examples" / "rosenbrock_targets.py")
    assert added == ["rosenbrock"]
    # Loading the same file again is a no-op that names the same targets.
    assert load_targets_file(ROOT / "examples" / "rosenbrock_targets.py") == ["rosenbrock"]
    t = get_target("rosenbrock")
    (p,) = t.canonical
    np.testing.assert_allclose(t.closed_form("grad", p), [-215.6, -88.0])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("import not_a_module_anywhere\n", "does not import"),
        ("x = 1\n", "registered no target"),
        (
            "from autodiff_bench import Target, register, scalar_sampler\n"
            "register(Target('bare', 'x', lambda xp, x, p: x, {}, scalar_sampler(0, 1)))\n",
            "no closed-form",
        ),
    ],
)
def test_bad_targets_files_are_usage_errors(tmp_path, content: str | None, message: str) -> None:
    path = tmp_path / "targets.py"
    if content is not None:
        path.write_text(content)
    with pytest.raises(UsageError, match=message):
        load_targets_file(path)
