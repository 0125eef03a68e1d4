"""The functions of adbench's xp contract on minigrad Tensors (``xp.py`` exposes them).

Each function takes Tensors, ndarrays or Python numbers and returns a Tensor (``argmax`` and
``argmin`` return integer ndarrays: indices have no derivative).  As in ``engine.py``, a
primitive computes its value with NumPy and gives its rule right beside it; the rules are
written with these same functions, so they record a graph under ``create_graph=True`` and
every function is differentiable to every order.  Others (``prod``, ``cumprod``,
``logsumexp``, ``clip``, ``take``) are compositions of primitives and need no rule of their own.

Where a function has a kink, minigrad follows HIPS autograd (the NumPy-based reference):

* ``abs``: derivative ``sign(x)``, so 0 at x = 0; ``sign`` and comparisons: derivative 0;
* ``maximum``/``minimum``: the chosen input gets the gradient; at a tie each gets half;
* ``max``/``min`` (reductions): the gradient is shared equally among the tied extrema;
* ``clip``: x gets the gradient strictly inside (lo, hi), none at or beyond a bound (a bound
  that is a Tensor gets it where it was chosen).

Python numbers (and integer arrays) become Tensors in the run's dtype: the dtype of the other
operand where there is one, else :func:`default_dtype` (float64 unless the adapter says).
"""

from __future__ import annotations

import contextlib
import string
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from . import engine
from .engine import Tensor, _node

Axis = int | tuple[int, ...] | None

_dtype: np.dtype = np.dtype(np.float64)


@contextlib.contextmanager
def default_dtype(dtype: Any) -> Iterator[None]:
    """Within the block, numbers and creation functions (``zeros``, ``eye``) use ``dtype``.

    The adapter wraps each run in it, so a float32 run stays float32 throughout.
    """
    global _dtype
    previous, _dtype = _dtype, np.dtype(dtype)
    try:
        yield
    finally:
        _dtype = previous


def _dtype_or_default(dtype: Any) -> np.dtype:
    return _dtype if dtype is None else np.dtype(dtype)


def _tensor(x: Any, like: Tensor | None = None) -> Tensor:
    """``x`` as a Tensor: numbers and integer arrays in ``like``'s dtype or the default one."""
    if isinstance(x, Tensor):
        return x
    array = np.asarray(x)
    if array.dtype.kind != "f" or isinstance(x, (int, float)):
        array = array.astype(_dtype if like is None else like.dtype)
    return Tensor(array)


def _tensors(values: Sequence[Any]) -> list[Tensor]:
    """Several operands as Tensors; numbers take the dtype of the first Tensor among them."""
    like = next((v for v in values if isinstance(v, Tensor)), None)
    return [_tensor(v, like) for v in values]


def _value(x: Any) -> np.ndarray:
    """The values of a Tensor or an array, without history (for masks and shapes)."""
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _along(axis: int, ndim: int, index: Any) -> tuple[Any, ...]:
    """The index tuple selecting ``index`` along ``axis`` and everything on the others."""
    return (slice(None),) * (axis % ndim) + (index,)


# ----- elementwise -----------------------------------------------------------------------


def abs(x: Any) -> Tensor:
    """Elementwise |x| (derivative sign(x), 0 at 0)."""
    return _tensor(x).abs()


def sign(x: Any) -> Tensor:
    """Elementwise sign (-1, 0 or 1): a constant, its derivative is 0."""
    x = _tensor(x)
    return Tensor(np.sign(x.data))


def exp(x: Any) -> Tensor:
    """Elementwise e**x."""
    return _tensor(x).exp()


def expm1(x: Any) -> Tensor:
    """Elementwise e**x - 1, accurate for tiny x."""
    return _tensor(x).expm1()


def log(x: Any) -> Tensor:
    """Elementwise natural logarithm."""
    return _tensor(x).log()


def log1p(x: Any) -> Tensor:
    """Elementwise ln(1 + x), accurate for tiny x."""
    return _tensor(x).log1p()


def sqrt(x: Any) -> Tensor:
    """Elementwise square root."""
    return _tensor(x).sqrt()


