"""Each backend's default mode is its framework's fast path: vectorised Hessians (no Python
loop over rows), every mode's higher scalar derivatives right, and ``adbench list backends``
saying what each mode computes each quantity with.

Agreement of every mode with every closed form is tested in ``test_backends.py``, whose
parametrisation comes from the registries (``all-modes``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from autodiff_bench.backends import (
    Backend,
    BackendSpec,
    all_backends,
    builtin_backends,
    load_backend,
    parse_backend,
    parse_backends,
)
from autodiff_bench.targets import Point, all_targets, direction, get_target

#: Every mode of every shipped autodiff backend, from the registry.
AUTODIFF_MODES = [
    s.label
    for s in parse_backends(["all-modes"])
    if s.name in builtin_backends() and all_backends()[s.name].is_autodiff
]
#: Built-in scalar targets with closed forms for all four orders.
SCALAR_D4 = [
    name
    for name, t in all_targets().items()
    if t.f.__module__.startswith("autodiff_bench.")
    and all(f"d{k}" in t.closed_forms for k in range(1, 5))
]

_loaded: dict[str, Backend] = {}


def loaded(label: str) -> Backend:
    """One loaded adapter per mode for the module (skipped when the framework is absent)."""
    if label not in _loaded:
        spec = parse_backend(label)
        module = all_backends()[spec.name].module
        if module:
            pytest.importorskip(module)
        b = spec.create(dtype="float64")
        b.ensure_loaded()
        _loaded[label] = b
    return _loaded[label]


def test_there_are_scalar_targets_with_four_closed_forms() -> None:
    assert "tanh" in SCALAR_D4


@pytest.mark.parametrize("name", SCALAR_D4)
@pytest.mark.parametrize("label", AUTODIFF_MODES)
def test_every_mode_computes_d1_to_d4(label: str, name: str) -> None:
    b = loaded(label)
    t = get_target(name)
    point = Point.scalar(0.5)
    for k in range(1, 5):
        got = float(b.evaluate(t, f"d{k}", point))
        want = float(t.closed_form(f"d{k}", point))
        assert got == pytest.approx(want, rel=1e-12, abs=1e-12), f"{label} {name} d{k}"


def test_default_modes_are_the_fast_ones() -> None:
    assert parse_backend("torch").mode == "fast"
    assert parse_backend("tensorflow").mode == "function"
    assert parse_backend("jax").mode == "jit"
    assert all_backends()["torch"].modes == ("fast", "func", "autograd", "compile")
    assert all_backends()["tensorflow"].modes == ("function", "eager", "xla")


def test_every_mode_of_a_framework_backend_is_described() -> None:
    for name in ("torch", "tensorflow", "jax", "autograd"):
        cls = all_backends()[name]
        assert set(cls.mode_descriptions) == set(cls.modes), name
        for mode, text in cls.mode_descriptions.items():
            for quantity in ("grad: ", "hessian: ", "hvp: "):
                assert quantity in text, f"{name}:{mode} does not say what computes {quantity}"


def test_list_backends_shows_each_modes_description(cli) -> None:
    run = cli("list", "backends")
    assert run.code == 0
    # The "what" column, its wrapped lines joined again (rich wraps at spaces).
    cells = [line.split("│")[-2].strip() for line in run.out.splitlines() if "│" in line]
    what = " ".join(" ".join(cells).split())
    for name, cls in all_backends().items():
        for mode, text in cls.mode_descriptions.items():
            marker = " (default)" if mode == cls.modes[0] and len(cls.modes) > 1 else ""
            assert f"{mode}{marker}: {text}" in what, f"{name}:{mode}"
    assert "fast (default): grad: torch.autograd.grad; hessian: torch.func.jacrev" in what


# ---- no Python loop over the rows of a Hessian ---------------------------------------------

N = 24  # rows of the Hessian: a loop over them would make ≥ N calls


def least_squares_hessian(label: str) -> tuple[np.ndarray, np.ndarray]:
    """The Hessian of least_squares at n = N by ``label``, and AᵀA."""
    t = get_target("least_squares")
    point = t.sample(np.random.default_rng(1), N)
    got = loaded(label).evaluate(t, "hessian", point)
    a = point.params["A"]
    return got, a.T @ a


@pytest.mark.parametrize("label", ["torch", "torch:func", "torch:autograd"])
def test_torch_hessian_calls_autograd_grad_once_per_row_only_in_mode_autograd(
    label: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch = pytest.importorskip("torch")
    calls = []
    real = torch.autograd.grad

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(torch.autograd, "grad", counting)
    got, want = least_squares_hessian(label)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    if label == "torch:autograd":
        assert len(calls) == N + 1  # the gradient, then one call per row: the loop it teaches
    else:
        # torch.func's vjp calls autograd.grad once per level of differentiation, the
        # second one under vmap: all N rows in one call.
        assert len(calls) <= 2


def test_torch_fast_hvp_is_two_autograd_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch")
    calls = []
    real = torch.autograd.grad

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("create_graph", False))
        return real(*args, **kwargs)

    monkeypatch.setattr(torch.autograd, "grad", counting)
    t = get_target("least_squares")
    point = t.sample(np.random.default_rng(1), N)
    v = direction(0, "least_squares", 0, point.x.shape)
    got = loaded("torch").evaluate(t, "hvp", point, v)
    a = point.params["A"]
    np.testing.assert_allclose(got, a.T @ (a @ v), rtol=1e-12, atol=1e-12)
    assert calls == [True, False]  # reverse over reverse, v as the second call's grad_outputs


@pytest.mark.parametrize("label", ["tensorflow", "tensorflow:xla", "tensorflow:eager"])
def test_tensorflow_hessian_is_one_tape_jacobian_except_eager(
    label: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tf = pytest.importorskip("tensorflow")
    b = loaded(label)  # import and configure before patching
    gradients = []
    jacobians = []
    real_gradient, real_jacobian = tf.GradientTape.gradient, tf.GradientTape.jacobian

    def gradient(self: Any, *args: Any, **kwargs: Any) -> Any:
        gradients.append(1)
        return real_gradient(self, *args, **kwargs)

    def jacobian(self: Any, *args: Any, **kwargs: Any) -> Any:
        jacobians.append(kwargs.get("experimental_use_pfor", True))
        return real_jacobian(self, *args, **kwargs)

    monkeypatch.setattr(tf.GradientTape, "gradient", gradient)
    monkeypatch.setattr(tf.GradientTape, "jacobian", jacobian)
    t = get_target("least_squares")
    point = t.sample(np.random.default_rng(1), N)
    # A fresh composition: the traced function is built (and traced) under the patch.
    b._functions.clear()
    got = b.evaluate(t, "hessian", point)
    a = point.params["A"]
    np.testing.assert_allclose(got, a.T @ a, rtol=1e-12, atol=1e-12)
    if label == "tensorflow:eager":
        assert jacobians == [] and len(gradients) == N + 1
    else:
        assert jacobians == [True]  # vectorised with pfor
        assert len(gradients) < N  # the gradient, and pfor's one traced row


def _branch_on_tensor(xp: Any, x: Any, params: Any) -> Any:
    if x[0] > 0:  # AutoGraph makes this a tf.cond; without it, a bool of a symbolic tensor
        return xp.sum(x**2)
    return xp.sum(x**3)


def _loop_over_len(xp: Any, x: Any, params: Any) -> Any:
    total = 0.0
    for i in range(len(x)):  # AutoGraph reads len from the static shape; without: TypeError
        total = total + x[i] ** 2
    return total


@pytest.mark.parametrize("label", ["tensorflow", "tensorflow:xla"])
def test_tensorflow_traces_without_autograph_unless_a_branch_needs_it(label: str) -> None:
    pytest.importorskip("tensorflow")
    b = loaded(label)
    plain = get_target("least_squares")
    b._functions.clear()
    b.evaluate(plain, "grad", plain.sample(np.random.default_rng(1), N))
    (compiled,) = (fn for _, fn in b._functions.values())
    assert compiled._compiled._autograph is False  # the same graph, no source rewriting
    b._functions.clear()
    branchy = _grad_only("branch_on_tensor", _branch_on_tensor)
    for x0, want in ((0.5, [1.0, 0.6]), (-0.5, [0.75, 0.27])):  # both sides of the branch
        got = b.evaluate(branchy, "grad", Point.of(np.array([x0, 0.3]), "x"))
        np.testing.assert_allclose(got, want, rtol=1e-12)
    (compiled,) = (fn for _, fn in b._functions.values())
    assert compiled._compiled._autograph is True  # traced again with AutoGraph, and kept
    b._functions.clear()
    looping = _grad_only("loop_over_len", _loop_over_len)
    got = b.evaluate(looping, "grad", Point.of(np.array([0.5, -0.25, 2.0]), "x"))
    np.testing.assert_allclose(got, [1.0, -0.5, 4.0], rtol=1e-12)  # 2x
    (compiled,) = (fn for _, fn in b._functions.values())
    assert compiled._compiled._autograph is True  # len() of a tensor needs AutoGraph too


def _grad_only(name: str, f: Any) -> Any:
    """A target without closed forms whose gradient is asked for directly."""
    from autodiff_bench.targets import Target

    return Target(
        name=name,
        formula=name,
        f=f,
        closed_forms={},
        quantities=("grad",),
        sample=lambda rng, n: Point.of(rng.uniform(-1.0, 1.0, n), "drawn"),
    )


@pytest.mark.parametrize("label", ["jax", "jax:nojit"])
def test_jax_hessian_is_jacrev_of_grad(label: str, monkeypatch: pytest.MonkeyPatch) -> None:
    jax = pytest.importorskip("jax")
    b = loaded(label)
    used = []
    real = jax.jacrev

    def jacrev(*args: Any, **kwargs: Any) -> Any:
        used.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(jax, "jacrev", jacrev)
    b._functions.clear()
    got, want = least_squares_hessian(label)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert used == [1]


# ---- torch.compile ----------------------------------------------------------------------------


def test_torch_compile_without_a_cxx_compiler_is_unavailable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("torch")
    import shutil

    monkeypatch.delenv("CXX", raising=False)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    got = load_backend(BackendSpec("torch", "compile"))
    assert isinstance(got, tuple)
    status, message = got
    assert status == "unavailable"
    assert "torch.compile needs a C++ compiler" in message and "torch:fast" in message
    # The other modes do not need one.
    assert not isinstance(load_backend(BackendSpec("torch", "fast")), tuple)


def test_torch_compile_failure_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch")
    b = parse_backend("torch").create()
    b.ensure_loaded()
    b.mode = "compile"

    def failing(*args: Any) -> Any:
        inner = RuntimeError("no C++ compiler works here\nsecond line of a long story")
        raise torch._dynamo.exc.BackendCompilerFailed(lambda *a: None, inner, None)

    monkeypatch.setattr(torch, "compile", lambda fn, **options: failing)
    fn = b.compile(lambda x: x)
    with pytest.raises(RuntimeError) as exc:
        fn(torch.ones(2))
    assert str(exc.value) == "torch.compile failed here: RuntimeError: no C++ compiler works here"
