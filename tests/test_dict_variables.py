"""Several variables (a dict of arrays) and static parameters (Python ints), on every backend.

The target ``two_vars`` has variables a (n,) and B (n, m), data W (n, m) and c (m,), and a
static int power k:

    f(a, B) = Σᵢ aᵢᵏ/k + aᵀBc + ½ Σᵢⱼ Wᵢⱼ Bᵢⱼ²
    ∂f/∂a = aᵏ⁻¹ + Bc,      ∂f/∂B = a cᵀ + W∘B
    H[a][a] = diag((k−1) aᵏ⁻²),  H[a][B]ᵢₗⱼ = δᵢₗ cⱼ,  H[B][B]ᵢⱼₗₘ = δᵢₗ δⱼₘ Wᵢⱼ
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from autodiff_bench.backends import all_backends
from autodiff_bench.check.plan import resolve_check_plan
from autodiff_bench.check.run import run_check
from autodiff_bench.config import EMPTY
from autodiff_bench.correctness import AD_TOLERANCES, FINITE_TOLERANCES
from autodiff_bench.pytree import Layout
from autodiff_bench.targets import Point, Target, direction, register
from tests.conftest import ROOT

#: The type of p["k"] each time f ran (during jit and tf.function traces too).
SEEN_TYPES: list[type] = []


def two_vars(xp: Any, x: Any, p: Any) -> Any:
    """Σ aᵏ/k + aᵀBc + ½ Σ W∘B²; records the type of the static k."""
    k = p["k"]
    SEEN_TYPES.append(type(k))
    a, B = x["a"], x["B"]
    return xp.sum(a**k) / k + xp.sum(a * xp.matmul(B, p["c"])) + 0.5 * xp.sum(p["W"] * B * B)


def two_vars_grad(xp: Any, x: Any, p: Any) -> dict[str, Any]:
    """∂f/∂a = aᵏ⁻¹ + Bc, ∂f/∂B = a cᵀ + W∘B."""
    a, B, c, k = x["a"], x["B"], p["c"], p["k"]
    return {
        "a": a ** (k - 1) + xp.matmul(B, c),
        "B": xp.expand_dims(a, 1) * xp.expand_dims(c, 0) + p["W"] * B,
    }


def two_vars_hessian(xp: Any, x: Any, p: Any) -> dict[str, dict[str, Any]]:
    """The blocks H[a][b] of shape x[a].shape + x[b].shape."""
    a, W, c, k = x["a"], p["W"], p["c"], p["k"]
    n, m = W.shape
    eye_n, eye_m = xp.eye(n), xp.eye(m)
    aB = xp.einsum("il,j->ilj", eye_n, c)  # ∂²f/∂aᵢ∂Bₗⱼ = δᵢₗ cⱼ
    return {
        "a": {"a": eye_n * ((k - 1) * a ** (k - 2)), "B": aB},
        "B": {"a": xp.einsum("ilj->lji", aB), "B": xp.einsum("ij,il,jm->ijlm", W, eye_n, eye_m)},
    }


def sample(rng: np.random.Generator, n: int) -> Point:
    """a, B near 1 (away from 0: aᵏ⁻² is smooth there), W and c standard normal."""
    m = 2
    return Point.of(
        {"a": rng.uniform(0.5, 1.5, n), "B": rng.standard_normal((n, m))},
        "random",
        W=rng.standard_normal((n, m)),
        c=rng.standard_normal(m),
        k=3,
    )


TARGET = register(
    Target(
        name="two_vars_test",
        formula="Σ aᵏ/k + aᵀBc + ½ Σ W∘B²",
        f=two_vars,
        closed_forms={"grad": two_vars_grad, "hessian": two_vars_hessian},
        sample=sample,
        canonical=lambda: [
            Point.of(
                {"a": [1.0, 2.0], "B": [[1.0, 0.0], [2.0, -1.0]]},
                "hand",
                W=[[1.0, 2.0], [3.0, 4.0]],
                c=[1.0, -1.0],
                k=3,
            )
        ],
        default_suite=False,
    )
)

#: Every backend in its default mode, and the modes whose compilers trace f.
BACKENDS = ["manual", "finite", "torch", "tensorflow", "jax", "autograd", "minigrad"]


def test_closed_forms_by_hand() -> None:
    """At a = (1, 2), B = [[1, 0], [2, −1]], W = [[1, 2], [3, 4]], c = (1, −1), k = 3."""
    p = TARGET.canonical[0]
    assert float(TARGET.value(p)) == pytest.approx(9 / 3 + (1 * 1 + 2 * 3) + 0.5 * 17)
    g = TARGET.closed_form("grad", p)
    np.testing.assert_allclose(g["a"], [1 + 1, 4 + 3])
    np.testing.assert_allclose(g["B"], [[1 + 1, -1 + 0], [2 + 6, -2 - 4]])
    h = TARGET.closed_form("hessian", p)
    np.testing.assert_allclose(h["a"]["a"], [[2.0, 0.0], [0.0, 4.0]])
    assert h["a"]["B"].shape == (2, 2, 2) and h["B"]["a"].shape == (2, 2, 2)
    assert h["B"]["B"].shape == (2, 2, 2, 2) and float(h["B"]["B"][1, 1, 1, 1]) == 4.0
    # The derived hvp contracts the blocks with a dict v: H v = Σ_b H[a][b] v[b].
    v = {"a": np.array([1.0, 0.0]), "B": np.zeros((2, 2))}
    hv = TARGET.closed_form("hvp", p, v)
    np.testing.assert_allclose(hv["a"], [2.0, 0.0])
    np.testing.assert_allclose(hv["B"], [[1.0, -1.0], [0.0, 0.0]])


def _flat(quantity: str, value: Any, p: Point) -> np.ndarray:
    layout = p.layout
    assert layout is not None
    return layout.flat(quantity, value, quantity)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", BACKENDS)
def test_every_backend_follows_the_structure(name: str, dtype: str) -> None:
    cls = all_backends()[name]
    if not cls.is_available():
        pytest.skip(f"{name} is not installed")
    backend = cls(None, dtype)
    point = TARGET.sample(np.random.default_rng(3), 3)
    ref_point = point.astype(dtype).astype(np.float64)
    layout = point.layout
    assert layout is not None and layout.size == 3 + 6
    v = layout.unflatten(direction(0, TARGET.name, 0, (layout.size,)))
    table = FINITE_TOLERANCES if name == "finite" else AD_TOLERANCES
    for quantity, order in (("grad", 1), ("hessian", 2), ("hvp", 2)):
        direction_v = v if quantity == "hvp" else None
        got = backend.evaluate(TARGET, quantity, point, direction_v)
        ref = TARGET.closed_form(quantity, ref_point, direction_v)
        if quantity == "hessian":
            assert set(got) == {"a", "B"} and set(got["a"]) == {"a", "B"}
            assert got["a"]["B"].shape == (3, 3, 2) and got["B"]["B"].shape == (3, 2, 3, 2)
        else:
            assert set(got) == {"a", "B"} and got["B"].shape == (3, 2)
        rtol, atol = table[dtype][order]
        flat_got, flat_ref = _flat(quantity, got, point), _flat(quantity, ref, point)
        assert flat_got.dtype == np.dtype(dtype) or name == "autograd"
        scale = float(np.max(np.abs(flat_ref)))
        np.testing.assert_allclose(flat_got, flat_ref, rtol=rtol, atol=atol * scale)


@pytest.mark.parametrize(
    ("name", "mode"),
    [
        ("jax", "jit"),
        ("tensorflow", "function"),
        ("tensorflow", "xla"),
        ("torch", "fast"),
        ("autograd", None),
        ("minigrad", None),
        ("manual", "jax"),
        ("manual", "tensorflow"),
    ],
)
def test_static_int_stays_a_python_int(name: str, mode: str | None) -> None:
    cls = all_backends()[name]
    if not cls.runtime(mode or cls.modes[0]).is_available():
        pytest.skip(f"{name} is not installed")
    backend = cls(mode, "float64")
    point = TARGET.canonical[0]
    SEEN_TYPES.clear()
    quantity = "hessian" if name == "manual" else "grad"
    got = backend.evaluate(TARGET, quantity, point)
    if name == "manual":  # a closed form reads k: (k − 1) aᵏ⁻² = 2a at k = 3
        np.testing.assert_allclose(got["a"]["a"], [[2.0, 0.0], [0.0, 4.0]])
    else:  # f traced (jit, tf.function) or run with k a Python int
        assert SEEN_TYPES and all(t is int for t in SEEN_TYPES)
        np.testing.assert_allclose(got["a"], [2.0, 7.0])
    assert type(point.astype("float32").params["k"]) is int


def test_layout_names_the_worst_element() -> None:
    layout = Layout(("alphas", "means"), ((3,), (3, 2)))
    assert layout.element(0) == "alphas[0]" and layout.element(5) == "means[1, 0]"
    label = layout.index_label("hessian")
    assert label is not None and label((5, 2)) == "means[1, 0], alphas[2]"
    flat_h = np.arange(81.0).reshape(9, 9)
    blocks = layout.structured("hessian", flat_h)
    assert blocks["means"]["alphas"].shape == (3, 2, 3)
    assert float(blocks["means"]["alphas"][1, 0, 2]) == flat_h[5, 2]
    np.testing.assert_array_equal(layout.flat("hessian", blocks, "H"), flat_h)


def test_a_wrong_entry_is_named_by_variable(tmp_path) -> None:
    """A closed form off in one element of B: the AD backends fail there, by name."""

    def wrong_grad(xp: Any, x: Any, p: Any) -> dict[str, Any]:
        g = two_vars_grad(xp, x, p)
        return {"a": g["a"], "B": g["B"] + np.array([[0.0, 0.0], [5.0, 0.0]])}

    wrong = register(
        Target(
            name="two_vars_wrong_test",
            formula="two_vars, wrong ∂f/∂B[1, 0]",
            f=two_vars,
            closed_forms={"grad": wrong_grad},
            sample=sample,
            canonical=TARGET.canonical,
            default_suite=False,
        )
    )
    plan = resolve_check_plan(EMPTY, targets=[wrong.name], backends=["minigrad"], points=0)
    report = run_check(plan, in_process=True)
    (record,) = report.records
    assert record.status == "fail" and record.mismatched == 1
    assert "worst at B[1, 0]: got 8, expected 13" in record.message


def test_gmm_example_through_the_cli(cli, tmp_path) -> None:
    out = tmp_path / "gmm.json"
    run = cli(
        "check",
        "--targets-file",
        str(ROOT / "examples" / "gmm_targets.py"),
        "-t",
        "gmm",
        "-b",
        "manual,finite,minigrad,autograd,jax",
        "--points",
        "1",
        "-f",
        "json",
        "--output",
        str(out),
    )
    assert run.code == 0, run.err
    records = json.loads(out.read_text())["results"]
    assert {r["backend"] for r in records} == {"manual", "finite", "minigrad", "autograd", "jax"}
    assert {r["status"] for r in records} == {"pass"} and len(records) == 10
    canonical = [r for r in records if r["point"].startswith("n=10")]
    # 3 weights, 3×2 means, 3×2 log-diagonals: 15 elements, every one compared.
    assert all(r["total"] == 15 and r["size"] == 15 for r in canonical)
    assert all(r["max_abs_error"] < 1e-9 for r in canonical if r["backend"] != "finite")


BAD_LEAF = """
import numpy as np
from autodiff_bench import Point, Target, register
register(Target(name="bad_leaf", formula="f", f=lambda xp, x, p: xp.sum(x["a"]),
    closed_forms={"grad": lambda xp, x, p: {"a": xp.ones_like(x["a"])}},
    sample=lambda rng, n: Point({"a": np.ones(n), "b": "oops"}, {}, "r"),
    canonical=lambda: [Point({"a": np.ones(2), "b": "oops"}, {}, "c")]))
