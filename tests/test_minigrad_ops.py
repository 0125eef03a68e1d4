"""Every minigrad operation's derivative rules against central finite differences.

Each case checks, on hypothesis-generated shapes (broadcasting included) and values:
the first derivative from ``backward()``, the same gradient from the differentiable
(``create_graph=True``) pass, and that pass's own derivative (a Hessian-vector product)
against finite differences of the first derivative. The last check is what proves that
the rules also work when they run on Tensors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays, mutually_broadcastable_shapes

from autodiff_bench.minigrad import Tensor, vjp, xp

# Per test, not a global profile: other test modules keep their own hypothesis settings.
FEW_EXAMPLES = settings(max_examples=25, deadline=None)

ANY = st.floats(-2.0, 2.0)
POSITIVE = st.floats(0.5, 2.0)
SHAPES = array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)
NONSCALAR_SHAPES = array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)
STEP = 1e-5


def numeric_gradient(f: Callable[[np.ndarray], float], x: np.ndarray) -> np.ndarray:
    """Central differences of scalar ``f`` at ``x``, one element at a time."""
    gradient = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = STEP
        gradient[index] = (f(x + step) - f(x - step)) / (2 * STEP)
    return gradient


def weights_like(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Fixed random weights: the seed gradient, so that no rule gets away with all-ones."""
    return np.random.default_rng(seed).uniform(0.5, 1.5, size=shape)


def check_gradients(fn: Callable[..., Any], *inputs: np.ndarray) -> None:
    """Assert fn's first and second derivatives w.r.t. every input match finite differences."""
    inputs = tuple(np.asarray(a, dtype=np.float64) for a in inputs)
    out_shape = fn(*(Tensor(a) for a in inputs)).shape
    w = weights_like(out_shape, 1)

    def loss(*arrays: Any) -> Tensor:
        return (fn(*arrays) * w).sum()

    def first_order(*arrays: np.ndarray) -> list[np.ndarray]:
        leaves = [Tensor(a, requires_grad=True) for a in arrays]
        loss(*leaves).backward()
        return [
            np.zeros_like(a) if t.grad is None else t.grad
            for t, a in zip(leaves, arrays, strict=True)
        ]

    expected = []
    for i in range(len(inputs)):

        def loss_of_input(v: np.ndarray, i: int = i) -> float:
            arrays = list(inputs)
            arrays[i] = v
            return float(loss(*(Tensor(a) for a in arrays)).data)

        expected.append(numeric_gradient(loss_of_input, inputs[i]))
    for got, want in zip(first_order(*inputs), expected, strict=True):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)

    # Second order: differentiate <grad, v> through the graph that create_graph=True records.
    leaves = [Tensor(a, requires_grad=True) for a in inputs]
    output = loss(*leaves)
    grads = [vjp(output, leaf, create_graph=True) for leaf in leaves]
    for g, want in zip(grads, expected, strict=True):
        np.testing.assert_allclose(g.data, want, rtol=1e-5, atol=1e-6)
    directions = [weights_like(a.shape, 2 + i) for i, a in enumerate(inputs)]
    directional = sum((g * v).sum() for g, v in zip(grads, directions, strict=True))
    for j in range(len(inputs)):

        def directional_of_input(u: np.ndarray, j: int = j) -> float:
            arrays = list(inputs)
            arrays[j] = u
            return float(
                sum((g * v).sum() for g, v in zip(first_order(*arrays), directions, strict=True))
            )

        got = vjp(directional, leaves[j]).data
        np.testing.assert_allclose(
            got, numeric_gradient(directional_of_input, inputs[j]), rtol=1e-5, atol=1e-6
        )


