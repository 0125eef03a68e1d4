"""The xp contract on each framework: one base, one subclass per array library.

:class:`ContractNamespace` is what every backend's ``xp`` is.  It holds the run's dtype and
device, turns Python scalars into arrays of that dtype (``xp.sqrt(2.0)``,
``xp.maximum(x, 0.0)``, ``xp.where(x > 0, x, 0.0)``), and answers any name outside the
contract (:data:`autodiff_bench.xp_contract.NAMES`) with
:func:`autodiff_bench.xp_contract.outside_contract` — the same error on every backend.

Subclasses supply the functions: :class:`NumPyNamespace` (the reference, ``manual`` and
``finite``), :class:`JaxNamespace` (``jax.numpy``), :class:`AutogradNamespace`
(``autograd.numpy``), and the torch and TensorFlow namespaces in their backends' modules.
Semantics are NumPy's.  No framework is imported here: a subclass receives its module.
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from autodiff_bench.xp_contract import UNARY, outside_contract

if TYPE_CHECKING:
    import numpy as np
else:
    from autodiff_bench.lazy import numpy as np

#: Python scalar types converted to arrays of the run's dtype (``bool`` is not one: its
#: ``type`` is ``bool``, so ``type(v) in SCALARS`` leaves it alone).
SCALARS = (int, float)

#: Elementwise functions of one argument (the same name in every library): :data:`UNARY`.

Axis = int | tuple[int, ...] | None


def _lift1(fn: Callable[[Any], Any], scalar: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``fn`` taking a Python scalar as an array of the run's dtype."""

    def lifted(x: Any) -> Any:
        return fn(scalar(x) if type(x) in SCALARS else x)

    lifted.__name__ = lifted.__qualname__ = getattr(fn, "__name__", "lifted")
    lifted.__doc__ = f"Elementwise {lifted.__name__} (NumPy semantics)."
    return lifted


def _lift2(
    fn: Callable[[Any, Any], Any], scalar: Callable[[Any], Any]
) -> Callable[[Any, Any], Any]:
    """``fn`` of two arguments, either of which may be a Python scalar."""

    def lifted(a: Any, b: Any) -> Any:
        return fn(
            scalar(a) if type(a) in SCALARS else a,
            scalar(b) if type(b) in SCALARS else b,
        )

    lifted.__name__ = lifted.__qualname__ = getattr(fn, "__name__", "lifted")
    lifted.__doc__ = f"Elementwise {lifted.__name__} of two arrays (NumPy semantics)."
    return lifted


def _pair(result: Any) -> tuple[Any, Any]:
    """``slogdet``'s (sign, logabsdet) as a plain tuple, whatever the library returns."""
    return result[0], result[1]


def as_shape(shape: Any) -> tuple[int, ...]:
    """A shape given as an int or any sequence of ints, as a tuple."""
    if isinstance(shape, int | np.integer):
        return (int(shape),)
    return tuple(int(n) for n in shape)


def flatten_axis(x: Any, axis: int | None, reshape: Callable[[Any, Any], Any]) -> tuple[Any, int]:
    """``(x, axis)`` with ``axis=None`` meaning "the flattened array", as in NumPy."""
    if axis is None:
        return reshape(x, (-1,)), 0
    return x, axis


