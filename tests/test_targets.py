"""The registry: canonical values from the spec, closed forms against finite differences
(property-based), stability, and the public API users register their targets with."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autodiff_bench.backends import QuantityUnsupported, parse_backend
from autodiff_bench.backends.finite import FiniteBackend, richardson_jacobian
from autodiff_bench.backends.namespace import numpy_namespace
from autodiff_bench.errors import UsageError
from autodiff_bench.targets import (
    Point,
    Target,
    all_targets,
    check_size,
    closed_form_style,
    get_target,
    load_targets_file,
    scalar_sampler,
)
from tests.conftest import ROOT, needs

BUILTINS = [
    "square", "cubic", "sin_x2", "tanh", "taylor_cos",
    "quadratic", "trace_axb", "least_squares", "logistic", "linreg_mse",
    "softmax", "tanh_layer",
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
VECTORS = [
    n for n in BUILTINS if not get_target(n).is_scalar and not get_target(n).is_vector_valued
]
VECTOR_VALUED = [n for n in BUILTINS if get_target(n).is_vector_valued]


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


def test_a_target_without_closed_forms_must_name_its_quantities() -> None:
    with pytest.raises(ValueError, match="no closed forms and no quantities"):
        Target("nope", "x", lambda xp, x, p: x, {}, scalar_sampler(0, 1))
    bare = Target(
        "bare", "x", lambda xp, x, p: x, {}, scalar_sampler(0, 1), quantities=["d2", "d1"]
    )
    assert bare.quantities == ("d1", "d2") and bare.is_scalar and not bare.has_closed_forms
    with pytest.raises(ValueError, match="unknown quantity 'grd'"):
        Target("typo", "x", lambda xp, x, p: x, {}, scalar_sampler(0, 1), quantities=("grd",))
    with pytest.raises(ValueError, match="'hessian' has no closed form"):
        Target(
            "half",
            "x",
            lambda xp, x, p: x,
            {"grad": abs},
            scalar_sampler(0, 1),
            quantities=("grad", "hessian"),
        )
    narrowed = Target(
        "narrow",
        "x",
        lambda xp, x, p: x,
        {"hessian": lambda xp, x, p: x},
        scalar_sampler(0, 1),
        quantities=("hvp",),
    )
    assert narrowed.quantities == ("hvp",)
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
            "no closed forms and no quantities",
        ),
    ],
)
def test_bad_targets_files_are_usage_errors(tmp_path, content: str | None, message: str) -> None:
    path = tmp_path / "targets.py"
    if content is not None:
        path.write_text(content)
    with pytest.raises(UsageError, match=message):
        load_targets_file(path)


# ---- closed forms: written against xp, or NumPy only --------------------------------------


def test_the_closed_form_style_is_told_by_positional_parameters_without_defaults() -> None:
    assert closed_form_style("t", "grad", lambda xp, x, p: x) == "xp"
    assert closed_form_style("t", "grad", lambda x, p: x) == "numpy"
    assert closed_form_style("t", "hvp", lambda xp, x, p, v: v) == "xp"
    assert closed_form_style("t", "hvp", lambda x, p, v: v) == "numpy"
    # A parameter with a default does not count: the style stays NumPy.
    assert closed_form_style("t", "grad", lambda x, p, scale=2.0: scale * x) == "numpy"
    with pytest.raises(ValueError, match=r"takes 1 positional parameters; write it as "):
        closed_form_style("t", "grad", lambda x: x)
    with pytest.raises(ValueError, match=r"closed\(xp, x, params, v\)"):
        closed_form_style("t", "hvp", lambda xp, x, p, v, w: v)


def test_both_styles_give_the_same_numpy_closed_form() -> None:
    def sample(rng: np.random.Generator, n: int) -> Point:
        return Point.of(rng.standard_normal(n), "random", a=rng.standard_normal(n))

    def f(xp, x, p):
        return xp.sum(p["a"] * x * x)

    new = Target(
        "both_xp",
        "Σ aᵢxᵢ²",
        f,
        {
            "grad": lambda xp, x, p: 2.0 * p["a"] * x,
            "hessian": lambda xp, x, p: 2.0 * p["a"] * xp.eye(x.shape[0]),  # diag(2a)
        },
        sample,
    )
    old = Target(
        "both_np",
        "Σ aᵢxᵢ²",
        f,
        {"grad": lambda x, p: 2.0 * p["a"] * x, "hessian": lambda x, p: np.diag(2.0 * p["a"])},
        sample,
    )
    p = Point.of([1.0, -2.0, 3.0], "hand", a=[0.5, 1.0, 2.0])
    v = np.array([1.0, 1.0, -1.0])
    assert new.written_against_xp("grad") and not old.written_against_xp("grad")
    assert new.written_against_xp("hvp") and not old.written_against_xp("hvp")  # the Hessian's
    for t in (new, old):
        np.testing.assert_array_equal(t.closed_form("grad", p), [1.0, -4.0, 12.0])
        np.testing.assert_array_equal(t.closed_form("hvp", p, v), [1.0, 2.0, -4.0])


@needs("torch")
def test_a_numpy_closed_form_is_unsupported_in_a_framework_and_says_how_to_fix_it() -> None:
    load_targets_file(ROOT / "examples" / "rosenbrock_targets.py")
    t = get_target("rosenbrock")
    (p,) = t.canonical
    torch_manual = parse_backend("manual:torch").create()
    # The gradient is written against xp: it runs in torch, with the NumPy value.
    got = torch_manual.evaluate(t, "grad", p)
    np.testing.assert_allclose(got, [-215.6, -88.0], rtol=1e-15)
    # The Hessian is NumPy: NumPy manual computes it, torch's manual declines it.
    assert parse_backend("manual").create().evaluate(t, "hessian", p)[0, 1] == 480.0
    for q in ("hessian", "hvp"):
        with pytest.raises(QuantityUnsupported) as caught:
            torch_manual.evaluate(t, q, p, np.ones(2))
        assert str(caught.value) == (
            "closed form of 'hessian' is written in NumPy; "
            "write it as closed(xp, x, params) to run it in torch"
        )


def test_canonical_points_given_as_a_function_are_built_once_on_first_use() -> None:
    calls = []

    def build() -> list[Point]:
        calls.append(1)
        return [Point.scalar(2.0), Point.scalar(-1.0, "neg")]

    t = Target(
        name="lazy_square",
        formula="x²",
        f=lambda xp, x, p: x * x,
        closed_forms={"d1": lambda xp, x, p: 2 * x},
        sample=scalar_sampler(-1, 1),
        canonical=build,
    )
    assert calls == []  # registering costs no array work (adbench list builds none)
    assert [p.label for p in t.canonical] == ["x=2", "neg"]
    assert len(t.canonical) == 2 and float(t.canonical[1].x) == -1.0
    pts = t.points(1, seed=0, size=None)
    assert [p.label for p in pts][:2] == ["x=2", "neg"] and len(pts) == 3
    assert t.closed_form("d1", t.canonical[0]) == 4.0
    assert calls == [1]


@pytest.mark.parametrize("name", VECTOR_VALUED)
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(1, 6))
def test_jacobian_closed_forms_match_finite_differences(name: str, seed: int, size: int) -> None:
    t = get_target(name)
    p = t.sample(np.random.default_rng(seed), size)
    jac = t.closed_form("jacobian", p)
    out = t.value(p)
    assert jac.shape == out.shape + p.x.shape
    xp = numpy_namespace("float64")
    fd = richardson_jacobian(lambda y, prm: t.f(xp, y, prm), p.x, p.params)
    scale = max(1.0, float(np.max(np.abs(jac))))
    np.testing.assert_allclose(fd, jac, atol=1e-7 * scale, rtol=1e-7)
    # The targets' own O(n) products against the Jacobian's.
    rng = np.random.default_rng(seed + 1)
    v, u = rng.standard_normal(p.x.shape), rng.standard_normal(out.shape)
    np.testing.assert_allclose(t.closed_form("jvp", p, v), jac @ v, atol=1e-12 * scale)
    np.testing.assert_allclose(t.closed_form("vjp", p, u), u @ jac, atol=1e-12 * scale)
