"""The xp contract: the one written list of names a target may use on ``xp``.

Every backend's namespace exposes exactly these names (NumPy, torch, TensorFlow, JAX, HIPS
autograd and minigrad alike), following the Python array API standard's spelling where it
has one, so a target that runs on one backend runs on all.  A name outside this list is one
error, the same on every backend (:func:`outside_contract`).

Besides the functions below, the arrays a namespace returns support the operators
``+ - * / ** @`` with Python scalars on either side, unary minus, the comparisons
``< <= > >= ==`` (usable in ``where``), ``.shape`` and basic indexing and slicing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

#: Elementwise functions of one argument.
UNARY = (
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
)
#: Elementwise functions.
ELEMENTWISE = (*UNARY, "logaddexp", "maximum", "minimum", "where", "clip")
#: Reductions (each takes ``axis``; ``logsumexp`` is the stable one).
REDUCTIONS = (
    "sum",
    "mean",
    "prod",
    "max",
    "min",
    "argmax",
    "argmin",
    "cumsum",
    "cumprod",
    "logsumexp",
)
#: Shape manipulation.
SHAPE = ("reshape", "stack", "concat", "transpose", "expand_dims")
#: Products, gathers and shifts.
LINEAR = ("matmul", "outer", "tensordot", "einsum", "trace", "take", "roll")
#: Array creation (in the target's dtype and on its device).
CREATION = ("eye", "zeros", "ones", "zeros_like", "ones_like", "full")
#: ``xp.linalg.<name>``.
LINALG = ("det", "slogdet", "inv", "solve", "cholesky", "norm")

#: Every top-level name of the contract (``linalg`` is the sub-namespace of :data:`LINALG`).
NAMES: tuple[str, ...] = (*ELEMENTWISE, *REDUCTIONS, *SHAPE, *LINEAR, *CREATION, "linalg")

#: An array of the backend's framework (a NumPy array, torch or tf tensor, jax array...).
Array = Any
#: ``axis`` of a reduction: one axis, several, or None for all.
Axes = int | tuple[int, ...] | None


@runtime_checkable
class LinalgNamespace(Protocol):
    """``xp.linalg``: :data:`LINALG`, with ``numpy.linalg``'s meaning."""

    def det(self, a: Array) -> Array:
        """Determinant of a square matrix."""
        ...

    def slogdet(self, a: Array) -> tuple[Array, Array]:
        """(sign, ln |det a|)."""
        ...

    def inv(self, a: Array) -> Array:
        """Matrix inverse."""
        ...

    def solve(self, a: Array, b: Array) -> Array:
        """x with a x = b (a 1-D b is one vector)."""
        ...

    def cholesky(self, a: Array) -> Array:
        """Lower-triangular L with L Lᵀ = a (a symmetric positive definite)."""
        ...

    def norm(self, x: Array, ord: Any = None, axis: Axes = None, keepdims: bool = False) -> Array:
        """Frobenius / 2-norm (``ord`` None or "fro"), or a vector p-norm (``ord`` a number,
        ``inf`` included, for 1-D x or one int axis)."""
        ...


@runtime_checkable
class ArrayNamespace(Protocol):
    """What a target may use on ``xp``: every name of :data:`NAMES`, NumPy's meaning.

    A Python scalar is accepted wherever an array is and becomes an array of the run's
    dtype; creation functions make arrays of that dtype on the run's device (``dtype=``
    overrides it with a dtype of the framework, e.g. ``x.dtype``).
    """

    linalg: LinalgNamespace

    # elementwise
    def abs(self, x: Array) -> Array: ...
    def sign(self, x: Array) -> Array: ...
    def exp(self, x: Array) -> Array: ...
    def expm1(self, x: Array) -> Array: ...
    def log(self, x: Array) -> Array: ...
    def log1p(self, x: Array) -> Array: ...
    def sqrt(self, x: Array) -> Array: ...
    def square(self, x: Array) -> Array: ...
    def sin(self, x: Array) -> Array: ...
    def cos(self, x: Array) -> Array: ...
    def tan(self, x: Array) -> Array: ...
    def tanh(self, x: Array) -> Array: ...
    def sinh(self, x: Array) -> Array: ...
    def cosh(self, x: Array) -> Array: ...
    def logaddexp(self, a: Array, b: Array) -> Array: ...
    def maximum(self, a: Array, b: Array) -> Array: ...
    def minimum(self, a: Array, b: Array) -> Array: ...
    def where(self, condition: Array, a: Array, b: Array) -> Array: ...
    def clip(self, x: Array, lo: Array = None, hi: Array = None) -> Array: ...

    # reductions (axis None: every axis; cumsum/cumprod/arg*: the flattened array)
    def sum(self, x: Array, axis: Axes = None, keepdims: bool = False) -> Array: ...
    def mean(self, x: Array, axis: Axes = None, keepdims: bool = False) -> Array: ...
    def prod(self, x: Array, axis: Axes = None, keepdims: bool = False) -> Array: ...
    def max(self, x: Array, axis: Axes = None, keepdims: bool = False) -> Array: ...
    def min(self, x: Array, axis: Axes = None, keepdims: bool = False) -> Array: ...
    def argmax(self, x: Array, axis: int | None = None, keepdims: bool = False) -> Array: ...
    def argmin(self, x: Array, axis: int | None = None, keepdims: bool = False) -> Array: ...
    def cumsum(self, x: Array, axis: int | None = None) -> Array: ...
    def cumprod(self, x: Array, axis: int | None = None) -> Array: ...
    def logsumexp(self, x: Array, axis: Axes = None, keepdims: bool = False) -> Array: ...

    # shape
    def reshape(self, x: Array, shape: int | Sequence[int]) -> Array: ...
    def stack(self, arrays: Sequence[Array], axis: int = 0) -> Array: ...
    def concat(self, arrays: Sequence[Array], axis: int = 0) -> Array: ...
    def transpose(self, x: Array, axes: Sequence[int] | None = None) -> Array: ...
    def expand_dims(self, x: Array, axis: int) -> Array: ...

    # products, gathers, shifts
    def matmul(self, a: Array, b: Array) -> Array: ...
    def outer(self, a: Array, b: Array) -> Array: ...
    def tensordot(self, a: Array, b: Array, axes: Any = 2) -> Array: ...
    def einsum(self, subscripts: str, *operands: Array) -> Array: ...
    def trace(self, x: Array) -> Array: ...
    def take(self, x: Array, indices: Any, axis: int | None = None) -> Array: ...
    def roll(self, x: Array, shift: Any, axis: Axes = None) -> Array: ...

    # creation
    def eye(self, n: int, dtype: Any = None) -> Array: ...
    def zeros(self, shape: int | Sequence[int], dtype: Any = None) -> Array: ...
    def ones(self, shape: int | Sequence[int], dtype: Any = None) -> Array: ...
    def full(self, shape: int | Sequence[int], value: float, dtype: Any = None) -> Array: ...
    def zeros_like(self, x: Array) -> Array: ...
    def ones_like(self, x: Array) -> Array: ...


#: Where the README documents the contract (error messages point here).
README_SECTION = "Checking your own gradient"


class OutsideContract(AttributeError):
    """A target used a name that is not in the xp contract."""


def outside_contract(name: str, backend: str) -> OutsideContract:
    """The one error for a name outside the contract, worded the same on every backend."""
    where = "xp.linalg" if name.startswith("linalg.") else "xp"
    short = name.removeprefix("linalg.")
    return OutsideContract(
        f"{where}.{short} is not in adbench's xp contract (seen on {backend}); use the "
        f"names listed in README, '{README_SECTION}', so the target runs on every backend"
    )
