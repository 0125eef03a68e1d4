"""minigrad's xp implements the whole xp contract, differentiable to every order.

Each case is written once against a namespace and run twice: on minigrad's ``xp`` and on
JAX in float64 (the reference).  Values, gradients and Hessians must agree; points keep
away from ties and kinks, whose conventions (HIPS autograd's) are checked by closed forms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from autodiff_bench import minigrad
from autodiff_bench.backends.minigrad_backend import MinigradBackend
from autodiff_bench.minigrad import Tensor, grad, hessian, ops, xp
from autodiff_bench.xp_contract import LINALG, NAMES, OutsideContract, outside_contract

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy


class JaxXp:
    """jax.numpy under the contract's names (the reference side of each case)."""

    linalg = jnp.linalg

    def __getattr__(self, name: str) -> Any:
        return getattr(jnp, name)

    @staticmethod
    def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return jax.scipy.special.logsumexp(x, axis=axis, keepdims=keepdims)


JXP = JaxXp()
RNG = np.random.default_rng(0)
V3 = np.array([0.3, -1.2, 0.8])
V4 = np.array([0.5, -0.7, 1.3, -0.2])
M23 = RNG.uniform(-1, 1, (2, 3))
M33 = np.array([[1.5, 0.2, -0.3], [0.1, 1.2, 0.4], [-0.2, 0.3, 0.9]])
W23 = RNG.uniform(0.5, 1.5, (2, 3))
W33 = RNG.uniform(0.5, 1.5, (3, 3))
B3 = np.array([1.0, -2.0, 0.5])
IDX = np.array([2, 0, 2, 1])

Case = tuple[Callable[[Any, Any], Any], np.ndarray]

