"""Every backend against the closed forms, plus the interface's promises: lazy imports,
'unavailable' instead of a crash, plugins through entry points, quiet frameworks."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from autodiff_bench.backends import (
    Backend,
    BackendSpec,
    BackendUnavailable,
    all_backends,
    builtin_backends,
    load_backend,
    parse_backend,
    parse_backends,
    register_backend,
)
from autodiff_bench.correctness import Tolerances, compare_arrays
from autodiff_bench.errors import UsageError
from autodiff_bench.quantities import derivative_order
from autodiff_bench.targets import Point, all_targets, direction, get_target, quantity_direction
from tests.conftest import installed

#: Every shipped backend in every mode, and every built-in target, from the registries: a new
#: adapter or target is conformance-tested without touching this file.
SPECS = [s.label for s in parse_backends(["all-modes"]) if s.name in builtin_backends()]
BUILTINS = [n for n, t in all_targets().items() if t.f.__module__.startswith("autodiff_bench.")]
AUTODIFF = [n for n, cls in builtin_backends().items() if cls.is_autodiff]

_cache: dict[tuple[str, str], Backend] = {}


def backend_for(spec: str, dtype: str) -> Backend:
    """One loaded adapter per (spec, dtype) for the whole session (imports are slow)."""
    key = (spec, dtype)
    if key not in _cache:
        b = parse_backend(spec).create(dtype=dtype)
        module = type(b).runtime(b.mode).module  # manual:torch needs torch
        if module and not installed(module):
            pytest.skip(f"{module} is not installed")
        b.ensure_loaded()
        _cache[key] = b
    return _cache[key]


#: (backend, target, quantity) whose float32 result comes back as float64: HIPS autograd's
#: own vjp rules widen — its ``mean`` divides by a float64 count, and its ``trace`` gradient is
#: built from a float64 identity (so is the forward tangent of that gradient, the hvp).
#: Everything else must return the dtype it was asked for.
WIDENS_FLOAT32 = frozenset(
    {
        ("autograd", "trace_axb", "grad"),
        ("autograd", "trace_axb", "hvp"),
        ("autograd", "linreg_mse", "grad"),
        ("autograd", "linreg_mse", "hessian"),
        ("autograd", "linreg_mse", "hvp"),
    }
)


def assert_matches_closed_form(spec: str, name: str, dtype: str) -> None:
    b = backend_for(spec, dtype)
    t = get_target(name)
    tol = Tolerances.default()
    for i, point in enumerate(t.points(1, seed=3, size=None)):
        ref_point = point.astype(dtype).astype(np.float64)
        if i == 0:
            primal = b.evaluate(t, "primal", point)
            assert primal.dtype == np.dtype(dtype), f"{spec} {name} f computed in {primal.dtype}"
        for q in t.quantities:
            if derivative_order(q) > b.max_order:  # finite:central differentiates once
                continue
            v = quantity_direction(t, q, point, 3, i)
            got = b.evaluate(t, q, point, v)
            # The dtype of what the backend really returned, not of what was asked for.
            if (b.name, name, q) not in WIDENS_FLOAT32:
                assert got.dtype == np.dtype(dtype), f"{spec} {name} {q} returned {got.dtype}"
            ref_v = None if v is None else v.astype(dtype).astype(np.float64)
            ref = t.closed_form(q, ref_point, ref_v)
            rtol, atol = tol.lookup(
                dtype, derivative_order(q), finite=b.tolerance_class == "finite"
            )
            verdict = compare_arrays(got, ref, rtol, atol, dtype)
            assert verdict.status == "pass", f"{spec} {name} {q} at {point.label}: {verdict}"


@pytest.mark.parametrize("name", BUILTINS)
@pytest.mark.parametrize("spec", SPECS)
def test_backend_matches_closed_forms_float64(spec: str, name: str) -> None:
    assert_matches_closed_form(spec, name, "float64")


@pytest.mark.parametrize(
    "name",
    ["tanh", "least_squares", "logistic", "trace_axb", "linreg_mse", "softmax", "tanh_layer"],
)
@pytest.mark.parametrize("spec", SPECS)
def test_backend_matches_closed_forms_float32(spec: str, name: str) -> None:
    assert_matches_closed_form(spec, name, "float32")


@pytest.mark.skipif(not installed("autograd"), reason="autograd is not installed")
def test_the_float32_widening_allow_list_is_still_needed() -> None:
    """Each entry of WIDENS_FLOAT32 really widens: one that no longer does must be removed."""
    for spec, name, q in sorted(WIDENS_FLOAT32):
        t = get_target(name)
        point = t.points(1, seed=3, size=None)[0]
        v = direction(3, name, 0, point.x.shape) if q == "hvp" else None
        got = backend_for(spec, "float32").evaluate(t, q, point, v)
        assert got.dtype == np.float64, f"{spec} {name} {q} now returns float32"


@pytest.mark.parametrize("spec", AUTODIFF)
def test_fourth_derivative_of_tanh_at_half(spec: str) -> None:
    b = backend_for(spec, "float64")
    got = b.evaluate(get_target("tanh"), "d4", Point.scalar(0.5))
    assert float(got) == pytest.approx(3.9522195637245830, rel=1e-14)
    assert got.dtype == np.float64


@pytest.mark.parametrize("spec", ["torch", "tensorflow", "jax", "autograd", "minigrad"])
def test_logistic_second_derivative_is_finite_at_minus_800(spec: str) -> None:
    # torch.logaddexp's own double backward is NaN here; the namespace must not be.
    b = backend_for(spec, "float64")
    t = get_target("logistic")
    point = next(p for p in t.canonical if p.label == "z=-800")
    hess = b.evaluate(t, "hessian", point)
    np.testing.assert_array_equal(hess, np.zeros((3, 3)))


@pytest.mark.parametrize("spec", ["manual", "manual:torch", "manual:jax", "manual:tensorflow"])
def test_the_logistic_closed_form_is_exact_at_z_800_in_every_framework(spec: str) -> None:
    # σ from exp(−|z|) and σ' = e/(1 + e)²: no overflow, no NaN, in every framework.
    b = backend_for(spec, "float64")
    t = get_target("logistic")
    at = {p.label: p for p in t.canonical}
    np.testing.assert_array_equal(b.evaluate(t, "grad", at["z=800"]), [1.0, 2.0, -1.0])
    np.testing.assert_array_equal(b.evaluate(t, "grad", at["z=-800"]), [0.0, 0.0, 0.0])
    for label in ("z=800", "z=-800"):
        np.testing.assert_array_equal(b.evaluate(t, "hessian", at[label]), np.zeros((3, 3)))
    # At z = −0.6: σ(−0.6)·a and σ(0.6)σ(−0.6)·aaᵀ.
    s = 1.0 / (1.0 + math.exp(0.6))
    a = np.array([1.0, 2.0, -1.0])
    np.testing.assert_allclose(b.evaluate(t, "grad", at["z=-0.6"]), s * a, rtol=1e-15)
    hess = b.evaluate(t, "hessian", at["z=-0.6"])
    np.testing.assert_allclose(hess, s * (1 - s) * np.outer(a, a), rtol=1e-14)


def test_manual_modes_run_in_their_framework_and_borrow_its_worker() -> None:
    manual = all_backends()["manual"]
    assert manual.modes[0] == "numpy" and parse_backend("manual").label == "manual"
    assert {m: manual.framework_of(m) for m in manual.modes} == {
        "numpy": "numpy",
        "torch": "torch",
        "jax": "jax",
        "tensorflow": "tensorflow",
    }
    assert manual.runtime("torch") is all_backends()["torch"]
    assert manual.runtime("numpy") is manual
    assert not manual.is_autodiff
    # A worker computing manual:tensorflow starts with TensorFlow's environment.
    env = manual.runtime("tensorflow").worker_environment(1, "cpu")
    assert env["TF_NUM_INTRAOP_THREADS"] == "1" and env["TF_CPP_MIN_LOG_LEVEL"] == "3"


@pytest.mark.skipif(not installed("jax"), reason="jax is not installed")
def test_manual_jax_is_jitted_and_returns_jax_arrays() -> None:
    b = backend_for("manual:jax", "float32")
    t = get_target("least_squares")
    point = t.points(0, seed=0, size=None)[0]
    call = b.prepare(t, "grad", point)
    value = call()
    assert type(value).__module__.startswith("jax") and value.dtype == np.float32
    assert hasattr(b.function(t, "grad"), "lower")  # a jax.jit-wrapped function


@pytest.mark.skipif(not installed("jax"), reason="jax is not installed")
def test_jax_really_runs_in_float64() -> None:
    b = backend_for("jax", "float64")
    got = b.evaluate(get_target("sin_x2"), "d1", Point.scalar(1.234))
    assert got.dtype == np.float64
    assert abs(float(got) - 2.8325610668434710) <= 4.5e-16  # within two ulps


def test_finite_differences_are_accurate_but_not_exact() -> None:
    b = backend_for("finite", "float64")
    got = float(b.evaluate(get_target("tanh"), "d4", Point.scalar(0.5)))
    # The searched, extrapolated 4th central difference reaches ~1e-9 relative: well inside
    # finite's order-4 tolerance (1e-3), not at AD's round-off (1e-6 would be too tight to
    # be sure of at every point, so the bound is the one the policy promises).
    assert got == pytest.approx(3.9522195637245830, rel=1e-6)


def test_manual_backend_is_the_closed_form() -> None:
    b = backend_for("manual", "float64")
    assert float(b.evaluate(get_target("cubic"), "d1", Point.scalar(3.0))) == 29.0
    assert float(b.evaluate(get_target("cubic"), "primal", Point.scalar(3.0))) == 33.0


def test_registry_names_and_modes() -> None:
    names = list(all_backends())
    assert names[:7] == ["manual", "finite", "torch", "tensorflow", "jax", "autograd", "minigrad"]
    assert parse_backend("jax").mode == "jit"
    assert parse_backend("jax:nojit").label == "jax:nojit"
    assert [s.label for s in parse_backends(["torch", "jax:nojit", "torch"])] == [
        "torch",
        "jax:nojit",
    ]
    assert len(parse_backends(["all"])) == len(all_backends())


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [("jx", "jax"), ("tensorflw", "tensorflow"), ("jax:nojt", "nojit")],
)
def test_unknown_backend_or_mode_suggests_the_closest(text: str, suggestion: str) -> None:
    with pytest.raises(UsageError, match=f"did you mean '{suggestion}'"):
        parse_backend(text)


class _Missing(Backend):
    name = "missing_framework"
    module = "surely_not_an_installed_module_xyz"
    install_hint = "pip install surely-not"


def test_a_missing_framework_is_unavailable_with_its_hint() -> None:
    assert not _Missing.is_available()
    with pytest.raises(BackendUnavailable, match="pip install surely-not"):
        _Missing().ensure_loaded()


def test_cuda_on_a_cpu_only_backend_is_unavailable() -> None:
    with pytest.raises(BackendUnavailable, match="CPU only"):
        parse_backend("autograd").create(device="cuda").ensure_loaded()


def test_plugins_register_through_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    import autodiff_bench.backends as registry

    class Plugin(Backend):
        name = "plugin_demo"

    class FakeEntryPoint:
        name = "plugin_demo"

        def load(self) -> type[Backend]:
            return Plugin

    class BrokenEntryPoint:
        name = "broken_demo"
        value = "nowhere:Nothing"

        def load(self) -> type[Backend]:
            raise ImportError("no module named nowhere")

    monkeypatch.setattr(registry, "_PLUGINS_LOADED", False)
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    # the metadata scan would find no such distribution installed
    monkeypatch.setattr(registry.distributions, "may_have_entry_points", lambda group: True)
    monkeypatch.setattr(registry, "BROKEN_PLUGINS", {})
    monkeypatch.setattr(
        importlib.metadata,
        "entry_points",
        lambda group=None: (
            [FakeEntryPoint(), BrokenEntryPoint()] if group == registry.ENTRY_POINT_GROUP else []
        ),
    )
    assert registry.all_backends()["plugin_demo"] is Plugin
    assert parse_backend("plugin_demo").name == "plugin_demo"
    assert "broken_demo" not in registry.all_backends()
    assert registry.BROKEN_PLUGINS == {
        "broken_demo": "failed to load: ImportError: no module named nowhere"
    }


def test_listing_backends_imports_no_framework() -> None:
    code = (
        "import sys\n"
        "from autodiff_bench.backends import all_backends\n"
        "from autodiff_bench.targets import all_targets\n"
        "[c.is_available() for c in all_backends().values()]\n"
        "[c.version() for c in all_backends().values()]\n"
        "all_targets()\n"
        "print(sorted(m for m in ('torch', 'tensorflow', 'jax', 'autograd') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.skipif(not installed("autograd"), reason="autograd is not installed")
def test_autograd_loads_without_scipy_and_its_logsumexp_is_stable() -> None:
    # autograd.scipy imports SciPy's stats and integrate: 1.7 s of a check's autograd worker.
    code = (
        "import json, sys\n"
        "import numpy as np\n"
        "from autodiff_bench.backends import BackendSpec, load_backend\n"
        "from autodiff_bench.targets import Point, get_target\n"
        "t = get_target('softmax')\n"
        "out = {}\n"
        "for dtype in ('float64', 'float32'):\n"
        "    b = load_backend(BackendSpec('autograd', None), dtype, 'cpu')\n"
        "    p = Point.of(np.array([1000.0, 999.0, -5.0]), 'big')\n"
        "    jvp = b.evaluate(t, 'jvp', p, np.array([1.0, 0.0, 0.0], dtype=dtype))\n"
        "    out[dtype] = [str(jvp.dtype), jvp.tolist(), b.evaluate(t, 'jacobian', p).tolist()]\n"
        "out['imported'] = sorted(m for m in ('scipy', 'scipy.stats') if m in sys.modules)\n"
        "print(json.dumps(out))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["imported"] == []
    s = np.exp(np.array([1000.0, 999.0, -5.0]) - np.logaddexp(1000.0, 999.0))  # softmax
    jacobian = np.diag(s) - np.outer(s, s)
    dtype, jvp, jac = got["float64"]
    assert dtype == "float64"
    np.testing.assert_allclose(jac, jacobian, rtol=1e-12, atol=1e-15)  # no overflow at 1000
    np.testing.assert_allclose(jvp, jacobian[:, 0], rtol=1e-12, atol=1e-15)
    assert got["float32"][0] == "float32"  # the shift adds no float64 tangent
    # float32 cannot hold x − logsumexp x near 1000 better than ~6e-5 (its spacing there).
    np.testing.assert_allclose(got["float32"][2], jacobian, atol=1e-4)


@pytest.mark.skipif(not installed("autograd"), reason="autograd is not installed")
def test_autograd_logsumexp_of_empty_and_infinite_arrays_is_numpys() -> None:
    b = load_backend(BackendSpec("autograd", None), "float64", "cpu")
    b.ensure_loaded()
    with np.errstate(divide="ignore"):  # log 0 = -inf, as NumPy says it
        for shape, axis in (((0,), None), ((2, 0), 1), ((0, 3), 0), ((0, 3), 1)):
            x = np.zeros(shape)
            want = np.log(np.sum(np.exp(x), axis=axis))
            np.testing.assert_array_equal(b.xp.logsumexp(x, axis=axis), want)
        x = np.array([[-np.inf, -np.inf], [0.0, -np.inf]])
        np.testing.assert_array_equal(b.xp.logsumexp(x, axis=1), [-np.inf, 0.0])


@pytest.mark.skipif(not installed("tensorflow"), reason="tensorflow is not installed")
def test_tensorflow_noise_never_reaches_stderr() -> None:
    code = (
        "from autodiff_bench.backends import parse_backend\n"
        "from autodiff_bench.targets import get_target, Point\n"
        "b = parse_backend('tensorflow').create()\n"
        "print(float(b.evaluate(get_target('cubic'), 'd1', Point.scalar(3.0))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "29.0"
    assert out.stderr == ""


def test_register_backend_refuses_a_name_already_taken() -> None:
    class Impostor(Backend):
        name = "torch"

    with pytest.raises(UsageError, match=r"that name is taken by .*TorchBackend"):
        register_backend(Impostor)
    assert all_backends()["torch"].__name__ == "TorchBackend"
    # The same class again is no clash.
    register_backend(all_backends()["minigrad"])