class ContractLinalg:
    """``xp.linalg``: ``det slogdet inv solve cholesky norm`` and nothing else.

    The framework functions come from the namespace that owns it; ``norm`` is written once
    here against that namespace."""

    def __init__(
        self,
        xp: ContractNamespace,
        *,
        det: Callable[[Any], Any],
        slogdet: Callable[[Any], tuple[Any, Any]],
        inv: Callable[[Any], Any],
        solve: Callable[[Any, Any], Any],
        cholesky: Callable[[Any], Any],
    ) -> None:
        self._xp = xp
        self.det = det
        self.slogdet = slogdet
        self.inv = inv
        self.solve = solve
        self.cholesky = cholesky

    def norm(
        self,
        x: Any,
        ord: Any = None,
        axis: int | tuple[int, ...] | None = None,
        keepdims: bool = False,
    ) -> Any:
        """``numpy.linalg.norm`` for vector norms and the Frobenius norm.

        ``ord=None`` or ``"fro"``: the square root of the sum of squares over ``axis`` (all
        axes when None).  A number ``p`` (``inf`` and ``-inf`` included): the vector p-norm
        of a 1-D ``x`` or along one int ``axis``.  Matrix norms other than Frobenius are
        outside the contract (ValueError).
        """
        xp = self._xp
        if ord is None or ord == "fro":
            return xp.sqrt(xp.sum(x * x, axis=axis, keepdims=keepdims))
        vector = isinstance(axis, int) or (axis is None and len(x.shape) == 1)
        if not vector or isinstance(ord, str):
            raise ValueError(
                f"xp.linalg.norm(ord={ord!r}) takes ord=None or 'fro' (any axes), or a number "
                "for a vector norm (1-D x or one int axis)"
            )
        a = xp.abs(x)
        if ord == math.inf:
            return xp.max(a, axis=axis, keepdims=keepdims)
        if ord == -math.inf:
            return xp.min(a, axis=axis, keepdims=keepdims)
        if ord == 1:
            return xp.sum(a, axis=axis, keepdims=keepdims)
        if ord == 2:
            return xp.sqrt(xp.sum(x * x, axis=axis, keepdims=keepdims))
        return xp.sum(a**ord, axis=axis, keepdims=keepdims) ** (1.0 / ord)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise outside_contract(f"linalg.{name}", self._xp._backend)


class ContractNamespace:
    """The array namespace a target sees as ``xp``: exactly the names of the contract.

    A subclass sets ``_dtype`` (and ``_device`` where it has one), implements
    :meth:`_scalar`, passes the framework's one-argument elementwise functions to
    ``__init__`` (they are lifted to accept Python scalars) and defines the rest as methods.
    """

    #: The one-argument functions, lifted in ``__init__``: declared for type checkers.
    abs: Callable[[Any], Any]
    sign: Callable[[Any], Any]
    exp: Callable[[Any], Any]
    expm1: Callable[[Any], Any]
    log: Callable[[Any], Any]
    log1p: Callable[[Any], Any]
    sqrt: Callable[[Any], Any]
    square: Callable[[Any], Any]
    sin: Callable[[Any], Any]
    cos: Callable[[Any], Any]
    tan: Callable[[Any], Any]
    tanh: Callable[[Any], Any]
    sinh: Callable[[Any], Any]
    cosh: Callable[[Any], Any]
    maximum: Callable[[Any, Any], Any]
    minimum: Callable[[Any, Any], Any]
    linalg: ContractLinalg

    def __init__(
        self,
        backend: str,
        unary: dict[str, Callable[[Any], Any]],
        binary: dict[str, Callable[[Any, Any], Any]],
    ) -> None:
        #: The backend label named in the outside-the-contract error.
        self._backend = backend
        for name, fn in unary.items():
            setattr(self, name, _lift1(fn, self._scalar))
        for name, fn in binary.items():
            setattr(self, name, _lift2(fn, self._scalar))

    def __getattr__(self, name: str) -> Any:
        # Only reached for names that do not exist: private and dunder look-ups (copy,
        # pickle, hasattr probes) get a plain AttributeError, public ones the contract's.
        if name.startswith("_"):
            raise AttributeError(name)
        raise outside_contract(name, self.__dict__.get("_backend", "?"))

    def __repr__(self) -> str:
        return f"<adbench xp contract on {self._backend} ({self._dtype_name()})>"

    def _dtype_name(self) -> str:
        return str(getattr(self, "_dtype", "?"))

    def _scalar(self, value: Any) -> Any:
        """A Python scalar as a 0-d array of the run's dtype, on the run's device."""
        raise NotImplementedError

    def _array(self, value: Any) -> Any:
        """``value`` itself, or a Python scalar as a 0-d array of the run's dtype."""
        return self._scalar(value) if type(value) in SCALARS else value