#: name -> (f(xp, x) with a scalar value, a point x away from ties and kinks).
CASES: dict[str, Case] = {
    "abs": (lambda xp, x: xp.sum(xp.abs(x) * x), V3),
    "sign": (lambda xp, x: xp.sum(xp.sign(x) * x * x), V3),
    "exp": (lambda xp, x: xp.sum(xp.exp(x)), V3),
    "expm1": (lambda xp, x: xp.sum(xp.expm1(x) * x), V3),
    "log": (lambda xp, x: xp.sum(xp.log(x * x + 0.5)), V3),
    "log1p": (lambda xp, x: xp.sum(xp.log1p(x * x)), V3),
    "sqrt": (lambda xp, x: xp.sum(xp.sqrt(x * x + 1.0)), V3),
    "square": (lambda xp, x: xp.sum(xp.square(x) * x), V3),
    "sin": (lambda xp, x: xp.sum(xp.sin(x)), V3),
    "cos": (lambda xp, x: xp.sum(xp.cos(x)), V3),
    "tan": (lambda xp, x: xp.sum(xp.tan(x)), V3),
    "tanh": (lambda xp, x: xp.sum(xp.tanh(x)), V3),
    "sinh": (lambda xp, x: xp.sum(xp.sinh(x)), V3),
    "cosh": (lambda xp, x: xp.sum(xp.cosh(x)), V3),
    "logaddexp": (lambda xp, x: xp.sum(xp.logaddexp(x, 2.0 * x[::-1])), V3),
    "maximum": (lambda xp, x: xp.sum(xp.maximum(x, 0.1) ** 2 + xp.maximum(x, x[::-1]) * x), V3),
    "minimum": (lambda xp, x: xp.sum(xp.minimum(x, 0.1) ** 2 + xp.minimum(0.5, x) * x), V3),
    "where": (lambda xp, x: xp.sum(xp.where(x > 0, x**3, 2.0 * x)), V3),
    "clip": (lambda xp, x: xp.sum(xp.clip(x, -1.0, 0.5) ** 3 + xp.clip(x, None, 0.0) * x), V3),
    "sum": (lambda xp, x: xp.sum(xp.sum(x, axis=0) ** 2) + xp.sum(x * x, axis=(0, 1)), M23),
    "mean": (lambda xp, x: xp.sum(xp.mean(x, axis=1) ** 3) + xp.mean(x) ** 2, M23),
    "prod": (lambda xp, x: xp.sum(xp.prod(x, axis=1)) + xp.prod(x) + xp.sum(xp.prod(x, 0)), M23),
    "max": (lambda xp, x: xp.sum(xp.max(x, axis=0) ** 2) + xp.max(x) * xp.min(x), M23),
    "min": (lambda xp, x: xp.sum(xp.min(x, axis=1, keepdims=True) * x), M23),
    "cumsum": (lambda xp, x: xp.sum(xp.cumsum(x, axis=1) ** 2) + xp.sum(xp.cumsum(x) ** 3), M23),
    "cumprod": (lambda xp, x: xp.sum(xp.cumprod(x, axis=1) * W23) + xp.sum(xp.cumprod(x)), M23),
    "logsumexp": (lambda xp, x: xp.logsumexp(x) + xp.sum(xp.logsumexp(3.0 * x, axis=0) ** 2), M23),
    "reshape": (lambda xp, x: xp.sum(xp.reshape(x, (3, 2)) ** 2 * W23.reshape(3, 2)), M23),
    "stack": (
        lambda xp, x: xp.sum(xp.stack([x, x * x], axis=1) ** 2 * xp.stack([W23] * 2, 1)),
        M23,
    ),
    "concat": (lambda xp, x: xp.sum(xp.concat([x, x**2], axis=1) ** 2 * W33[:2].sum()), M23),
    "transpose": (lambda xp, x: xp.sum(xp.transpose(x) ** 3 * W23.T), M23),
    "expand_dims": (lambda xp, x: xp.sum(xp.expand_dims(x, 1) * xp.expand_dims(x, 0)), V3),
    "indexing": (lambda xp, x: x[0, 1] * x[1, 2] + xp.sum(x[:, 1:3] ** 2) + xp.sum(x[1] ** 3), M23),
    "matmul": (lambda xp, x: xp.sum(xp.matmul(x, x.T) ** 2) + xp.sum(x @ B3), M23),
    "matmul_batched": (
        lambda xp, x: xp.sum(xp.matmul(xp.stack([x, 2.0 * x]), xp.transpose(x)) ** 2),
        M23,
    ),
    "outer": (lambda xp, x: xp.sum(xp.outer(x, x * x) * W33), V3),
    "tensordot": (
        lambda xp, x: (
            xp.sum(xp.tensordot(x, x, axes=1) ** 2)
            + xp.sum(xp.tensordot(x, W33, axes=([0, 1], [1, 0])) ** 2)
        ),
        M33,
    ),
    "einsum": (
        lambda xp, x: (
            xp.sum(xp.einsum("ij,jk->ik", x, x) * W33)
            + xp.einsum("ii->", x) ** 2
            + xp.sum(xp.einsum("ij->i", x) ** 2)
            + xp.sum(xp.einsum("ii->i", x) ** 3)
            + xp.einsum("ij,ij,j->", x, x, B3)
        ),
        M33,
    ),
    "trace": (lambda xp, x: xp.trace(x @ x) + xp.trace(x) ** 2, M33),
    "take": (
        lambda xp, x: xp.sum(xp.take(x, IDX) ** 2 * V4) + xp.sum(xp.take(x, np.array([1, 1]), 1)),
        M23,
    ),
    "roll": (
        lambda xp, x: xp.sum(xp.roll(x, 1, axis=1) * x * W23) + xp.sum(xp.roll(x, -2) * x),
        M23,
    ),
    "linalg.det": (lambda xp, x: xp.linalg.det(x) + xp.linalg.det(x @ x) ** 2, M33),
    "linalg.slogdet": (lambda xp, x: xp.linalg.slogdet(x)[1] + xp.linalg.slogdet(-x)[0], M33),
    "linalg.inv": (lambda xp, x: xp.sum(xp.linalg.inv(x) * W33), M33),
    "linalg.solve": (
        lambda xp, x: xp.sum(xp.linalg.solve(x, B3) ** 2) + xp.sum(xp.linalg.solve(x, x.T) * W33),
        M33,
    ),
    "linalg.cholesky": (
        lambda xp, x: (
            xp.sum(xp.linalg.cholesky(x @ x.T + xp.eye(3)) * W33)
            + xp.sum(xp.linalg.cholesky(x + x.T + 3.0 * xp.eye(3)) ** 2)
        ),
        M33,
    ),
    "linalg.norm": (
        lambda xp, x: (
            xp.linalg.norm(x)
            + xp.sum(xp.linalg.norm(x, axis=1) ** 3)
            + xp.linalg.norm(x[0], ord=1) * xp.linalg.norm(x[1], ord=np.inf)
            + xp.linalg.norm(x, ord=np.inf)
            + xp.linalg.norm(x[0], ord=3)
        ),
        M33,
    ),
    "linalg32": (
        lambda xp, x: (
            xp.sum(xp.linalg.cholesky(x @ x.T + xp.eye(3)))
            + xp.sum(xp.linalg.inv(x) ** 2)
            + xp.sum(xp.linalg.solve(x, x[0]) ** 2)
        ),
        M33,
    ),
    "scalars": (lambda xp, x: xp.sum(xp.exp(0.5) * x + xp.maximum(0.0, x) + xp.full(3, 2.0)), V3),
}


