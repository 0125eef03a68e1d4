"""The array namespace targets use when they run on minigrad (``xp.sin(x)``, ``xp.sum(x)``).

Every function takes minigrad Tensors, ndarrays or Python floats; anything that is not a
Tensor becomes a constant Tensor (a float meeting a Tensor takes its dtype), and the result
is always a Tensor. Arithmetic (``+ - * / ** @``, unary minus) works on the Tensors directly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

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