def square(x: Any) -> Tensor:
    """Elementwise x² (the rule of ``*``: 2x)."""
    x = _tensor(x)
    return x * x


def sin(x: Any) -> Tensor:
    """Elementwise sine."""
    return _tensor(x).sin()


def cos(x: Any) -> Tensor:
    """Elementwise cosine."""
    return _tensor(x).cos()


def tan(x: Any) -> Tensor:
    """Elementwise tangent."""
    return _tensor(x).tan()


def tanh(x: Any) -> Tensor:
    """Elementwise hyperbolic tangent."""
    return _tensor(x).tanh()


def sinh(x: Any) -> Tensor:
    """Elementwise hyperbolic sine."""
    return _tensor(x).sinh()


def cosh(x: Any) -> Tensor:
    """Elementwise hyperbolic cosine."""
    return _tensor(x).cosh()


def logaddexp(a: Any, b: Any) -> Tensor:
    """Elementwise ln(e**a + e**b), stable for any a, b (either may be a number like 0.0)."""
    a, b = _tensors((a, b))
    return a.logaddexp(b)


def _tie_weights(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> tuple[np.ndarray, ...]:
    """Which of a, b each element of ``out`` came from: 1 and 0, or ½ and ½ at a tie."""
    tie = 1.0 + (a == b)
    return tuple(((side == out) / tie).astype(out.dtype) for side in (a, b))


def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise larger of a and b (broadcast); a tie splits the gradient in halves."""
    a, b = _tensors((a, b))
    out = np.maximum(a.data, b.data)
    to_a, to_b = _tie_weights(a.data, b.data, out)
    rules = (lambda g, *_: g * to_a, lambda g, *_: g * to_b)
    return _node(out, "maximum", (a, b), rules)


def minimum(a: Any, b: Any) -> Tensor:
    """Elementwise smaller of a and b (broadcast); a tie splits the gradient in halves."""
    a, b = _tensors((a, b))
    out = np.minimum(a.data, b.data)
    to_a, to_b = _tie_weights(a.data, b.data, out)
    rules = (lambda g, *_: g * to_a, lambda g, *_: g * to_b)
    return _node(out, "minimum", (a, b), rules)


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """``a`` where ``condition`` holds, else ``b`` (broadcast; either may be a number)."""
    a, b = _tensors((a, b))
    return engine.where(_value(condition), a, b)


def clip(x: Any, min: Any = None, max: Any = None) -> Tensor:
    """x limited to [min, max] (a bound may be None); no gradient to x at or beyond a bound."""
    x = _tensor(x)
    lo = _tensor(-np.inf if min is None else min, like=x)
    hi = _tensor(np.inf if max is None else max, like=x)
    out = np.clip(x.data, lo.data, hi.data)
    inside = (lo.data < x.data) & (x.data < hi.data)
    # where's rules route g: to x strictly inside, else to the bound that was chosen.
    return where(inside, x, where(out == hi.data, hi, lo))


# ----- reductions ------------------------------------------------------------------------


def sum(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Sum over ``axis`` (all axes when None)."""
    return _tensor(x).sum(axis, keepdims)


def mean(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Mean over ``axis`` (all axes when None)."""
    return _tensor(x).mean(axis, keepdims)


def prod(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Product over ``axis`` (all axes when None), exact where elements are zero.

    Multiplies halves pairwise (about log₂ n products of ``*``), so no rule divides by x.
    """
    x = _tensor(x)
    if x.size == 0:  # the empty product: ones, with nothing to differentiate
        return Tensor(np.prod(x.data, axis=axis, keepdims=keepdims))
    axes = tuple(range(x.ndim)) if axis is None else engine._normalize_axes(axis, x.ndim)
    kept = tuple(1 if i in axes else n for i, n in enumerate(x.shape))
    for ax in axes:
        n = x.shape[ax]
        while n > 1:
            if n % 2:  # pad with a one to an even length
                one = np.ones((*x.shape[:ax], 1, *x.shape[ax + 1 :]), x.dtype)
                x, n = concat([x, one], axis=ax), n + 1
            front = x[_along(ax, x.ndim, slice(None, n // 2))]
            back = x[_along(ax, x.ndim, slice(n // 2, None))]
            x, n = front * back, n // 2
    shape = kept if keepdims else tuple(n for i, n in enumerate(kept) if i not in axes)
    return x.reshape(shape)


def _extremum(x: Any, axis: Axis, keepdims: bool, pick: Any, op: str) -> Tensor:
    x = _tensor(x)
    out = pick(x.data, axis=axis, keepdims=keepdims)
    kept = pick(x.data, axis=axis, keepdims=True)
    hit = x.data == kept
    share = (hit / hit.sum(axis=axis, keepdims=True)).astype(x.dtype)  # ties split g equally
    rules = (lambda g, *_: g.reshape(kept.shape) * share,)
    return _node(out, op, (x,), rules)


def max(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Largest element over ``axis`` (all axes when None); tied maxima share the gradient."""
    return _extremum(x, axis, keepdims, np.max, "max")


def min(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Smallest element over ``axis`` (all axes when None); tied minima share the gradient."""
    return _extremum(x, axis, keepdims, np.min, "min")


def argmax(x: Any, axis: int | None = None) -> np.ndarray:
    """Index of the largest element (of the flattened array when ``axis`` is None): integers."""
    return np.asarray(np.argmax(_value(x), axis=axis))


def argmin(x: Any, axis: int | None = None) -> np.ndarray:
    """Index of the smallest element (of the flattened array when ``axis`` is None): integers."""
    return np.asarray(np.argmin(_value(x), axis=axis))


def _reverse(x: Any, axis: int) -> Any:
    return x[_along(axis, x.ndim, slice(None, None, -1))]


def cumsum(x: Any, axis: int | None = None) -> Tensor:
    """Running sum along ``axis`` (of the flattened array when None)."""
    x = _tensor(x)
    if axis is None:
        return cumsum(x.reshape(-1), 0)
    ax = axis % x.ndim
    # Element i feeds every running sum from i on: its share is the sum of g from the end.
    rules = (lambda g, *_: _reverse(cumsum(_reverse(g, ax), ax), ax),)
    return _node(np.cumsum(x.data, axis=ax), "cumsum", (x,), rules)


def cumprod(x: Any, axis: int | None = None) -> Tensor:
    """Running product along ``axis`` (of the flattened array when None), exact at zeros.

    A prefix scan: step k multiplies each element by the one 2**k places before it, so
    log₂ n products of ``*`` build it and no rule divides by x.
    """
    x = _tensor(x)
    if axis is None:
        return cumprod(x.reshape(-1), 0)
    ax = axis % x.ndim
    n, out, step = x.shape[ax], x, 1
    while step < n:
        ones = np.ones((*x.shape[:ax], step, *x.shape[ax + 1 :]), x.dtype)
        out = out * concat([ones, out[_along(ax, x.ndim, slice(None, n - step))]], axis=ax)
        step *= 2
    return out


def logsumexp(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """ln Σ e**x over ``axis`` (all axes when None), stable for any x.

    The largest element is taken out first (a constant: the shift cancels in every
    derivative), so no exponential overflows; the gradient is softmax(x).
    """
    x = _tensor(x)
    shift = np.max(x.data, axis=axis, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0).astype(x.dtype)
    out = log(exp(x - shift).sum(axis, keepdims=True)) + shift
    return out if keepdims else out.reshape(np.sum(x.data, axis=axis).shape)


# ----- shape -----------------------------------------------------------------------------


def reshape(x: Any, shape: int | tuple[int, ...]) -> Tensor:
    """Same values in a new shape."""
    return _tensor(x).reshape(shape if isinstance(shape, tuple) else (shape,))


def transpose(x: Any, axes: Sequence[int] | None = None) -> Tensor:
    """Permute the axes (reverse them when ``axes`` is None)."""
    return _tensor(x).transpose(tuple(axes or ()))


def expand_dims(x: Any, axis: int) -> Tensor:
    """Insert a size-1 axis at ``axis``."""
    x = _tensor(x)
    shape = list(x.shape)
    shape.insert(axis % (x.ndim + 1), 1)
    return x.reshape(tuple(shape))


def stack(arrays: Sequence[Any], axis: int = 0) -> Tensor:
    """Join same-shaped arrays along a new axis."""
    joined = engine.stack(_tensors(arrays))
    if axis % joined.ndim == 0:
        return joined
    order = list(range(1, joined.ndim))
    order.insert(axis % joined.ndim, 0)
    return joined.transpose(tuple(order))


def concat(arrays: Sequence[Any], axis: int | None = 0) -> Tensor:
    """Join arrays along an existing axis (flattened first when None)."""
    parts = _tensors(arrays)
    if axis is None:
        parts, axis = [p.reshape(-1) for p in parts], 0
    data = np.concatenate([p.data for p in parts], axis=axis)
    bounds = np.cumsum([0] + [p.shape[axis] for p in parts])

    def piece(i: int) -> Any:  # each part's share is its own slice of g
        index = _along(axis, data.ndim, slice(int(bounds[i]), int(bounds[i + 1])))
        return lambda g, *_: g[index]

    return _node(data, "concat", tuple(parts), tuple(piece(i) for i in range(len(parts))))


# ----- products, gathers, shifts ---------------------------------------------------------


def matmul(a: Any, b: Any) -> Tensor:
    """Matrix product with NumPy's rules (1-D operands, stacks of matrices)."""
    a, b = _tensors((a, b))
    return a @ b


def outer(a: Any, b: Any) -> Tensor:
    """The outer product of two vectors (flattened first)."""
    a, b = _tensors((a, b))
    return a.reshape((-1, 1)) * b.reshape((1, -1))


def tensordot(a: Any, b: Any, axes: int | Sequence[Sequence[int]] = 2) -> Tensor:
    """``numpy.tensordot``: contract the last ``axes`` axes of a with the first of b, or the
    listed pairs ``([a axes], [b axes])``; done as one matrix product."""
    a, b = _tensors((a, b))
    if isinstance(axes, int):
        in_a, in_b = list(range(a.ndim - axes, a.ndim)), list(range(axes))
    else:
        in_a = [i % a.ndim for i in np.atleast_1d(axes[0])]
        in_b = [i % b.ndim for i in np.atleast_1d(axes[1])]
    free_a = [i for i in range(a.ndim) if i not in in_a]
    free_b = [i for i in range(b.ndim) if i not in in_b]
    inner = int(np.prod([a.shape[i] for i in in_a]))
    left = a.transpose(tuple(free_a + in_a)).reshape((-1, inner))
    right = b.transpose(tuple(in_b + free_b)).reshape((inner, -1))
    shape = tuple(a.shape[i] for i in free_a) + tuple(b.shape[i] for i in free_b)
    return (left @ right).reshape(shape)


def einsum(subscripts: str, *operands: Any) -> Tensor:
    """``numpy.einsum`` with explicit output (``"ij,jk->ik"``): letters only, no ``...``.

    The share of each operand is itself one einsum: g with the other operands, contracted
    to that operand's letters.  A letter only that operand sums over is restored by a ones
    vector; a repeated letter (a diagonal, ``"ii->"``) by an identity matrix.
    """
    spec = subscripts.replace(" ", "")
    if "->" not in spec or "." in spec:
        raise ValueError(
            f"minigrad's einsum needs explicit output subscripts and no '...' "
            f"(write 'ij,jk->ik'), got {subscripts!r}"
        )
    inputs_spec, output = spec.split("->")
    letters = inputs_spec.split(",")
    if len(letters) != len(operands):
        raise ValueError(
            f"einsum {subscripts!r} names {len(letters)} operands, got {len(operands)}"
        )
    tensors = _tensors(operands)
    sizes: dict[str, int] = {}
    for term, t in zip(letters, tensors, strict=True):
        if len(term) != t.ndim:
            raise ValueError(f"einsum term {term!r} names {len(term)} axes, got shape {t.shape}")
        sizes.update(zip(term, t.shape, strict=True))
    data = np.einsum(spec, *(t.data for t in tensors))
    rules = tuple(_einsum_rule(k, letters, output, sizes) for k in range(len(tensors)))
    return _node(data, "einsum", tuple(tensors), rules)


def _einsum_rule(k: int, letters: list[str], output: str, sizes: dict[str, int]) -> Any:
    """The rule of operand k of an einsum: an einsum of g and the other operands."""
    others = [term for j, term in enumerate(letters) if j != k]
    available = set(output).union(*others)
    unused = iter(c for c in string.ascii_letters if c not in sizes)
    target, extra_terms, extra = "", [], []  # extra: (kind, size) of the constant operands
    for c in letters[k]:
        if c in target:  # a repeated letter: a fresh one, tied to c by an identity matrix
            fresh = next(unused)
            target += fresh
            extra_terms.append(c + fresh)
            extra.append(("eye", sizes[c]))
        else:
            target += c
            if c not in available:  # summed over in operand k alone: g is constant along it
                extra_terms.append(c)
                extra.append(("ones", sizes[c]))
    spec = ",".join([output, *others, *extra_terms]) + "->" + target

    def rule(g: Any, out: Any, *inputs: Any) -> Any:
        dtype = _value(g).dtype
        made = [np.eye(n, dtype=dtype) if kind == "eye" else np.ones(n, dtype) for kind, n in extra]
        return einsum(spec, g, *(x for j, x in enumerate(inputs) if j != k), *made)

    return rule


def trace(x: Any) -> Tensor:
    """Sum of the main diagonal of a matrix."""
    return _tensor(x).trace()


def take(x: Any, indices: Any, axis: int | None = None) -> Tensor:
    """Gather elements at integer ``indices`` along ``axis`` (of the flattened array when
    None), like ``numpy.take``; repeated indices add their gradients (indexing's rule)."""
    x = _tensor(x)
    where = np.asarray(_value(indices)).astype(np.intp)
    if axis is None:
        return x.reshape(-1)[where]
    return x[_along(axis, x.ndim, where)]


def roll(x: Any, shift: int | tuple[int, ...], axis: Axis = None) -> Tensor:
    """Shift elements cyclically along ``axis`` (of the flattened array when None)."""
    x = _tensor(x)
    if axis is None:
        return roll(x.reshape(-1), shift, 0).reshape(x.shape)
    back = tuple(-s for s in shift) if isinstance(shift, tuple) else -shift
    rules = (lambda g, *_: roll(g, back, axis),)  # the share is g rolled back
    return _node(np.roll(x.data, shift, axis), "roll", (x,), rules)


# ----- creation (constants in the run's dtype) -------------------------------------------


def _shape(shape: int | Sequence[int]) -> tuple[int, ...]:
    return (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)


def eye(n: int, m: int | None = None, k: int = 0, dtype: Any = None) -> Tensor:
    """The n×m identity (ones on diagonal ``k``), a constant."""
    return Tensor(np.eye(n, m, k, dtype=_dtype_or_default(dtype)))


def zeros(shape: int | Sequence[int], dtype: Any = None) -> Tensor:
    """A constant Tensor of zeros."""
    return Tensor(np.zeros(_shape(shape), dtype=_dtype_or_default(dtype)))


def ones(shape: int | Sequence[int], dtype: Any = None) -> Tensor:
    """A constant Tensor of ones."""
    return Tensor(np.ones(_shape(shape), dtype=_dtype_or_default(dtype)))


def full(shape: int | Sequence[int], fill_value: float, dtype: Any = None) -> Tensor:
    """A constant Tensor filled with ``fill_value``."""
    return Tensor(np.full(_shape(shape), fill_value, dtype=_dtype_or_default(dtype)))


def zeros_like(x: Any, dtype: Any = None) -> Tensor:
    """A constant Tensor of zeros with ``x``'s shape (and dtype, unless given)."""
    x = _tensor(x)
    return Tensor(np.zeros(x.shape, dtype=x.dtype if dtype is None else dtype))


def ones_like(x: Any, dtype: Any = None) -> Tensor:
    """A constant Tensor of ones with ``x``'s shape (and dtype, unless given)."""
    x = _tensor(x)
    return Tensor(np.ones(x.shape, dtype=x.dtype if dtype is None else dtype))
