"""``xp.linalg`` on minigrad Tensors: det, slogdet, inv, solve, cholesky, norm.

Each primitive computes its value with ``numpy.linalg`` and gives its rule beside it, built
from ``inv``, ``solve`` and ``@`` (all differentiable), so second derivatives work too.
Matrices may come in stacks (``(..., n, n)``), as in NumPy.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from . import ops
from .engine import Tensor, _node, _swap_last


class SlogdetResult(NamedTuple):
    """``slogdet``'s result: ``sign`` (a constant) and ``logabsdet`` = ln |det X|."""

    sign: Tensor
    logabsdet: Tensor


def _matrix(g: Any) -> Any:
    """A per-matrix number as a 1×1 matrix, to scale each matrix of a stack."""
    return g.reshape((*g.shape, 1, 1))


def inv(x: Any) -> Tensor:
    """The inverse of a square matrix; d(X⁻¹) = −X⁻¹ dX X⁻¹, so X's share is −X⁻ᵀ g X⁻ᵀ."""
    x = ops._tensor(x)
    rules = (lambda g, out, x: -(_swap_last(out) @ g @ _swap_last(out)),)
    return _node(np.linalg.inv(x.data), "inv", (x,), rules)


def det(x: Any) -> Tensor:
    """The determinant; d det X = det X · tr(X⁻¹ dX), so X's share is g · det X · X⁻ᵀ."""
    x = ops._tensor(x)
    rules = (lambda g, out, x: _matrix(g * out) * _swap_last(inv(x)),)
    return _node(np.linalg.det(x.data), "det", (x,), rules)


def slogdet(x: Any) -> SlogdetResult:
    """Sign and ln |det X| (no overflow for large matrices); d ln|det X| = tr(X⁻¹ dX)."""
    x = ops._tensor(x)
    sign, logabsdet = np.linalg.slogdet(x.data)
    rules = (lambda g, out, x: _matrix(g) * _swap_last(inv(x)),)
    return SlogdetResult(Tensor(sign), _node(logabsdet, "slogdet", (x,), rules))


def solve(a: Any, b: Any) -> Tensor:
    """x with a @ x = b (b a vector or a matrix of right-hand sides).

    With x = A⁻¹b: b's share is A⁻ᵀg (one more solve) and A's is −(A⁻ᵀg) xᵀ.
    """
    a, b = ops._tensors((a, b))
    vector = b.ndim == 1

    def share_of_a(g: Any, out: Any, a: Any, b: Any) -> Any:
        back = solve(_swap_last(a), g)
        return -(ops.outer(back, out) if vector else back @ _swap_last(out))

    rules = (share_of_a, lambda g, out, a, b: solve(_swap_last(a), g))
    return _node(np.linalg.solve(a.data, b.data), "solve", (a, b), rules)


def cholesky(x: Any) -> Tensor:
    """The lower-triangular L with L Lᵀ = X (X symmetric positive definite).

    X's share is sym(L⁻ᵀ Φ(Lᵀg) L⁻¹), Φ keeping the lower triangle with its diagonal halved
    (Murray 2016, as in HIPS autograd); sym(S) = (S + Sᵀ)/2, since only symmetric X count.
    """
    x = ops._tensor(x)
    n = x.shape[-1]
    lower_half_diagonal = (np.tril(np.ones((n, n))) - 0.5 * np.eye(n)).astype(x.dtype)

    def rule(g: Any, low: Any, x: Any) -> Any:
        phi = (_swap_last(low) @ g) * lower_half_diagonal
        left = solve(_swap_last(low), phi)  # L⁻ᵀ Φ
        s = _swap_last(solve(_swap_last(low), _swap_last(left)))  # (L⁻ᵀ (L⁻ᵀ Φ)ᵀ)ᵀ = L⁻ᵀ Φ L⁻¹
        return (s + _swap_last(s)) * 0.5

    return _node(np.linalg.cholesky(x.data), "cholesky", (x,), (rule,))


def norm(
    x: Any,
    ord: float | str | None = None,
    axis: int | tuple[int, int] | None = None,
    keepdims: bool = False,
) -> Tensor:
    """``numpy.linalg.norm``: by default the 2-norm of a vector, the Frobenius norm of a
    matrix (of all elements when ``axis`` is None).

    Vector orders: any p, ``inf`` and ``-inf``; matrix orders: ``'fro'``, 1, -1, ``inf``,
    ``-inf`` (the spectral and nuclear norms need an SVD minigrad does not have).  Built from
    ``sqrt``, ``abs``, ``sum``, ``max``: at x = 0 the 2-norm's gradient is NaN (0/0), as in
    NumPy-based autograd.
    """
    x = ops._tensor(x)
    if ord is None or ord == "fro" or (ord == 2 and (x.ndim == 1 or isinstance(axis, int))):
        return ops.sqrt(ops.sum(x * x, axis=axis, keepdims=keepdims))
    if x.ndim == 1 or isinstance(axis, int):  # a vector norm
        a = ops.abs(x)
        if ord == np.inf:
            return ops.max(a, axis=axis, keepdims=keepdims)
        if ord == -np.inf:
            return ops.min(a, axis=axis, keepdims=keepdims)
        if ord == 1:
            return ops.sum(a, axis=axis, keepdims=keepdims)
        return ops.sum(a ** float(ord), axis=axis, keepdims=keepdims) ** (1.0 / float(ord))
    rows, cols = (-2, -1) if axis is None else axis
    if ord in (1, -1, np.inf, -np.inf):  # largest (smallest) absolute column or row sum
        summed, across = (rows, cols) if ord in (1, -1) else (cols, rows)
        sums = ops.sum(ops.abs(x), axis=summed, keepdims=True)
        pick = ops.max if ord > 0 else ops.min
        out = pick(sums, axis=across, keepdims=True)
        if keepdims:
            return out
        drop = {rows % x.ndim, cols % x.ndim}
        return out.reshape(tuple(n for i, n in enumerate(out.shape) if i not in drop))
    raise ValueError(f"minigrad's linalg.norm has no matrix norm of order {ord!r}")