def test_every_contract_name_has_a_case() -> None:
    covered = {name.split("_")[0] if name.startswith("matmul") else name for name in CASES}
    wanted = set(NAMES) - {"linalg", "argmax", "argmin", "eye", "zeros", "ones", "full"}
    wanted -= {"zeros_like", "ones_like"}  # constants: their values are tested below
    assert wanted | {f"linalg.{n}" for n in LINALG} <= covered


@pytest.mark.parametrize("name", list(CASES))
def test_value_gradient_and_hessian_agree_with_jax(name: str) -> None:
    f, x = CASES[name]
    value = f(xp, Tensor(x))
    assert isinstance(value, Tensor)
    np.testing.assert_allclose(value.data, f(JXP, jnp.asarray(x)), rtol=1e-10, atol=1e-12)
    reference = jax.grad(lambda y: f(JXP, y))(jnp.asarray(x))
    np.testing.assert_allclose(grad(lambda y: f(xp, y))(x).data, reference, rtol=1e-9, atol=1e-10)
    second = jax.hessian(lambda y: f(JXP, y))(jnp.asarray(x))
    np.testing.assert_allclose(hessian(lambda y: f(xp, y))(x).data, second, rtol=1e-8, atol=1e-9)


def test_third_derivatives_of_linalg_and_scans() -> None:
    # Rules built from differentiable operations: differentiate three times.
    def f(ns: Any, t: Any) -> Any:
        m = ns.reshape(ns.concat([t, ns.cumprod(t), ns.cumsum(t)]), (3, 3)) + 2.0 * ns.eye(3)
        return ns.linalg.slogdet(m)[1] + ns.sum(ns.linalg.inv(m)) + ns.linalg.det(m)

    x = np.array([0.4, -0.3, 0.7])
    third = jax.grad(lambda s: jax.grad(lambda t: jax.grad(lambda u: f(JXP, u))(t)[0])(s)[1])
    g1 = grad(lambda t: f(xp, t), create_graph=True)
    g2 = grad(lambda s: g1(s)[0], create_graph=True)
    g3 = grad(lambda u: g2(u)[1])
    np.testing.assert_allclose(g3(x).data, third(jnp.asarray(x)), rtol=1e-8)