def relabel(xp: Any, backend: str) -> Any:
    """``xp`` naming ``backend`` in its outside-the-contract error (``manual:torch`` shares
    torch's namespace); another namespace is returned unchanged."""
    if not isinstance(xp, ContractNamespace):
        return xp
    twin = copy.copy(xp)
    twin._backend = backend
    linalg = copy.copy(xp.linalg)
    linalg._xp = twin
    twin.linalg = linalg
    return twin


# ---- NumPy, jax.numpy and autograd.numpy: one implementation over a NumPy-like module ----


class NumPyLikeNamespace(ContractNamespace):
    """The contract over a module with NumPy's API (``numpy``, ``jax.numpy``,
    ``autograd.numpy``); subclasses replace what their module lacks."""

    def __init__(
        self,
        module: Any,
        dtype: Any,
        backend: str,
        logsumexp: Callable[..., Any] | None = None,
    ) -> None:
        self._m = module
        self._dtype = dtype
        self._logsumexp = logsumexp
        m = module
        super().__init__(
            backend,
            {name: getattr(m, name) for name in UNARY},
            {"logaddexp": m.logaddexp, "maximum": m.maximum, "minimum": m.minimum},
        )
        la = m.linalg
        self.linalg = ContractLinalg(
            self,
            det=la.det,
            slogdet=lambda a: _pair(la.slogdet(a)),
            inv=la.inv,
            solve=la.solve,
            cholesky=la.cholesky,
        )

    def _scalar(self, value: Any) -> Any:
        return self._m.asarray(value, dtype=self._dtype)

    # ---- elementwise ----
    def where(self, condition: Any, a: Any, b: Any) -> Any:
        """``a`` where ``condition`` holds, else ``b`` (broadcast)."""
        return self._m.where(condition, self._array(a), self._array(b))

    def clip(self, x: Any, lo: Any = None, hi: Any = None) -> Any:
        """``x`` limited to [lo, hi] (either bound may be None)."""
        x = self._array(x)
        if lo is not None:
            x = self._m.maximum(x, self._array(lo))
        if hi is not None:
            x = self._m.minimum(x, self._array(hi))
        return x

    # ---- reductions ----
    def sum(self, x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
        """Sum over ``axis`` (all axes when None)."""
        return self._m.sum(self._array(x), axis=axis, keepdims=keepdims)

    def mean(self, x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
        """Mean over ``axis`` (all axes when None)."""
        return self._m.mean(self._array(x), axis=axis, keepdims=keepdims)

    def prod(self, x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
        """Product over ``axis`` (all axes when None)."""
        return self._m.prod(self._array(x), axis=axis, keepdims=keepdims)

    def max(self, x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
        """Largest element over ``axis`` (all axes when None)."""
        return self._m.max(self._array(x), axis=axis, keepdims=keepdims)

    def min(self, x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
        """Smallest element over ``axis`` (all axes when None)."""
        return self._m.min(self._array(x), axis=axis, keepdims=keepdims)

    def argmax(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        """Index of the largest element (in the flattened array when ``axis`` is None)."""
        return self._m.argmax(x, axis=axis, keepdims=keepdims)

    def argmin(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        """Index of the smallest element (in the flattened array when ``axis`` is None)."""
        return self._m.argmin(x, axis=axis, keepdims=keepdims)

    def cumsum(self, x: Any, axis: int | None = None) -> Any:
        """Running sum along ``axis`` (of the flattened array when None)."""
        return self._m.cumsum(x, axis=axis)

    def cumprod(self, x: Any, axis: int | None = None) -> Any:
        """Running product along ``axis`` (of the flattened array when None)."""
        return self._m.cumprod(x, axis=axis)

    def logsumexp(self, x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
        """ln Σ eˣ over ``axis`` (all axes when None), shifted by the maximum: no overflow."""
        if self._logsumexp is not None:
            return self._logsumexp(x, axis=axis, keepdims=keepdims)
        m = self._m
        top = self._logsumexp_shift(x, axis)
        out = m.log(m.sum(m.exp(x - top), axis=axis, keepdims=True)) + top
        return out if keepdims else m.squeeze(out, axis=axis)

    def _logsumexp_shift(self, x: Any, axis: Axis) -> Any:
        """What ``logsumexp`` subtracts before ``exp``: the maximum over ``axis`` (kept as
        an axis of length 1), 0 where that is not finite."""
        m = self._m
        top = m.max(x, axis=axis, keepdims=True)
        return m.where(m.isfinite(top), top, 0.0)

    # ---- shape ----
    def reshape(self, x: Any, shape: Any) -> Any:
        """The same elements in a new shape (``-1`` once: inferred)."""
        return self._m.reshape(x, as_shape(shape))

    def stack(self, arrays: Sequence[Any], axis: int = 0) -> Any:
        """Join same-shaped arrays along a new axis."""
        return self._m.stack([self._array(a) for a in arrays], axis=axis)

    def concat(self, arrays: Sequence[Any], axis: int = 0) -> Any:
        """Join arrays along an existing axis."""
        return self._m.concatenate(list(arrays), axis=axis)

    def transpose(self, x: Any, axes: Sequence[int] | None = None) -> Any:
        """Permute the axes (reverse them when ``axes`` is None)."""
        return self._m.transpose(x, axes)

    def expand_dims(self, x: Any, axis: int) -> Any:
        """Insert a size-1 axis at ``axis``."""
        return self._m.expand_dims(x, axis)

    # ---- products, gathers, shifts ----
    def matmul(self, a: Any, b: Any) -> Any:
        """``numpy.matmul``: matrix product, 1-D operands as vectors."""
        return self._m.matmul(a, b)

    def outer(self, a: Any, b: Any) -> Any:
        """The outer product of two vectors (flattened first, as NumPy does)."""
        return self._m.outer(a, b)

    def tensordot(self, a: Any, b: Any, axes: Any = 2) -> Any:
        """``numpy.tensordot``: sum over the last ``axes`` axes of a and the first of b."""
        return self._m.tensordot(a, b, axes=axes)

    def einsum(self, subscripts: str, *operands: Any) -> Any:
        """Einstein summation, ``numpy.einsum``'s subscripts."""
        return self._m.einsum(subscripts, *operands)

    def trace(self, x: Any) -> Any:
        """Sum of the diagonal over the first two axes."""
        return self._m.trace(x)

    def take(self, x: Any, indices: Any, axis: int | None = None) -> Any:
        """Elements at ``indices`` along ``axis`` (of the flattened array when None)."""
        return self._m.take(x, indices, axis=axis)

    def roll(self, x: Any, shift: Any, axis: Axis = None) -> Any:
        """Shift elements cyclically along ``axis`` (the flattened array when None)."""
        return self._m.roll(x, shift, axis=axis)

    # ---- creation ----
    def eye(self, n: int, dtype: Any = None) -> Any:
        """The n×n identity in the run's dtype."""
        return self._m.eye(n, dtype=dtype or self._dtype)

    def zeros(self, shape: Any, dtype: Any = None) -> Any:
        """Zeros of ``shape`` in the run's dtype."""
        return self._m.zeros(as_shape(shape), dtype=dtype or self._dtype)

    def ones(self, shape: Any, dtype: Any = None) -> Any:
        """Ones of ``shape`` in the run's dtype."""
        return self._m.ones(as_shape(shape), dtype=dtype or self._dtype)

    def full(self, shape: Any, value: Any, dtype: Any = None) -> Any:
        """``shape`` filled with ``value``, in the run's dtype."""
        return self._m.full(as_shape(shape), value, dtype=dtype or self._dtype)

    def zeros_like(self, x: Any) -> Any:
        """Zeros of ``x``'s shape and dtype."""
        return self._m.zeros_like(self._array(x))

    def ones_like(self, x: Any) -> Any:
        """Ones of ``x``'s shape and dtype."""
        return self._m.ones_like(self._array(x))


class NumPyNamespace(NumPyLikeNamespace):
    """The contract on NumPy: the reference (``check``), ``manual`` and ``finite``."""

    def __init__(self, dtype: Any = "float64", backend: str = "numpy") -> None:
        import numpy  # the module itself, not the lazy stand-in: no proxy on the hot path

        super().__init__(numpy, numpy.dtype(dtype), backend)


@functools.cache
def numpy_namespace(dtype: Any = "float64", backend: str = "numpy") -> NumPyNamespace:
    """The NumPy namespace of one dtype, made once per (dtype, backend)."""
    return NumPyNamespace(np.dtype(dtype), backend)


class JaxNamespace(NumPyLikeNamespace):
    """The contract on ``jax.numpy``: every function differentiable to any order."""

    def __init__(self, jnp: Any, logsumexp: Callable[..., Any], dtype: Any, backend: str) -> None:
        super().__init__(jnp, dtype, backend, logsumexp=logsumexp)

    def take(self, x: Any, indices: Any, axis: int | None = None) -> Any:
        """Elements at ``indices`` along ``axis``; negative indices count from the end as in
        NumPy (jax.numpy's default would fill out-of-range ones with NaN; here they wrap)."""
        if isinstance(indices, list | tuple):
            indices = np.asarray(indices)
        return self._m.take(x, indices, axis=axis, mode="wrap")


class AutogradNamespace(NumPyLikeNamespace):
    """The contract on ``autograd.numpy``.  autograd has no derivative of ``take`` or
    ``cumprod``: both are built here from operations it differentiates (indexing, and a
    running product of slices), so they work to every order."""

    def __init__(self, anp: Any, getval: Callable[[Any], Any], dtype: Any, backend: str) -> None:
        super().__init__(anp, dtype, backend)
        self._getval = getval  # autograd.tracer.getval: the value inside any boxes

    def _logsumexp_shift(self, x: Any, axis: Axis) -> Any:
        """The maximum as a constant, from the values inside autograd's boxes: its
        derivative would cancel anyway, and autograd's forward mode would give it a float64
        tangent.  An empty reduction shifts by 0, as NumPy's log of an empty sum is -inf."""
        raw = np.asarray(self._getval(x))
        top = np.max(raw, axis=axis, keepdims=True, initial=-np.inf)
        return np.where(np.isfinite(top), top, np.zeros_like(top))

    def take(self, x: Any, indices: Any, axis: int | None = None) -> Any:
        """Elements at ``indices`` along ``axis`` by integer-array indexing (differentiable
        in autograd, unlike ``numpy.take``)."""
        m = self._m
        x, ax = flatten_axis(x, axis, m.reshape)
        ax = ax % len(m.shape(x))
        index = np.asarray(indices)
        return x[(slice(None),) * ax + (index,)]

    def cumprod(self, x: Any, axis: int | None = None) -> Any:
        """Running product along ``axis``: each prefix product times the next slice."""
        m = self._m
        x, ax = flatten_axis(x, axis, m.reshape)
        ax = ax % len(m.shape(x))
        moved = m.moveaxis(x, ax, 0)
        prefix = moved[0]
        out = [prefix]
        for k in range(1, m.shape(moved)[0]):
            prefix = prefix * moved[k]
            out.append(prefix)
        return m.moveaxis(m.stack(out, axis=0), 0, ax)
