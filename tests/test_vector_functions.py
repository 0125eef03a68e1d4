"""Vector-valued targets and the quantities jacobian, jvp (forward mode) and vjp: closed
forms against hand values, directions of the right shapes, every backend's products, the
default suite, user targets files, ``check``, ``show`` and ``time`` on the command line."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

from autodiff_bench.backends import builtin_backends, parse_backend
from autodiff_bench.check import plan_cells, resolve_check_plan, run_check
from autodiff_bench.config import EMPTY
from autodiff_bench.targets import Point, Target, all_targets, get_target, quantity_direction
from tests.conftest import ROOT, installed

W = np.array([[1.0, 2.0], [0.5, -1.0], [-2.0, 0.3]])
#: softmax([1, 2, 3]) and its Jacobian diag(s) − ssᵀ, to 8 digits (computed by hand in NumPy).
SOFTMAX_123 = np.array([0.09003057, 0.24472847, 0.66524096])
SOFTMAX_123_J = np.array(
    [
        [0.08192507, -0.02203304, -0.05989202],
        [-0.02203304, 0.18483645, -0.1628034],
        [-0.05989202, -0.1628034, 0.22269543],
    ]
)
#: The Jacobian diag(1 − t²) W of tanh_layer's canonical point.
TANH_LAYER_J = np.array(
    [[0.21615246, 0.43230492], [0.14020743, -0.28041487], [-0.36141328, 0.05421199]]
)

#: A user's vector target (polar to Cartesian), only its Jacobian written: jvp and vjp come
#: from it.  ``TRANSPOSED`` swaps two entries of the Jacobian, as a hand derivation might.
USER_TARGETS = """
from autodiff_bench import Point, Target, register
import numpy as np

def polar(xp, x, p):
    return xp.stack([x[0] * xp.cos(x[1]), x[0] * xp.sin(x[1])])

def jacobian(xp, x, p):
    r, a = x[0], x[1]
    return xp.stack([
        xp.stack([xp.cos(a), -r * xp.sin(a)]),
        xp.stack([xp.sin(a), {entry}]),
    ])