def test_subgradient_conventions_at_ties_and_kinks() -> None:
    # abs at 0: sign(0) = 0; maximum/minimum at a tie: half each; max over tied elements:
    # shared equally; clip at a bound: nothing to x (HIPS autograd's conventions).
    assert grad(lambda x: xp.sum(xp.abs(x)))(np.array([0.0, -2.0])).data.tolist() == [0.0, -1.0]
    assert grad(lambda x: xp.sum(xp.maximum(x, 1.0)))(np.array([1.0, 2.0])).data.tolist() == [
        0.5,
        1.0,
    ]
    assert grad(lambda x: xp.sum(xp.minimum(x, x)))(np.array([3.0])).data.tolist() == [1.0]
    got = grad(lambda x: xp.max(x))(np.array([2.0, 5.0, 5.0, 1.0])).data
    assert got.tolist() == [0.0, 0.5, 0.5, 0.0]
    got = grad(lambda x: xp.sum(xp.min(x, axis=1)))(np.array([[1.0, 1.0, 3.0], [0.0, 2.0, 4.0]]))
    assert got.data.tolist() == [[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]]
    got = grad(lambda x: xp.sum(xp.clip(x, -1.0, 1.0)))(np.array([-1.0, -0.5, 1.0, 3.0]))
    assert got.data.tolist() == [0.0, 1.0, 0.0, 0.0]
    assert grad(lambda x: xp.sum(xp.sign(x) * 3.0))(np.array([0.5, -1.0])).data.tolist() == [0, 0]


def test_clip_sends_the_gradient_to_a_tensor_bound() -> None:
    lo = Tensor(np.array([0.0, 0.0]), requires_grad=True)
    xp.sum(xp.clip(Tensor(np.array([-1.0, 0.5])), lo, 1.0) * 3.0).backward()
    assert lo.grad.tolist() == [3.0, 0.0]


def test_prod_and_cumprod_are_exact_at_zeros() -> None:
    # A rule g·prod/x would divide 0 by 0 here; the pairwise products never divide.
    x = np.array([2.0, 0.0, 3.0, 4.0, 0.5])
    assert grad(lambda t: xp.prod(t))(x).data.tolist() == [0.0, 12.0, 0.0, 0.0, 0.0]
    np.testing.assert_allclose(xp.cumprod(x).data, np.cumprod(x))
    j = minigrad.jacobian(lambda t: xp.cumprod(t))(x).data
    np.testing.assert_allclose(j, jax.jacobian(jnp.cumprod)(jnp.asarray(x)))
    assert xp.prod(np.ones((0, 2)), axis=0).data.tolist() == [1.0, 1.0]


def test_logsumexp_is_stable() -> None:
    x = np.array([1000.0, 1000.0, -np.inf])
    assert xp.logsumexp(x).item() == pytest.approx(1000.0 + np.log(2.0))
    np.testing.assert_allclose(grad(lambda t: xp.logsumexp(t))(x).data, [0.5, 0.5, 0.0])


def test_argmax_and_argmin_return_integer_indices() -> None:
    x = Tensor(np.array([[1.0, 7.0, 3.0], [9.0, 0.0, 2.0]]))
    assert xp.argmax(x).tolist() == 3
    assert xp.argmax(x, axis=1).tolist() == [1, 0]
    assert xp.argmin(x, axis=0).tolist() == [0, 1, 1]
    assert xp.argmax(x).dtype.kind == "i"
    assert xp.take(x, xp.argmax(x, axis=1), axis=1).data.tolist() == [[7.0, 1.0], [0.0, 9.0]]


def test_comparisons_give_boolean_arrays_for_where() -> None:
    x = Tensor(np.array([1.0, 2.0, 3.0]))
    assert (x < 2.0).tolist() == [True, False, False]
    assert (x <= 2).tolist() == [True, True, False]
    assert (x > x[::-1]).tolist() == [False, False, True]
    assert (x >= 2.0).tolist() == [False, True, True]
    assert (x == 2.0).tolist() == [False, True, False]
    assert (x > 2.0).tolist() == [False, False, True]  # a number on the left
    assert (x == 1.0).tolist() == [True, False, False]
    assert xp.where(x == 2.0, 0.0, x).data.tolist() == [1.0, 0.0, 3.0]
    assert len({x, x[0]}) == 2  # still hashable by identity


