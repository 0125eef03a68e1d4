"""minigrad undoes broadcasting: the gradient of an operand stretched by a binary operation is
summed back to the operand's own shape, over exactly the axes broadcasting added or stretched.

Deterministic shape pairs (prepended axes, size-1 axes in the middle and at the ends, a scalar)
for + - * /, against NumPy closed forms.  The reference never sums over axes: it adds each
output element's share into the operand element it was copied from (``np.bincount`` over the
broadcast index map), so it cannot share a wrong-axis mistake with the engine.  A weighted sum
sum(w · (a op b)) with a fixed random w makes every output element count differently, so
summing over a wrong axis changes the value, not just the shape.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from autodiff_bench import minigrad
from autodiff_bench.minigrad import Tensor

SHAPE_PAIRS = [
    ((2, 3, 4), (3, 1)),
    ((4,), (2, 3, 4)),
    ((1, 3, 1), (2, 3, 4)),
    ((2, 1, 4), (3, 1)),
    ((), (2, 3)),
    # The output's middle axis has size 1 where the operand's last does not line up with it:
    # an engine reading the output's axes without the prepended offset skips the size-5 axis.
    ((1, 1), (2, 1, 5)),
]
# Both orders: a - b and a / b are not symmetric in their operands.
CASES = SHAPE_PAIRS + [(b, a) for a, b in SHAPE_PAIRS]

Array = np.ndarray
#: op: (forward, ∂(a op b)/∂a, ∂(a op b)/∂b), the partials elementwise on broadcast operands.
OPS: dict[str, tuple[Callable, Callable, Callable]] = {
    "+": (lambda a, b: a + b, lambda a, b: np.ones_like(a * b), lambda a, b: np.ones_like(a * b)),
    "-": (lambda a, b: a - b, lambda a, b: np.ones_like(a * b), lambda a, b: -np.ones_like(a * b)),
    "*": (lambda a, b: a * b, lambda a, b: b + 0 * a, lambda a, b: a + 0 * b),
    "/": (lambda a, b: a / b, lambda a, b: 1 / b + 0 * a, lambda a, b: -a / (b * b)),
}


def sum_to_shape(g: Array, shape: tuple[int, ...]) -> Array:
    """Each element of an operand of ``shape`` receives the sum of ``g`` over the output
    positions broadcasting copied it to (index bookkeeping, no axis arithmetic)."""
    source = np.broadcast_to(np.arange(int(np.prod(shape))).reshape(shape), g.shape)
    sums = np.bincount(source.ravel(), weights=g.ravel(), minlength=int(np.prod(shape)))
    return sums.reshape(shape)


def operands(a_shape: tuple[int, ...], b_shape: tuple[int, ...]) -> tuple[Array, Array, Array]:
    """Fixed values: a, b (|b| in [0.5, 2], safe to divide by) and the weights w."""
    rng = np.random.default_rng(sum(a_shape) * 31 + sum(b_shape) * 7 + len(a_shape))
    a = rng.standard_normal(a_shape)
    b = rng.uniform(0.5, 2.0, b_shape) * rng.choice([-1.0, 1.0], b_shape)
    out_shape = np.broadcast_shapes(a_shape, b_shape)
    w = rng.uniform(0.5, 3.0, out_shape)  # distinct weights: every position counts differently
    return np.asarray(a), np.asarray(b), w


def expected(op: str, a: Array, b: Array, w: Array) -> tuple[Array, Array]:
    _, da, db = OPS[op]
    return sum_to_shape(w * da(a, b), a.shape), sum_to_shape(w * db(a, b), b.shape)


@pytest.mark.parametrize("weighted", [False, True], ids=["sum", "weighted"])
@pytest.mark.parametrize("op", list(OPS))
@pytest.mark.parametrize(("a_shape", "b_shape"), CASES, ids=str)
def test_backward_sums_a_broadcast_gradient_back_over_the_right_axes(
    a_shape: tuple[int, ...], b_shape: tuple[int, ...], op: str, weighted: bool
) -> None:
    a, b, w = operands(a_shape, b_shape)
    if not weighted:
        w = np.ones_like(w)
    ta, tb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    (Tensor(w) * OPS[op][0](ta, tb)).sum().backward()
    want_a, want_b = expected(op, a, b, w)
    assert np.shape(ta.grad) == a_shape and np.shape(tb.grad) == b_shape
    np.testing.assert_allclose(ta.grad, want_a, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tb.grad, want_b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("op", list(OPS))
@pytest.mark.parametrize(("a_shape", "b_shape"), CASES, ids=str)
def test_differentiable_backward_sums_a_broadcast_gradient_back_the_same_way(
    a_shape: tuple[int, ...], b_shape: tuple[int, ...], op: str
) -> None:
    # create_graph=True runs the rules on Tensors: the other branch of the engine.
    a, b, w = operands(a_shape, b_shape)
    forward = OPS[op][0]
    grad_a = minigrad.grad(lambda t: (Tensor(w) * forward(t, Tensor(b))).sum(), create_graph=True)
    grad_b = minigrad.grad(lambda t: (Tensor(w) * forward(Tensor(a), t)).sum(), create_graph=True)
    want_a, want_b = expected(op, a, b, w)
    got_a, got_b = np.asarray(grad_a(a)), np.asarray(grad_b(b))
    assert got_a.shape == a_shape and got_b.shape == b_shape
    np.testing.assert_allclose(got_a, want_a, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got_b, want_b, rtol=1e-12, atol=1e-12)


def test_the_reference_sums_copies_back_by_hand() -> None:
    # sum_to_shape on one case worked out by hand: (3, 1) stretched to (2, 3, 4).
    g = np.arange(24.0).reshape(2, 3, 4)
    want = np.array([[g[:, 0].sum()], [g[:, 1].sum()], [g[:, 2].sum()]])
    np.testing.assert_array_equal(sum_to_shape(g, (3, 1)), want)
    assert sum_to_shape(g, ()) == g.sum()