register(Target(
    name="{name}",
    formula="(r cos a, r sin a)",
    f=polar,
    closed_forms={{"jacobian": jacobian}},
    sample=lambda rng, n: Point.of([1.0 + rng.uniform(), rng.uniform(-3, 3)], "random"),
    canonical=[Point.of([2.0, 0.5], "hand")],
))
"""


def user_targets_file(tmp_path, name: str, entry: str = "r * xp.cos(a)") -> str:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(USER_TARGETS.format(name=name, entry=entry)))
    return str(path)


# ---- the built-in targets' closed forms ---------------------------------------------------


def test_softmax_closed_forms_at_the_canonical_point() -> None:
    t = get_target("softmax")
    point = t.canonical[0]
    assert t.value(point) == pytest.approx(SOFTMAX_123, abs=1e-8)
    j = t.closed_form("jacobian", point)
    assert j.shape == (3, 3)
    assert j == pytest.approx(SOFTMAX_123_J, abs=1e-8)
    # Columns sum to 0: softmax stays on the simplex, Σ s = 1.
    assert j.sum(axis=0) == pytest.approx(np.zeros(3), abs=1e-15)
    v = np.array([1.0, -2.0, 0.5])
    # Its own O(n) products agree with the Jacobian's.
    assert t.closed_form("jvp", point, v) == pytest.approx(SOFTMAX_123_J @ v, abs=1e-8)
    assert t.closed_form("vjp", point, v) == pytest.approx(v @ SOFTMAX_123_J, abs=1e-8)


def test_softmax_is_stable_far_from_zero() -> None:
    t = get_target("softmax")
    far = Point.of([1001.0, 1002.0, 1003.0], "far")
    assert t.value(far) == pytest.approx(SOFTMAX_123, abs=1e-8)
    assert t.closed_form("jacobian", far) == pytest.approx(SOFTMAX_123_J, abs=1e-8)


def test_tanh_layer_closed_forms_at_the_canonical_point() -> None:
    t = get_target("tanh_layer")
    point = t.canonical[0]
    j = t.closed_form("jacobian", point)
    assert j.shape == (3, 2)  # f has 3 outputs, x 2 inputs
    assert j == pytest.approx(TANH_LAYER_J, abs=1e-8)
    v, u = np.array([0.3, -0.7]), np.array([1.0, 2.0, -1.0])
    assert t.closed_form("jvp", point, v) == pytest.approx(TANH_LAYER_J @ v, abs=1e-8)
    assert t.closed_form("vjp", point, u) == pytest.approx(u @ TANH_LAYER_J, abs=1e-8)


def test_tanh_layer_derivative_keeps_its_digits_where_tanh_is_one() -> None:
    """1 − tanh²(20) is 0 in float64; the closed form gives sech²(20) = 4.25e-17."""
    t = get_target("tanh_layer")
    point = Point.of([20.0], "saturated", W=[[1.0]], b=[0.0])
    assert 1.0 - np.tanh(20.0) ** 2 == 0.0
    exact = 1.0 / np.cosh(20.0) ** 2
    assert float(t.closed_form("jacobian", point)[0, 0]) == pytest.approx(exact, rel=1e-14)


def test_vector_targets_have_the_vector_quantities_only() -> None:
    for name in ("softmax", "tanh_layer"):
        t = get_target(name)
        assert t.quantities == ("jacobian", "jvp", "vjp")
        assert t.is_vector_valued and not t.is_scalar
        assert all(t.written_against_xp(q) for q in t.quantities)
    assert not get_target("quadratic").is_vector_valued


def test_a_target_mixing_scalar_and_vector_valued_forms_is_refused() -> None:
    with pytest.raises(ValueError, match="closed form 'grad' is not a vector-valued quantity"):
        Target(
            name="mixed",
            formula="x",
            f=lambda xp, x, p: x,
            closed_forms={"jacobian": lambda xp, x, p: xp.eye(2), "grad": lambda xp, x, p: x},
            sample=lambda rng, n: Point.of(np.zeros(n), "zero"),
        )


def test_jvp_and_vjp_closed_forms_take_one_more_parameter() -> None:
    with pytest.raises(ValueError, match=r"closed\(xp, x, params, v\)"):
        Target(
            name="short_jvp",
            formula="x",
            f=lambda xp, x, p: x,
            closed_forms={"jvp": lambda x, p: x},
            sample=lambda rng, n: Point.of(np.zeros(n), "zero"),
        )
    numpy_style = Target(
        name="numpy_vjp",
        formula="2x",
        f=lambda xp, x, p: 2.0 * x,
        closed_forms={"jacobian": lambda x, p: 2.0 * np.eye(x.size), "vjp": lambda x, p, u: 2 * u},
        sample=lambda rng, n: Point.of(np.zeros(n), "zero"),
    )
    assert not numpy_style.written_against_xp("vjp")
    assert not numpy_style.written_against_xp("jvp")  # derived from the NumPy Jacobian
    point = Point.of([1.0, 2.0], "p")
    assert numpy_style.closed_form("jvp", point, np.array([1.0, -1.0])) == pytest.approx([2, -2])


def test_directions_have_the_shapes_of_x_and_of_f() -> None:
    t = get_target("tanh_layer")
    point = t.canonical[0]
    v = quantity_direction(t, "jvp", point, seed=0, index=0)
    u = quantity_direction(t, "vjp", point, seed=0, index=0)
    assert v is not None and v.shape == (2,)
    assert u is not None and u.shape == (3,)
    assert quantity_direction(t, "jacobian", point, seed=0, index=0) is None
    # Seeded: the same in every process and every call.
    again = quantity_direction(t, "vjp", point, seed=0, index=0)
    assert again is not None and np.array_equal(u, again)


# ---- backends ----------------------------------------------------------------------------

DEFAULT_SPECS = list(builtin_backends())


@pytest.mark.parametrize("spec", DEFAULT_SPECS)
def test_every_backend_computes_the_products_of_tanh_layer(spec: str) -> None:
    backend = parse_backend(spec).create(dtype="float64")
    module = type(backend).runtime(backend.mode).module
    if module and not installed(module):
        pytest.skip(f"{module} is not installed")
    t = get_target("tanh_layer")
    point = t.canonical[0]
    v, u = np.array([0.3, -0.7]), np.array([1.0, 2.0, -1.0])
    tol = 1e-8 if spec == "finite" else 1e-13
    jac = backend.evaluate(t, "jacobian", point)
    assert jac.shape == (3, 2)
    assert jac == pytest.approx(TANH_LAYER_J, abs=1e-8)
    assert backend.evaluate(t, "jvp", point, v) == pytest.approx(
        t.closed_form("jvp", point, v), abs=tol
    )
    assert backend.evaluate(t, "vjp", point, u) == pytest.approx(
        t.closed_form("vjp", point, u), abs=tol
    )


def test_minigrad_says_its_jvp_is_the_transpose_of_its_vjp() -> None:
    summary = builtin_backends()["minigrad"].summary()
    assert "jvp: no forward mode, the transpose of the vjp" in summary


@pytest.mark.parametrize(
    ("name", "api"),
    [
        ("jax", "jvp: jax.jvp (forward mode)"),
        ("torch", "jvp: torch.func.jvp (forward mode)"),
        ("tensorflow", "jvp: tf.autodiff.ForwardAccumulator (forward mode)"),
        ("autograd", "jvp: autograd.make_jvp (forward mode)"),
    ],
)
def test_frameworks_name_their_forward_mode(name: str, api: str) -> None:
    assert api in builtin_backends()[name].summary()


# ---- check, the default suite, user targets ----------------------------------------------


def test_vector_targets_are_outside_the_default_suite_unless_asked_for() -> None:
    default = [t.name for t in resolve_check_plan(EMPTY).targets]
    assert "softmax" not in default and "tanh_layer" not in default and "quadratic" in default
    everything = [t.name for t in resolve_check_plan(EMPTY, targets=["all"]).targets]
    assert {"softmax", "tanh_layer", "quadratic"} <= set(everything)
    by_quantity = resolve_check_plan(EMPTY, quantities=["jvp"], backends=["manual"])
    assert {"softmax", "tanh_layer"} <= {t.name for t in by_quantity.targets}
    builtin = {n for n, t in all_targets().items() if t.f.__module__.startswith("autodiff_bench.")}
    cells = {c.target for c in plan_cells(by_quantity) if c.target in builtin}
    assert cells == {"softmax", "tanh_layer"}


def test_check_runs_the_three_quantities_at_every_point() -> None:
    plan = resolve_check_plan(
        EMPTY, targets=["softmax,tanh_layer"], backends=["manual,finite,minigrad"], points=2
    )
    report = run_check(plan, in_process=True)
    assert report.exit_code == 0
    assert {(r.target, r.quantity) for r in report.records} == {
        (t, q) for t in ("softmax", "tanh_layer") for q in ("jacobian", "jvp", "vjp")
    }
    assert len(report.records) == 2 * 3 * 3 * 3  # targets × quantities × backends × points
    assert {r.status for r in report.records} == {"pass"}
    # The vjp at tanh_layer's canonical point compares 2 numbers (x's), the jvp 3 (f's).
    hand = [r for r in report.records if r.target == "tanh_layer" and r.point == "hand"]
    sizes = {r.quantity: r.total for r in hand if r.label == "minigrad"}
    assert sizes == {"jacobian": 6, "jvp": 3, "vjp": 2}


def test_the_readme_vector_example_passes_from_its_jacobian_alone(cli) -> None:
    path = str(ROOT / "examples" / "polar_targets.py")
    run = cli(
        "check", "--targets-file", path, "-t", "polar", "-b", "manual,finite,minigrad", "-f", "json"
    )
    assert run.code == 0, run.err
    doc = json.loads(run.out)
    records = doc["results"]
    assert {r["quantity"] for r in records} == {"jacobian", "jvp", "vjp"}
    assert {r["status"] for r in records} == {"pass"}
    hand = {(r["quantity"], r["backend"]): r for r in records if r["point"] == "r=2, a=0.5"}
    assert hand[("jacobian", "minigrad")]["total"] == 4
    assert hand[("jvp", "minigrad")]["total"] == 2
    assert hand[("vjp", "minigrad")]["max_abs_error"] < 1e-14
    assert doc["config"]["quantities"] is None


def test_a_wrong_user_jacobian_fails_in_every_product(cli, tmp_path) -> None:
    # ∂(r sin a)/∂a written as r sin a instead of r cos a.
    path = user_targets_file(tmp_path, "polar_wrong", entry="r * xp.sin(a)")
    run = cli(
        "check",
        "--targets-file",
        path,
        "-t",
        "polar_wrong",
        "-b",
        "manual,minigrad",
        "-f",
        "json",
    )
    assert run.code == 1
    records = json.loads(run.out)["results"]
    mini = {
        r["quantity"]: r for r in records if r["backend"] == "minigrad" and r["point"] == "hand"
    }
    assert {q: r["status"] for q, r in mini.items()} == {
        "jacobian": "fail",
        "jvp": "fail",
        "vjp": "fail",
    }
    # The one wrong entry, [1, 1]: got r cos a, the closed form r sin a, at r = 2, a = 0.5.
    assert mini["jacobian"]["worst_index"] == [1, 1]
    assert mini["jacobian"]["got"] == pytest.approx(2 * np.cos(0.5))
    assert mini["jacobian"]["ref"] == pytest.approx(2 * np.sin(0.5))
    assert mini["jacobian"]["mismatched"] == 1


def test_quantities_the_selected_targets_lack_are_bad_usage(cli) -> None:
    run = cli("check", "-t", "softmax", "-q", "grad", "-b", "manual")
    assert run.code == 2
    assert "no selected target has the quantities grad" in run.err
    run = cli("check", "-t", "softmax", "-q", "jvpp", "-b", "manual")
    assert run.code == 2 and "jvp" in run.err  # the suggestion


def test_show_prints_the_jacobian_of_softmax(cli) -> None:
    run = cli("show", "softmax", "-b", "manual,minigrad", "--format", "json")
    assert run.code == 0
    doc = json.loads(run.out)
    jac = {r["backend"]: r["value"] for r in doc["results"] if r["quantity"] == "jacobian"}
    assert np.array(jac["manual"]) == pytest.approx(SOFTMAX_123_J, abs=1e-8)
    assert np.array(jac["minigrad"]) == pytest.approx(SOFTMAX_123_J, abs=1e-8)


def test_time_measures_the_vector_quantities(cli, tmp_path) -> None:
    out = tmp_path / "time.json"
    run = cli(
        "time",
        "-t",
        "tanh_layer",
        "-q",
        "jacobian,jvp,vjp",
        "-b",
        "minigrad",
        "--sizes",
        "4",
        "--budget",
        "0.02",
        "-f",
        "json",
        "-o",
        str(out),
    )
    assert run.code == 0, run.err
    records = json.loads(out.read_text())["results"]
    timed = {(r["quantity"], r["backend"]): r for r in records}
    for q in ("jacobian", "jvp", "vjp"):
        rec = timed[(q, "minigrad")]
        assert rec["status"] == "pass" and rec["median_s"] > 0 and rec["size"] == 4
        assert rec["ratio_to_manual"] > 0 and rec["ratio_to_primal"] > 0