UNARY: dict[str, tuple[Callable[[Tensor], Tensor], st.SearchStrategy[float]]] = {
    "neg": (lambda x: -x, ANY),
    "exp": (Tensor.exp, ANY),
    "log": (Tensor.log, POSITIVE),
    "log1p": (Tensor.log1p, POSITIVE),
    "sqrt": (Tensor.sqrt, POSITIVE),
    "sin": (Tensor.sin, ANY),
    "cos": (Tensor.cos, ANY),
    "tanh": (Tensor.tanh, ANY),
    "sigmoid": (Tensor.sigmoid, ANY),
    "softplus": (Tensor.softplus, ANY),
    "square": (lambda x: x**2, ANY),
    "cube": (lambda x: x**3, ANY),
    "power_0": (lambda x: x**0, ANY),
    "power_-1": (lambda x: x**-1, POSITIVE),
    "power_1.5": (lambda x: x**1.5, POSITIVE),
    "power_numpy_scalar": (lambda x: x ** np.float64(2.5), POSITIVE),
    "number_plus": (lambda x: 1.5 + x, ANY),
    "number_minus": (lambda x: 2.0 - x, ANY),
    "number_times": (lambda x: 3 * x, ANY),
    "number_over": (lambda x: 3.0 / x, POSITIVE),
    "number_power": (lambda x: 2.0**x, ANY),
    "sum": (Tensor.sum, ANY),
    "mean": (Tensor.mean, ANY),
    "T": (lambda x: x.T, ANY),
    "numpy_ufuncs": (lambda x: np.sin(x) * np.exp(x) + np.tanh(x) ** 2, ANY),
    "xp_functions": (lambda x: xp.logaddexp(0.0, x) + xp.sqrt(xp.exp(x)) + xp.log1p(x * x), ANY),
}


@pytest.mark.parametrize("name", list(UNARY))
@FEW_EXAMPLES
@given(data=st.data())
def test_unary_rule_matches_finite_differences(name: str, data: st.DataObject) -> None:
    fn, elements = UNARY[name]
    check_gradients(fn, data.draw(arrays(np.float64, SHAPES, elements=elements)))


BINARY: dict[str, tuple[Callable[[Any, Any], Any], st.SearchStrategy[float], st.SearchStrategy]] = {
    "add": (lambda a, b: a + b, ANY, ANY),
    "sub": (lambda a, b: a - b, ANY, ANY),
    "mul": (lambda a, b: a * b, ANY, ANY),
    "div": (lambda a, b: a / b, ANY, POSITIVE),
    "pow": (lambda a, b: a**b, POSITIVE, ANY),
    "logaddexp": (lambda a, b: a.logaddexp(b), ANY, ANY),
    "shared_input": (lambda a, b: a * b + a / (1 + b * b) - a * a, ANY, ANY),
}


@pytest.mark.parametrize("name", list(BINARY))
@FEW_EXAMPLES
@given(data=st.data(), shapes=mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3))
def test_binary_rule_with_broadcasting(name: str, data: st.DataObject, shapes: Any) -> None:
    fn, left, right = BINARY[name]
    a = data.draw(arrays(np.float64, shapes.input_shapes[0], elements=left))
    b = data.draw(arrays(np.float64, shapes.input_shapes[1], elements=right))
    check_gradients(fn, a, b)


@FEW_EXAMPLES
@given(data=st.data(), shapes=mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3))
def test_ndarray_on_the_left_is_a_constant(data: st.DataObject, shapes: Any) -> None:
    # ndarray * Tensor goes through Tensor.__array_ufunc__, not ndarray's elementwise loop.
    c = data.draw(arrays(np.float64, shapes.input_shapes[0], elements=ANY))
    x = data.draw(arrays(np.float64, shapes.input_shapes[1], elements=POSITIVE))
    check_gradients(lambda t: c * t + c / t - c**2 * t, x)


