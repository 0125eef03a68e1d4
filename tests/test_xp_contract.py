"""Conformance of every backend's ``xp`` to the xp contract.

Parametrised over the registry, every mode: each contract name exists and nothing else
does; each function's value equals NumPy's (float64 and float32, in the run's dtype); a name
outside the contract is the one error of :func:`outside_contract`; Python scalars become
arrays of the run's dtype; and every AD backend differentiates every function twice (its
Hessian equals the finite-difference one).  A framework that is not installed is skipped.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from autodiff_bench.backends import (
    Backend,
    BackendSpec,
    QuantityUnsupported,
    all_backends,
    builtin_backends,
)
from autodiff_bench.targets import Point, Target
from autodiff_bench.xp_contract import (
    LINALG,
    NAMES,
    ArrayNamespace,
    LinalgNamespace,
    OutsideContract,
    outside_contract,
)

#: Backends whose namespace is still being brought to the contract: their cases are
#: expected to fail (remove a name here to hold it to the contract).
PENDING: set[str] = set()


def _specs() -> list[Any]:
    out = []
    # The built-in adapters (other test modules register test backends of their own).
    for name, cls in builtin_backends().items():
        for mode in cls.modes:
            marks = (
                [pytest.mark.xfail(reason=f"{name} does not implement the contract yet")]
                if name in PENDING
                else []
            )
            out.append(pytest.param(BackendSpec(name, mode), id=f"{name}:{mode}", marks=marks))
    return out


SPECS = _specs()
_LOADED: dict[tuple[BackendSpec, str], Backend] = {}


def loaded(spec: BackendSpec, dtype: str = "float64") -> Backend:
    """The loaded adapter (one per spec and dtype in this process), or skip."""
    key = (spec, dtype)
    if key not in _LOADED:
        cls = all_backends()[spec.name]
        if not cls.runtime(spec.mode).is_available():
            pytest.skip(f"{spec.label}: framework not installed")
        backend = spec.create(dtype=dtype)
        backend.set_exact_precision()
        backend.ensure_loaded()
        _LOADED[key] = backend
    return _LOADED[key]


def run_dtype(backend: Backend) -> np.dtype:
    """The dtype a backend computes in (finite always differences in float64)."""
    return np.dtype("float64" if backend.name == "finite" else backend.dtype)


# ---- names ---------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", SPECS)
def test_xp_has_exactly_the_contract(spec: BackendSpec) -> None:
    xp = loaded(spec).xp
    assert {n for n in dir(xp) if not n.startswith("_")} == set(NAMES)
    assert {n for n in dir(xp.linalg) if not n.startswith("_")} == set(LINALG)
    assert isinstance(xp, ArrayNamespace)
    assert isinstance(xp.linalg, LinalgNamespace)
    for name in NAMES:
        assert callable(getattr(xp, name)) or name == "linalg"


def test_protocol_lists_the_contract() -> None:
    members = {n for n in dir(ArrayNamespace) if not n.startswith("_")}
    members |= set(ArrayNamespace.__annotations__)
    assert members == set(NAMES)
    assert {n for n in dir(LinalgNamespace) if not n.startswith("_")} == set(LINALG)


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("name", ["arcsinh", "asarray", "float64", "linalg.eig", "linalg.svd"])
def test_a_name_outside_the_contract_is_one_error(spec: BackendSpec, name: str) -> None:
    backend = loaded(spec)
    owner, attr = (backend.xp.linalg, name[7:]) if "." in name else (backend.xp, name)
    with pytest.raises(OutsideContract) as caught:
        getattr(owner, attr)
    assert str(caught.value) == str(outside_contract(name, backend.label))
    assert not hasattr(owner, attr)  # an AttributeError: hasattr and getattr(.., default) work


def test_the_error_names_the_contract_and_the_readme_section() -> None:
    text = str(outside_contract("linalg.eig", "torch"))
    assert text == (
        "xp.linalg.eig is not in adbench's xp contract (seen on torch); use the names listed "
        "in README, 'Checking your own gradient', so the target runs on every backend"
    )


# ---- values against NumPy -----------------------------------------------------------------

_rng = np.random.default_rng(7)
_C = _rng.standard_normal((3, 3))
INPUTS: dict[str, np.ndarray] = {
    "v": np.array([0.3, -1.2, 2.0, 0.7]),
    "w": np.array([1.5, 0.4, -0.8, 0.25]),
    "pos": np.array([0.5, 1.5, 2.5, 0.9]),
    "M": np.array([[0.3, -1.2, 0.5], [2.0, 0.7, -0.4], [0.1, 0.9, 1.6]]),
    "P": _C @ _C.T + 3.0 * np.eye(3),
    "T": _rng.standard_normal((2, 3, 4)),
    "S": np.array([[1.0, 2.0], [3.0, 4.0]]),
}


def _lse(a: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    top = np.max(a, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(a - top), axis=axis, keepdims=True)) + top
    return out if keepdims else np.squeeze(out, axis=axis)


def _call(name: str) -> Callable[..., Any]:
    """``xp.<name>(v)``."""
    return lambda xp, v: getattr(xp, name)(v)


#: (id, inputs, the contract call, NumPy's answer).
CASES: list[tuple[str, tuple[str, ...], Callable[..., Any], Callable[..., Any]]] = [
    *[
        (n, ("v",), _call(n), getattr(np, n))
        for n in ("abs", "sign", "exp", "expm1", "sin", "cos", "tan", "tanh", "sinh", "cosh")
    ],
    *[(n, ("pos",), _call(n), getattr(np, n)) for n in ("log", "log1p", "sqrt", "square")],
    ("logaddexp", ("v", "w"), lambda xp, a, b: xp.logaddexp(a, b), np.logaddexp),
    ("maximum", ("v", "w"), lambda xp, a, b: xp.maximum(a, b), np.maximum),
    ("minimum", ("v", "w"), lambda xp, a, b: xp.minimum(a, b), np.minimum),
    (
        "where",
        ("v", "w"),
        lambda xp, a, b: xp.where(a > b, a, b),
        lambda a, b: np.where(a > b, a, b),
    ),
    ("where_eq", ("v", "w"), lambda xp, a, b: xp.where(a == a, a, b), lambda a, b: a),
    ("clip", ("v",), lambda xp, v: xp.clip(v, -0.5, 1.0), lambda v: np.clip(v, -0.5, 1.0)),
    ("clip_hi_only", ("v",), lambda xp, v: xp.clip(v, None, 1.0), lambda v: np.clip(v, None, 1.0)),
    ("sum", ("T",), lambda xp, t: xp.sum(t), np.sum),
    ("sum_axis", ("T",), lambda xp, t: xp.sum(t, axis=1), lambda t: np.sum(t, axis=1)),
    (
        "sum_axes_keepdims",
        ("T",),
        lambda xp, t: xp.sum(t, axis=(0, 2), keepdims=True),
        lambda t: np.sum(t, axis=(0, 2), keepdims=True),
    ),
    ("mean", ("T",), lambda xp, t: xp.mean(t), np.mean),
    ("mean_axis", ("T",), lambda xp, t: xp.mean(t, axis=-1), lambda t: np.mean(t, axis=-1)),
    ("prod", ("M",), lambda xp, m: xp.prod(m), np.prod),
    ("prod_axis", ("T",), lambda xp, t: xp.prod(t, axis=(0, 2)), lambda t: np.prod(t, axis=(0, 2))),
    ("max", ("T",), lambda xp, t: xp.max(t), np.max),
    (
        "max_axis",
        ("T",),
        lambda xp, t: xp.max(t, axis=1, keepdims=True),
        lambda t: np.max(t, axis=1, keepdims=True),
    ),
    ("min", ("T",), lambda xp, t: xp.min(t), np.min),
    ("min_axis", ("M",), lambda xp, m: xp.min(m, axis=0), lambda m: np.min(m, axis=0)),
    ("argmax", ("T",), lambda xp, t: xp.argmax(t), np.argmax),
    ("argmax_axis", ("M",), lambda xp, m: xp.argmax(m, axis=1), lambda m: np.argmax(m, axis=1)),
    ("argmin", ("T",), lambda xp, t: xp.argmin(t), np.argmin),
    ("argmin_axis", ("M",), lambda xp, m: xp.argmin(m, axis=0), lambda m: np.argmin(m, axis=0)),
    ("cumsum", ("M",), lambda xp, m: xp.cumsum(m, axis=1), lambda m: np.cumsum(m, axis=1)),
    ("cumsum_flat", ("M",), lambda xp, m: xp.cumsum(m), np.cumsum),
    ("cumprod", ("M",), lambda xp, m: xp.cumprod(m, axis=0), lambda m: np.cumprod(m, axis=0)),
    ("cumprod_flat", ("v",), lambda xp, v: xp.cumprod(v), np.cumprod),
    ("logsumexp", ("T",), lambda xp, t: xp.logsumexp(t), _lse),
    ("logsumexp_axis", ("T",), lambda xp, t: xp.logsumexp(t, axis=2), lambda t: _lse(t, axis=2)),
    ("logsumexp_large", ("v",), lambda xp, v: xp.logsumexp(v * 1000.0), lambda v: _lse(v * 1000.0)),
    ("reshape", ("T",), lambda xp, t: xp.reshape(t, (4, -1)), lambda t: np.reshape(t, (4, -1))),
    (
        "stack",
        ("v", "w"),
        lambda xp, a, b: xp.stack([a, b], axis=1),
        lambda a, b: np.stack([a, b], axis=1),
    ),
    (
        "concat",
        ("M", "M"),
        lambda xp, a, b: xp.concat([a, b], axis=1),
        lambda a, b: np.concatenate([a, b], axis=1),
    ),
    ("transpose", ("M",), lambda xp, m: xp.transpose(m), np.transpose),
    (
        "transpose_axes",
        ("T",),
        lambda xp, t: xp.transpose(t, (1, 2, 0)),
        lambda t: np.transpose(t, (1, 2, 0)),
    ),
    ("expand_dims", ("M",), lambda xp, m: xp.expand_dims(m, 1), lambda m: np.expand_dims(m, 1)),
    ("matmul", ("M", "P"), lambda xp, a, b: xp.matmul(a, b), np.matmul),
    ("matmul_vec", ("M",), lambda xp, m: xp.matmul(m, m[0]), lambda m: m @ m[0]),
    ("matmul_vec_left", ("M",), lambda xp, m: xp.matmul(m[0], m), lambda m: m[0] @ m),
    ("matmul_dot", ("v", "w"), lambda xp, a, b: xp.matmul(a, b), np.matmul),
    ("outer", ("v", "w"), lambda xp, a, b: xp.outer(a, b), np.outer),
    (
        "tensordot",
        ("T", "M"),
        lambda xp, t, m: xp.tensordot(m, t, axes=([1], [1])),
        lambda t, m: np.tensordot(m, t, axes=([1], [1])),
    ),
    (
        "tensordot_int",
        ("M", "P"),
        lambda xp, a, b: xp.tensordot(a, b, axes=1),
        lambda a, b: np.tensordot(a, b, axes=1),
    ),
    (
        "einsum",
        ("T", "M"),
        lambda xp, t, m: xp.einsum("ijk,jl->ilk", t, m),
        lambda t, m: np.einsum("ijk,jl->ilk", t, m),
    ),
    ("trace", ("M",), lambda xp, m: xp.trace(m), np.trace),
    ("take", ("v",), lambda xp, v: xp.take(v, [3, 0, 0, -1]), lambda v: np.take(v, [3, 0, 0, -1])),
    (
        "take_axis",
        ("T",),
        lambda xp, t: xp.take(t, [[2, 0], [1, 1]], axis=1),
        lambda t: np.take(t, [[2, 0], [1, 1]], axis=1),
    ),
    (
        "take_argmax",
        ("M",),
        lambda xp, m: xp.take(m, xp.argmax(m, axis=1), axis=1),
        lambda m: np.take(m, np.argmax(m, axis=1), axis=1),
    ),
    ("roll", ("v",), lambda xp, v: xp.roll(v, 1), lambda v: np.roll(v, 1)),
    ("roll_axis", ("M",), lambda xp, m: xp.roll(m, -1, axis=0), lambda m: np.roll(m, -1, axis=0)),
    ("roll_flat", ("M",), lambda xp, m: xp.roll(m, 2), lambda m: np.roll(m, 2)),
    ("eye", (), lambda xp: xp.eye(3), lambda: np.eye(3)),
    ("zeros", (), lambda xp: xp.zeros((2, 3)), lambda: np.zeros((2, 3))),
    ("ones", (), lambda xp: xp.ones(4), lambda: np.ones(4)),
    ("full", (), lambda xp: xp.full((2, 2), 0.25), lambda: np.full((2, 2), 0.25)),
    ("zeros_like", ("M",), lambda xp, m: xp.zeros_like(m), np.zeros_like),
    ("ones_like", ("M",), lambda xp, m: xp.ones_like(m), np.ones_like),
    ("det", ("P",), lambda xp, p: xp.linalg.det(p), np.linalg.det),
    ("slogdet", ("S",), lambda xp, s: xp.linalg.slogdet(s), lambda s: tuple(np.linalg.slogdet(s))),
    ("inv", ("P",), lambda xp, p: xp.linalg.inv(p), np.linalg.inv),
    (
        "solve_vec",
        ("P", "M"),
        lambda xp, p, m: xp.linalg.solve(p, m[0]),
        lambda p, m: np.linalg.solve(p, m[0]),
    ),
    ("solve_mat", ("P", "M"), lambda xp, p, m: xp.linalg.solve(p, m), np.linalg.solve),
    ("cholesky", ("P",), lambda xp, p: xp.linalg.cholesky(p), np.linalg.cholesky),
    ("norm", ("T",), lambda xp, t: xp.linalg.norm(t), np.linalg.norm),
    (
        "norm_axis",
        ("M",),
        lambda xp, m: xp.linalg.norm(m, axis=1),
        lambda m: np.linalg.norm(m, axis=1),
    ),
    ("norm_1", ("v",), lambda xp, v: xp.linalg.norm(v, 1), lambda v: np.linalg.norm(v, 1)),
    (
        "norm_inf",
        ("v",),
        lambda xp, v: xp.linalg.norm(v, math.inf),
        lambda v: np.linalg.norm(v, math.inf),
    ),
    (
        "norm_3",
        ("M",),
        lambda xp, m: xp.linalg.norm(m, 3, axis=0),
        lambda m: np.linalg.norm(m, 3, axis=0),
    ),
    (
        "indexing",
        ("T",),
        lambda xp, t: t[1, :, 2:] * 2.0 - t[0, :, ::2],
        lambda t: t[1, :, 2:] * 2.0 - t[0, :, ::2],
    ),
    (
        "operators",
        ("v", "w"),
        lambda xp, a, b: (-a + 1.0) * (2.0 - b) / (a * a + 1.0) ** 1.5,
        lambda a, b: (-a + 1.0) * (2.0 - b) / (a * a + 1.0) ** 1.5,
    ),
]


def _check(backend: Backend, got: Any, expected: Any) -> None:
    """``got`` (a backend array, or a tuple of them) against NumPy's value and dtype."""
    if isinstance(expected, tuple):
        assert isinstance(got, tuple) and len(got) == len(expected)
        for g, e in zip(got, expected, strict=True):
            _check(backend, g, e)
        return
    expected = np.asarray(expected)
    value = np.asarray(backend.to_numpy(got) if backend.name != "finite" else got)
    assert value.shape == expected.shape
    if expected.dtype.kind in "iu":
        assert value.dtype.kind in "iu", value.dtype
        np.testing.assert_array_equal(value, expected)
        return
    dtype = run_dtype(backend)
    assert value.dtype == dtype
    tol = 1e-12 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(value, expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_every_function_equals_numpy(spec: BackendSpec, dtype: str) -> None:
    backend = loaded(spec, dtype)
    failures = []
    for case, names, call, reference in CASES:
        arrays = [INPUTS[n].astype(dtype) for n in names]
        expected = reference(*[a.astype(run_dtype(backend)) for a in arrays])
        if not isinstance(expected, tuple):
            expected = np.asarray(expected)
            if expected.dtype.kind == "f":
                expected = expected.astype(run_dtype(backend))
        try:
            _check(backend, call(backend.xp, *[backend.asarray(a) for a in arrays]), expected)
        except Exception as exc:  # collect every failing function, not just the first
            failures.append(f"{case}: {type(exc).__name__}: {exc}".splitlines()[0])
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_python_scalars_become_the_run_dtype(spec: BackendSpec, dtype: str) -> None:
    backend = loaded(spec, dtype)
    xp = backend.xp
    x = backend.asarray(np.array([-1.5, 0.5, 2.0], dtype=dtype))
    cases = [
        (xp.sqrt(2.0), math.sqrt(2.0)),
        (xp.exp(1), math.e),
        (xp.maximum(x, 0.0), [0.0, 0.5, 2.0]),
        (xp.minimum(1, x), [-1.5, 0.5, 1.0]),
        (xp.where(x > 0, x, 0.0), [0.0, 0.5, 2.0]),
        (xp.where(x > 0, 1.0, -1.0), [-1.0, 1.0, 1.0]),
        (xp.clip(x, 0, 1.0), [0.0, 0.5, 1.0]),
        (xp.logaddexp(0.0, x), np.logaddexp(0.0, [-1.5, 0.5, 2.0])),
        (xp.stack([x[0], 1.0]), [-1.5, 1.0]),
        (xp.full((2,), 1.5), [1.5, 1.5]),
        (xp.zeros_like(3.0), 0.0),
        (2.0 * x - 1, [-4.0, 0.0, 3.0]),
        (1.0 / (x + 2), [2.0, 0.4, 0.25]),
    ]
    for got, expected in cases:
        value = np.asarray(backend.to_numpy(got) if backend.name != "finite" else got)
        assert value.dtype == run_dtype(backend)
        np.testing.assert_allclose(value, expected, rtol=1e-6)


# ---- differentiable twice --------------------------------------------------------------------

#: x for the Hessians: away from every kink and tie of the functions below.
X2 = np.array([0.35, -0.75, 1.1, 0.55])
_K = np.array([[0.5, -0.3], [0.2, 0.8]])
_P = np.array(
    [[2.0, 0.3, 0.1, 0.0], [0.3, 1.5, 0.2, 0.1], [0.1, 0.2, 1.8, 0.3], [0.0, 0.1, 0.3, 2.2]]
)

POINT = Point.of(X2, "x", P=_P, K=_K)

#: One smooth scalar function of x ∈ R⁴ per contract function, exercising its derivative.
SECOND_ORDER: dict[str, Callable[[Any, Any, Any], Any]] = {
    "abs": lambda xp, x, p: xp.sum(xp.abs(x) ** 3),
    "sign": lambda xp, x, p: xp.sum(xp.sign(x) * x**3),
    "exp": lambda xp, x, p: xp.sum(xp.exp(x * x)),
    "expm1": lambda xp, x, p: xp.sum(xp.expm1(x) * x),
    "log": lambda xp, x, p: xp.sum(xp.log(x * x + 1.0)),
    "log1p": lambda xp, x, p: xp.sum(xp.log1p(x * x)),
    "sqrt": lambda xp, x, p: xp.sum(xp.sqrt(x * x + 1.0)),
    "square": lambda xp, x, p: xp.sum(xp.square(x) * x),
    "sin": lambda xp, x, p: xp.sum(xp.sin(x * x)),
    "cos": lambda xp, x, p: xp.sum(xp.cos(x) * x),
    "tan": lambda xp, x, p: xp.sum(xp.tan(0.5 * x) * x),
    "tanh": lambda xp, x, p: xp.sum(xp.tanh(x) * x),
    "sinh": lambda xp, x, p: xp.sum(xp.sinh(x) * x),
    "cosh": lambda xp, x, p: xp.sum(xp.cosh(x) * x),
    "logaddexp": lambda xp, x, p: xp.sum(xp.logaddexp(x, x * x)),
    "maximum": lambda xp, x, p: xp.sum(xp.maximum(x, 0.2) ** 3),
    "minimum": lambda xp, x, p: xp.sum(xp.minimum(x, 0.2) ** 3),
    "where": lambda xp, x, p: xp.sum(xp.where(x > 0, x**3, x * x)),
    "clip": lambda xp, x, p: xp.sum(xp.clip(x, -0.5, 0.8) ** 3),
    "sum": lambda xp, x, p: xp.sum(x * x, axis=0) ** 2,
    "mean": lambda xp, x, p: xp.mean(xp.reshape(x, (2, 2)) ** 3, axis=1)[0] ** 2,
    "prod": lambda xp, x, p: xp.prod(x + 2.0),
    "max": lambda xp, x, p: xp.sum(xp.max(xp.reshape(x, (2, 2)), axis=1) ** 3),
    "min": lambda xp, x, p: xp.min(x) ** 3,
    "argmax": lambda xp, x, p: xp.take(x, xp.argmax(x)) ** 3,
    "argmin": lambda xp, x, p: xp.take(x, xp.argmin(x)) ** 3,
    "cumsum": lambda xp, x, p: xp.sum(xp.cumsum(x) ** 3),
    "cumprod": lambda xp, x, p: xp.sum(xp.cumprod(x + 2.0)),
    "logsumexp": lambda xp, x, p: xp.logsumexp(x * x),
    "reshape": lambda xp, x, p: xp.sum(xp.reshape(x, (2, 2)) ** 3 * p["K"]),
    "stack": lambda xp, x, p: xp.sum(xp.stack([x, x * x], axis=1) ** 2),
    "concat": lambda xp, x, p: xp.sum(xp.concat([x, x * x]) ** 2),
    "transpose": lambda xp, x, p: xp.sum(
        xp.reshape(x, (2, 2)) * xp.transpose(xp.reshape(x * x, (2, 2)))
    ),
    "expand_dims": lambda xp, x, p: xp.sum(xp.expand_dims(x, 1) * xp.expand_dims(x * x, 0)),
    "matmul": lambda xp, x, p: xp.matmul(x, xp.matmul(p["P"], x)) * xp.sum(x),
    "outer": lambda xp, x, p: xp.sum(xp.outer(x, x * x) * p["P"]),
    "tensordot": lambda xp, x, p: xp.tensordot(xp.outer(x, x), p["P"], axes=2) ** 2,
    "einsum": lambda xp, x, p: xp.einsum("i,ij,j->", x * x, p["P"], x),
    "trace": lambda xp, x, p: xp.trace(xp.outer(x, x * x)),
    "take": lambda xp, x, p: xp.sum(xp.take(x, [0, 2, 2, -1]) ** 3),
    "roll": lambda xp, x, p: xp.sum(x * xp.roll(x, 1) ** 2),
    "eye": lambda xp, x, p: xp.sum(xp.matmul(xp.eye(4), x) ** 3),
    "zeros": lambda xp, x, p: xp.sum((x + xp.zeros(4)) ** 3),
    "ones": lambda xp, x, p: xp.sum(xp.ones((4,)) * x**3),
    "zeros_like": lambda xp, x, p: xp.sum((x + xp.zeros_like(x)) ** 3),
    "ones_like": lambda xp, x, p: xp.sum(xp.ones_like(x) * x**3),
    "full": lambda xp, x, p: xp.sum(xp.full((4,), 0.5) * x**3),
    "linalg.det": lambda xp, x, p: xp.linalg.det(p["P"] + xp.outer(x, x)),
    "linalg.slogdet": lambda xp, x, p: xp.linalg.slogdet(p["P"] + xp.outer(x, x))[1],
    "linalg.inv": lambda xp, x, p: xp.trace(xp.linalg.inv(p["P"] + xp.outer(x, x))),
    "linalg.solve": lambda xp, x, p: xp.sum(xp.linalg.solve(p["P"] + xp.outer(x, x), x) ** 2),
    "linalg.cholesky": lambda xp, x, p: xp.sum(xp.linalg.cholesky(p["P"] + xp.outer(x, x)) ** 3),
    "linalg.norm": lambda xp, x, p: xp.linalg.norm(x) ** 3 + xp.linalg.norm(x, 3),
}


def test_second_order_cases_cover_the_contract() -> None:
    assert set(SECOND_ORDER) == {n for n in NAMES if n != "linalg"} | {
        f"linalg.{n}" for n in LINALG
    }


def _hessian_target(name: str) -> Target:
    g = SECOND_ORDER[name]
    return Target(
        name="contract_" + name.replace(".", "_"),
        formula=name,
        f=g,
        closed_forms={"grad": lambda xp, x, p: x},
        sample=lambda rng, n: POINT,
    )


TARGETS = {name: _hessian_target(name) for name in SECOND_ORDER}
_REFERENCE: dict[str, np.ndarray] = {}


def reference_hessian(name: str) -> np.ndarray:
    """The finite-difference Hessian (float64, Richardson-extrapolated), computed once."""
    if name not in _REFERENCE:
        finite = all_backends()["finite"]()
        _REFERENCE[name] = finite.evaluate(TARGETS[name], "hessian", POINT)
    return _REFERENCE[name]


AD_SPECS = [p for p in SPECS if all_backends()[p.values[0].name].is_autodiff]


#: What a compiling mode cannot compile, by backend label: reported as ``unsupported``
#: (QuantityUnsupported, naming the operation), never as a wrong value or a crash.
CANNOT_COMPILE = {"tensorflow:xla": {"linalg.det", "linalg.slogdet"}}


@pytest.mark.parametrize("spec", AD_SPECS)
def test_every_function_is_differentiable_twice(spec: BackendSpec) -> None:
    backend = loaded(spec)
    failures = []
    for name, target in TARGETS.items():
        if name in CANNOT_COMPILE.get(spec.label, set()):
            with pytest.raises(QuantityUnsupported, match="XLA cannot compile"):
                backend.evaluate(target, "hessian", POINT)
            continue
        try:
            got = backend.evaluate(target, "hessian", POINT)
            np.testing.assert_allclose(got, reference_hessian(name), rtol=1e-6, atol=1e-6)
        except Exception as exc:
            failures.append(f"{name}: {type(exc).__name__}: {exc}".splitlines()[0])
    assert not failures, "\n".join(failures)