def test_creation_values_and_dtypes() -> None:
    assert xp.eye(2, 3, 1).data.tolist() == [[0, 1, 0], [0, 0, 1]]
    assert xp.zeros((2, 1)).data.tolist() == [[0.0], [0.0]]
    assert xp.ones(2).data.tolist() == [1.0, 1.0]
    assert xp.full((2,), 1.5).data.tolist() == [1.5, 1.5]
    x32 = Tensor(np.ones((2, 2), np.float32))
    assert xp.zeros_like(x32).dtype == np.float32 and xp.ones_like(x32).data.sum() == 4
    assert xp.zeros(2).dtype == np.float64
    with ops.default_dtype(np.float32):
        made = [xp.eye(2), xp.zeros(2), xp.ones(2), xp.full(2, 3.0), xp.exp(1.0)]
        assert all(t.dtype == np.float32 for t in made)
        assert xp.sum(xp.eye(2, dtype=np.float64)).dtype == np.float64
    assert xp.ones(1).dtype == np.float64  # restored after the block


#: The cases with no float64 constant of their own (those would promote, as in NumPy).
FLOAT32_CASES = [
    "abs",
    "sign",
    "exp",
    "expm1",
    "log",
    "log1p",
    "sqrt",
    "square",
    "sin",
    "cos",
    "tan",
    "tanh",
    "sinh",
    "cosh",
    "logaddexp",
    "maximum",
    "minimum",
    "where",
    "clip",
    "sum",
    "mean",
    "prod",
    "max",
    "min",
    "cumsum",
    "logsumexp",
    "expand_dims",
    "indexing",
    "matmul_batched",
    "trace",
    "linalg.det",
    "linalg.slogdet",
    "linalg.norm",
    "scalars",
    "linalg32",
]


@pytest.mark.parametrize("name", FLOAT32_CASES)
def test_float32_in_float32_out(name: str) -> None:
    f, x = CASES[name]
    x32 = x.astype(np.float32)
    with ops.default_dtype(np.float32):  # as the adapter runs a float32 target (xp.eye)
        assert f(xp, Tensor(x32)).dtype == np.float32
        assert grad(lambda y: f(xp, y))(x32).dtype == np.float32
        h = hessian(lambda y: f(xp, y))(x32)
    assert h.dtype == np.float32
    np.testing.assert_allclose(h.data, hessian(lambda y: f(xp, y))(x).data, rtol=2e-3, atol=2e-3)


def test_the_namespace_is_exactly_the_contract() -> None:
    assert sorted(xp.__all__) == sorted(NAMES)
    assert sorted(dir(xp)) == sorted(NAMES)
    assert sorted(dir(xp.linalg)) == sorted(LINALG)
    for name in NAMES:
        assert callable(getattr(xp, name)) or name == "linalg"


@pytest.mark.parametrize("name", ["sigmoid", "arange", "pi", "Tensor", "np"])
def test_a_name_outside_the_contract_is_the_contract_error(name: str) -> None:
    with pytest.raises(OutsideContract) as caught:
        getattr(xp, name)
    assert str(caught.value) == str(outside_contract(name, "minigrad"))
    assert not hasattr(xp, name)


def test_a_linalg_name_outside_the_contract_is_the_contract_error() -> None:
    with pytest.raises(OutsideContract) as caught:
        xp.linalg.eigh  # noqa: B018
    assert str(caught.value) == str(outside_contract("linalg.eigh", "minigrad"))
    assert str(caught.value).startswith("xp.linalg.eigh is not in adbench's xp contract")


def test_einsum_refuses_implicit_output_clearly() -> None:
    with pytest.raises(ValueError, match="explicit output subscripts"):
        xp.einsum("ij,jk", np.ones((2, 2)), np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"no '\.\.\.'"):
        xp.einsum("...i->...", np.ones((2, 2)))


def test_the_adapter_runs_targets_in_the_run_dtype() -> None:
    backend = MinigradBackend(dtype="float32")
    backend.ensure_loaded()
    f = backend.compile(lambda x: xp.sum(x * xp.eye(2)) + xp.full(2, 1.0))
    assert f(Tensor(np.ones((2, 2), np.float32))).dtype == np.float32
