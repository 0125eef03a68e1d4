"""The array namespace targets use when they run on minigrad (``xp.sin(x)``, ``xp.sum(x)``).

Every function takes minigrad Tensors, ndarrays or Python floats; anything that is not a
Tensor becomes a constant Tensor (a float meeting a Tensor takes its dtype), and the result
is always a Tensor. Arithmetic (``+ - * / ** @``, unary minus) works on the Tensors directly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import engine
from .engine import Tensor, as_tensor

pi = float(np.pi)
e = float(np.e)


def _pair(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    """Both operands as Tensors, a plain number taking the dtype of the other operand."""
    if isinstance(a, Tensor):
        return a, as_tensor(b, like=a)
    b = as_tensor(b)
    return as_tensor(a, like=b), b


def sin(x: Any) -> Tensor:
    """Elementwise sine."""
    return as_tensor(x).sin()


def cos(x: Any) -> Tensor:
    """Elementwise cosine."""
    return as_tensor(x).cos()


def tanh(x: Any) -> Tensor:
    """Elementwise hyperbolic tangent."""
    return as_tensor(x).tanh()


def exp(x: Any) -> Tensor:
    """Elementwise exponential."""
    return as_tensor(x).exp()


def log(x: Any) -> Tensor:
    """Elementwise natural logarithm."""
    return as_tensor(x).log()


def log1p(x: Any) -> Tensor:
    """Elementwise ln(1 + x)."""
    return as_tensor(x).log1p()


def sqrt(x: Any) -> Tensor:
    """Elementwise square root."""
    return as_tensor(x).sqrt()


def sigmoid(x: Any) -> Tensor:
    """Elementwise logistic function, stable for any x."""
    return as_tensor(x).sigmoid()


def softplus(x: Any) -> Tensor:
    """Elementwise ln(1 + e**x), stable for any x."""
    return as_tensor(x).softplus()


def logaddexp(a: Any, b: Any) -> Tensor:
    """Elementwise ln(e**a + e**b), stable for any a, b (either may be a float like 0.0)."""
    a, b = _pair(a, b)
    return a.logaddexp(b)


def sum(x: Any, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
    """Sum over ``axis`` (all axes when None)."""
    return as_tensor(x).sum(axis, keepdims)


def mean(x: Any, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
    """Mean over ``axis`` (all axes when None)."""
    return as_tensor(x).mean(axis, keepdims)


def matmul(a: Any, b: Any) -> Tensor:
    """Matrix product with NumPy's rules for 1-D and 2-D operands."""
    a, b = _pair(a, b)
    return a @ b


def transpose(a: Any, axes: tuple[int, ...] | None = None) -> Tensor:
    """Permute the axes (reverse them when ``axes`` is None)."""
    return as_tensor(a).transpose(axes or ())


def trace(a: Any) -> Tensor:
    """Sum of the main diagonal of a matrix."""
    return as_tensor(a).trace()


def reshape(a: Any, shape: tuple[int, ...]) -> Tensor:
    """Same values in a new shape."""
    return as_tensor(a).reshape(shape)


def abs(x: Any) -> Tensor:
    """Elementwise absolute value."""
    return as_tensor(x).abs()


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """``a`` where ``condition`` holds, else ``b`` (either may be a float)."""
    a, b = _pair(a, b)
    return engine.where(condition, a, b)


def zeros(shape: tuple[int, ...], dtype: Any = None) -> Tensor:
    """A constant Tensor of zeros (float64 unless ``dtype`` says otherwise)."""
    return Tensor(np.zeros(tuple(shape), dtype=dtype or np.float64))


def zeros_like(x: Any) -> Tensor:
    """A constant Tensor of zeros with ``x``'s shape and dtype."""
    return Tensor(np.zeros_like(np.asarray(x)))


def ones_like(x: Any) -> Tensor:
    """A constant Tensor of ones with ``x``'s shape and dtype."""
    return Tensor(np.ones_like(np.asarray(x)))


def expand_dims(x: Any, axis: int) -> Tensor:
    """Insert a size-1 axis at ``axis``."""
    t = as_tensor(x)
    shape = list(t.shape)
    shape.insert(axis % (t.ndim + 1), 1)
    return t.reshape(tuple(shape))


def stack(arrays: Any, axis: int = 0) -> Tensor:
    """Join same-shaped arrays along a new axis."""
    tensors = [as_tensor(a) for a in arrays]
    joined = engine.stack(tensors)
    if axis % (joined.ndim) == 0:
        return joined
    order = list(range(1, joined.ndim))
    order.insert(axis % joined.ndim, 0)
    return joined.transpose(tuple(order))


def outer(a: Any, b: Any) -> Tensor:
    """The outer product of two vectors."""
    a, b = _pair(a, b)
    return a.reshape((-1, 1)) * b.reshape((1, -1))


def tensordot(a: Any, b: Any, axes: int = 2) -> Tensor:
    """``numpy.tensordot`` with an integer ``axes``: the last ``axes`` axes of a against the
    first ``axes`` of b, as one matrix product."""
    a, b = _pair(a, b)
    keep_a, keep_b = a.shape[: a.ndim - axes], b.shape[axes:]
    inner = int(np.prod(b.shape[:axes]))
    product = a.reshape((-1, inner)) @ b.reshape((inner, -1))
    return product.reshape(tuple(keep_a) + tuple(keep_b))


def concat(arrays: Any, axis: int = 0) -> Tensor:
    """Join arrays along an existing axis; each part's gradient is its slice of g."""
    parts = [as_tensor(a) for a in arrays]
    data = np.concatenate([p.data for p in parts], axis=axis)
    bounds = np.cumsum([0] + [p.shape[axis] for p in parts])
    where = axis % data.ndim

    def piece(i: int) -> Any:
        index = (slice(None),) * where + (slice(int(bounds[i]), int(bounds[i + 1])),)
        return lambda g, *_: g[index]

    return engine._node(data, "concat", tuple(parts), tuple(piece(i) for i in range(len(parts))))