"""

BAD_STRUCTURE = """
import numpy as np
from autodiff_bench import Point, Target, register
register(Target(name="bad_structure", formula="f",
    f=lambda xp, x, p: xp.sum(x["a"]) + xp.sum(x["b"] ** 2),
    closed_forms={"grad": lambda xp, x, p: {"a": xp.ones_like(x["a"])}},
    sample=lambda rng, n: Point.of({"a": np.ones(n), "b": np.ones(2)}, "r"),
    canonical=lambda: [Point.of({"a": np.ones(2), "b": np.ones(2)}, "c")]))
"""


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (BAD_LEAF, "target 'bad_leaf': variable x['b'] is a str, not an array of numbers"),
        (
            BAD_STRUCTURE,
            "target 'bad_structure': the closed form of 'grad' is ['a'], expected a dict "
            "with keys a, b",
        ),
    ],
)
def test_bad_dict_targets_are_one_line_exit_2(cli, tmp_path, source: str, message: str) -> None:
    path = tmp_path / "bad.py"
    path.write_text(source)
    run = cli("check", "--targets-file", str(path), "-b", "manual")
    assert run.code == 2
    assert message in run.err
    assert len(run.err.strip().splitlines()) == 1 and "Traceback" not in run.err


def test_the_gmm_without_a_closed_form_is_judged_against_a_reference(cli) -> None:
    import json as _json

    from tests.conftest import ROOT as _ROOT

    gmm = str(_ROOT / "examples" / "gmm_targets.py")
    run = cli("check", "--targets-file", gmm, "-t", "gmm_nocf", "-b", "finite,jax,minigrad",
              "--reference", "jax", "-q", "grad", "-f", "json")  # fmt: skip
    assert run.code == 0, run.err
    by = {r["label"]: r for r in _json.loads(run.out)["results"] if r["point"].startswith("n=")}
    assert by["jax"]["status"] == "reference"
    assert by["minigrad"]["status"] == by["finite"]["status"] == "pass"
    assert by["minigrad"]["reference"] == "jax" and by["minigrad"]["max_rel_error"] < 1e-13
    consensus = cli("check", "--targets-file", gmm, "-t", "gmm_nocf", "-b",
                    "finite,jax,minigrad,autograd", "-q", "grad", "-f", "json")  # fmt: skip
    assert consensus.code == 0, consensus.err
    assert {r["reference"] for r in _json.loads(consensus.out)["results"]} == {"consensus"}