@FEW_EXAMPLES
@given(data=st.data(), m=st.integers(1, 3), k=st.integers(1, 3), n=st.integers(1, 3))
@pytest.mark.parametrize("kind", ["matrix@matrix", "matrix@vector", "vector@matrix", "dot"])
def test_matmul_rules(kind: str, data: st.DataObject, m: int, k: int, n: int) -> None:
    left = {"matrix@matrix": (m, k), "matrix@vector": (m, k), "vector@matrix": (k,), "dot": (k,)}
    right = {"matrix@matrix": (k, n), "matrix@vector": (k,), "vector@matrix": (k, n), "dot": (k,)}
    a = data.draw(arrays(np.float64, left[kind], elements=ANY))
    b = data.draw(arrays(np.float64, right[kind], elements=ANY))
    check_gradients(lambda x, y: x @ y, a, b)
    check_gradients(lambda x, y: xp.matmul(x, y) * xp.matmul(x, y), a, b)
    constant = np.ones(left[kind])
    check_gradients(lambda y: constant @ y, b)  # ndarray @ Tensor


@FEW_EXAMPLES
@given(data=st.data(), keepdims=st.booleans())
def test_sum_and_mean_over_axes(data: st.DataObject, keepdims: bool) -> None:
    x = data.draw(arrays(np.float64, NONSCALAR_SHAPES, elements=ANY))
    axes = data.draw(st.lists(st.integers(-x.ndim, x.ndim - 1), min_size=1, max_size=x.ndim))
    axis = tuple(sorted({a % x.ndim for a in axes}))
    single = data.draw(st.integers(-x.ndim, x.ndim - 1))
    check_gradients(lambda t: t.sum(axis=axis, keepdims=keepdims) ** 2, x)
    check_gradients(lambda t: t.mean(axis=single, keepdims=keepdims) ** 2, x)
    check_gradients(lambda t: xp.sum(xp.sum(t * t, axis=single)) * xp.mean(t, axis=axis), x)


@FEW_EXAMPLES
@given(data=st.data())
def test_shape_operations(data: st.DataObject) -> None:
    x = data.draw(arrays(np.float64, SHAPES, elements=ANY))
    order = tuple(data.draw(st.permutations(range(x.ndim))))
    check_gradients(lambda t: t.reshape(-1) * t.reshape(x.shape[::-1]).reshape(-1), x)
    check_gradients(lambda t: t.transpose(order) ** 2, x)
    check_gradients(lambda t: xp.transpose(t) ** 2, x)
    check_gradients(lambda t: t.broadcast_to((2, *x.shape)) ** 2, x)


@FEW_EXAMPLES
@given(data=st.data())
def test_indexing_scatters_gradients_back(data: st.DataObject) -> None:
    x = data.draw(arrays(np.float64, NONSCALAR_SHAPES, elements=ANY))
    check_gradients(lambda t: t[0] ** 2, x)
    check_gradients(lambda t: t[::-1] * t, x)
    check_gradients(lambda t: t[..., -1:] ** 3, x)
    repeated = np.array([0, 0, -1, 0])  # a repeated index must collect every use's share
    check_gradients(lambda t: t[repeated] ** 2, x)


@FEW_EXAMPLES
@given(data=st.data(), m=st.integers(1, 3), n=st.integers(1, 3))
def test_trace_rule(data: st.DataObject, m: int, n: int) -> None:
    x = data.draw(arrays(np.float64, (m, n), elements=ANY))
    check_gradients(lambda t: t.trace() ** 2, x)
    check_gradients(lambda t: xp.trace(t @ t.T) * xp.trace(t.T), x)


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_ops_keep_float32(name: str) -> None:
    fn, _ = UNARY[name]
    x = Tensor(np.array([[0.75, 1.25]], dtype=np.float32), requires_grad=True)
    y = fn(x)
    assert y.dtype == np.float32
    (y * np.float32(2)).sum().backward(create_graph=True)
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_ops_keep_float32(name: str) -> None:
    fn, _, _ = BINARY[name]
    a = Tensor(np.array([[0.75], [1.5]], dtype=np.float32), requires_grad=True)
    b = Tensor(np.array([0.5, 1.25, 1.0], dtype=np.float32), requires_grad=True)
    y = fn(a, b)
    assert y.dtype == np.float32
    y.sum().backward()
    assert a.grad.dtype == np.float32
    assert b.grad.dtype == np.float32
