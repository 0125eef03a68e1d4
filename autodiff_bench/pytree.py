"""Several variables and static parameters: a target's ``x`` may be a dict of arrays.

A dict variable ``{name: array}`` (one level, names in the order given) is packed into one
flat vector for the AD frameworks, and unpacked inside f by slicing and reshaping with
``xp``: every framework then differentiates a function of one array, so each of its
gradient, Hessian, hvp and forward-mode paths is the one an array target takes, at the same
speed.  The results are unpacked back into the variable's structure:

- ``grad``, ``hvp`` and ``vjp``: like x, ``{name: array of that variable's shape}``;
- ``hessian``: blocks as nested dicts, ``H[a][b]`` of shape ``x[a].shape + x[b].shape``
  (JAX's convention for ``jax.hessian`` of a dict);
- ``jacobian``: ``{name: array of shape f.shape + x[name].shape}``;
- ``jvp`` and f itself: an array of f's shape, as for an array variable.

Closed forms of a dict target return those same structures.  ``check`` compares the
*flattened* arrays (one tolerance scale for the whole gradient or Hessian, as for an array
variable) and names the worst element by variable, e.g. ``means[1, 0]``.

A parameter that is a Python ``int``, ``bool`` or ``str`` (or a tuple of them) is *static*:
it is passed to f as that Python value, never converted to an array, cast or traced by a
compiler (frameworks close over it), so it can size arrays and steer Python code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import reduce
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import DTypeLike
else:
    from autodiff_bench.lazy import numpy as np

#: Quantities whose value is shaped like the variable.
LIKE_X = ("grad", "hvp", "vjp")


class StructureError(ValueError):
    """A value does not have the structure of the target's dict variable."""


def is_static(value: Any) -> bool:
    """Whether a parameter stays a Python value (``int``, ``bool``, ``str``, ``None`` or a
    tuple of them): never an array, never traced."""
    if isinstance(value, tuple):
        return all(is_static(v) for v in value)
    return value is None or isinstance(value, bool | int | str)


def split_params(
    params: Mapping[str, Any],
) -> tuple[dict[str, Any], tuple[tuple[str, Any], ...]]:
    """``(arrays, static)``: the parameters a backend converts, and the static ones as
    sorted ``(name, value)`` pairs (hashable: they key a compiled function)."""
    arrays = {k: v for k, v in params.items() if not is_static(v)}
    static = tuple(sorted((k, v) for k, v in params.items() if is_static(v)))
    return arrays, static


def as_variable(x: Mapping[str, Any], dtype: DTypeLike = None) -> dict[str, np.ndarray]:
    """A dict variable with every leaf a floating-point array (``dtype``, or float64 for
    leaves that are not floating already); a leaf that is not an array of numbers is a
    :class:`StructureError` naming it."""
    if not x:
        raise StructureError("a dict variable needs at least one array")
    out = {}
    for name, leaf in x.items():
        if not isinstance(name, str):
            raise StructureError(f"variable names must be strings, not {name!r}")
        bad = isinstance(leaf, Mapping | str | bytes) or leaf is None
        a = None if bad else np.asarray(leaf)
        if a is None or not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_):
            kind = type(leaf).__name__
            raise StructureError(
                f"variable x['{name}'] is a {kind}, not an array of numbers "
                "(a dict variable maps names to arrays, one level deep)"
            )
        if dtype is not None:
            a = a.astype(dtype)
        elif not np.issubdtype(a.dtype, np.floating):
            a = a.astype(np.float64)
        out[name] = a
    return out


@dataclass(frozen=True)
class Layout:
    """The names and shapes of a dict variable, in order: how it packs into one vector."""

    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]

    @classmethod
    def of(cls, x: Any) -> Layout | None:
        """The layout of a dict variable; None for an array variable."""
        if not isinstance(x, Mapping):
            return None
        return cls(tuple(x), tuple(tuple(int(n) for n in np.shape(a)) for a in x.values()))

    def items(self) -> Iterator[tuple[str, tuple[int, ...]]]:
        """``(name, shape)`` per variable, in order."""
        return zip(self.names, self.shapes, strict=True)

    @property
    def sizes(self) -> tuple[int, ...]:
        """Elements per variable."""
        return tuple(int(np.prod(s, dtype=np.int64)) for s in self.shapes)

    @property
    def offsets(self) -> tuple[int, ...]:
        """Where each variable starts in the flat vector (and, last, its length)."""
        out = [0]
        for n in self.sizes:
            out.append(out[-1] + n)
        return tuple(out)

    @property
    def size(self) -> int:
        """The flat vector's length."""
        return self.offsets[-1]

    def describe(self) -> str:
        """``{alphas: (3,), means: (3, 2)}``: what a value like x must look like."""
        return "{" + ", ".join(f"{n}: {s}" for n, s in self.items()) + "}"

    # ---- packing (NumPy, outside any clock) -----------------------------------------------

    def _leaves(self, tree: Any, what: str, lead: tuple[int, ...] = ()) -> list[np.ndarray]:
        """The leaves of a dict like x (each of shape ``lead + x[name].shape``), checked."""
        if not isinstance(tree, Mapping) or set(tree) != set(self.names):
            got = sorted(tree) if isinstance(tree, Mapping) else type(tree).__name__
            raise StructureError(
                f"{what} is {got}, expected a dict with keys {', '.join(self.names)} "
                f"(shaped like the variable, {self.describe()})"
            )
        leaves = []
        for name, shape in self.items():
            a = np.asarray(tree[name])
            if a.shape != lead + shape:
                raise StructureError(
                    f"{what}['{name}'] has shape {a.shape}, expected {lead + shape}"
                )
            leaves.append(a)
        return leaves

    def flatten(self, tree: Any, what: str = "the value") -> np.ndarray:
        """A dict like x as one flat vector (NumPy)."""
        leaves = self._leaves(tree, what)
        return np.concatenate([a.reshape(-1) for a in leaves])

    def unflatten(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """One flat vector (trailing axis) as a dict like x (NumPy): ``flat[..., i]``."""
        lead = flat.shape[:-1]
        o = self.offsets
        return {
            name: flat[..., o[i] : o[i + 1]].reshape(lead + shape)
            for i, (name, shape) in enumerate(self.items())
        }

    def unpack(self, xp: Any, flat: Any) -> dict[str, Any]:
        """Inside f: the flat vector as the dict variable, by slicing and ``xp.reshape``
        (differentiable on every backend)."""
        o = self.offsets
        return {
            name: xp.reshape(flat[o[i] : o[i + 1]], shape)
            for i, (name, shape) in enumerate(self.items())
        }

    # ---- quantities -----------------------------------------------------------------------

    def structured(self, quantity: str, flat: np.ndarray) -> Any:
        """A quantity computed on the flat vector, in the variable's structure (see the
        module's docstring); unchanged for f, ``jvp`` and scalar quantities."""
        if quantity in LIKE_X:
            return self.unflatten(flat)
        if quantity == "jacobian":
            return self.unflatten(flat)
        if quantity == "hessian":
            o, h = self.offsets, flat.reshape(self.size, self.size)
            return {
                a: {
                    b: h[o[i] : o[i + 1], o[j] : o[j + 1]].reshape(sa + sb)
                    for j, (b, sb) in enumerate(self.items())
                }
                for i, (a, sa) in enumerate(self.items())
            }
        return flat

    def flat(self, quantity: str, value: Any, what: str) -> np.ndarray:
        """A quantity in the variable's structure as the flat array it is compared as
        (``(N,)``, ``(N, N)`` for the Hessian, ``f.shape + (N,)`` for the Jacobian);
        a :class:`StructureError` says what does not fit."""
        if quantity in LIKE_X:
            return self.flatten(value, what)
        if quantity == "jacobian":
            if not isinstance(value, Mapping) or not value:
                return self.flatten(value, what)
            lead = np.shape(next(iter(value.values())))
            first = self.shapes[0]
            out_shape = tuple(lead[: len(lead) - len(first)])
            leaves = self._leaves(value, what, out_shape)
            return np.concatenate([a.reshape((*out_shape, -1)) for a in leaves], axis=-1)
        if quantity == "hessian":
            outer = self._leaves_of_blocks(value, what)
            return np.concatenate(
                [
                    np.concatenate([b.reshape(n, -1) for b in row], axis=1)
                    for row, n in zip(outer, self.sizes, strict=True)
                ],
                axis=0,
            )
        return np.asarray(value)

    def _leaves_of_blocks(self, value: Any, what: str) -> list[list[np.ndarray]]:
        if not isinstance(value, Mapping) or set(value) != set(self.names):
            got = sorted(value) if isinstance(value, Mapping) else type(value).__name__
            raise StructureError(
                f"{what} is {got}, expected Hessian blocks H[a][b] for a, b in "
                f"{', '.join(self.names)} (H[a][b] of shape x[a].shape + x[b].shape)"
            )
        return [self._leaves(value[a], f"{what}['{a}']", shape) for a, shape in self.items()]

    def element(self, i: int) -> str:
        """The flat vector's element ``i`` by name: ``means[1, 0]`` (``alpha`` for a
        0-d variable)."""
        o = self.offsets
        k = next(j for j in range(len(self.names)) if o[j] <= i < o[j + 1])
        shape = self.shapes[k]
        if not shape:
            return self.names[k]
        idx = np.unravel_index(i - o[k], shape)
        return f"{self.names[k]}[{', '.join(str(int(n)) for n in idx)}]"

    def index_label(self, quantity: str) -> Callable[[tuple[int, ...]], str] | None:
        """How ``check`` names an index of the flat quantity (None: as for an array)."""
        if quantity in LIKE_X or quantity == "hessian":
            return lambda idx: ", ".join(self.element(i) for i in idx)
        if quantity == "jacobian":

            def label(idx: tuple[int, ...]) -> str:
                out = f"[{', '.join(map(str, idx[:-1]))}] " if len(idx) > 1 else ""
                return f"{out}by {self.element(idx[-1])}"

            return label
        return None

    # ---- closed forms derived from the Hessian or Jacobian, in any xp -------------------

    def contract(self, xp: Any, quantity: str, whole: Any, v: Any) -> Any:
        """``hvp`` (H v), ``jvp`` (J v) or ``vjp`` (uᵀJ) from Hessian blocks or a
        Jacobian dict, with ``v`` a dict like x (``u`` shaped like f for ``vjp``)."""

        def total(terms: list[Any]) -> Any:
            return reduce(lambda a, b: a + b, terms)

        if quantity == "vjp":
            return {b: xp.tensordot(v, whole[b], axes=np.ndim(v)) for b in self.names}
        if quantity == "jvp":
            return total([xp.tensordot(whole[b], v[b], axes=len(s)) for b, s in self.items()])
        return {
            a: total([xp.tensordot(whole[a][b], v[b], axes=len(s)) for b, s in self.items()])
            for a in self.names
        }


def cast(x: Any, dtype: DTypeLike) -> Any:
    """An array or a dict variable in ``dtype``."""
    if isinstance(x, Mapping):
        return {k: np.asarray(a).astype(dtype) for k, a in x.items()}
    return np.asarray(x).astype(dtype)


def variable_size(x: Any) -> int:
    """Elements of an array or of every array of a dict variable."""
    if isinstance(x, Mapping):
        return sum(int(np.size(a)) for a in x.values())
    return int(np.size(x))


def variable_dtype(x: Any) -> np.dtype:
    """The dtype of an array variable, or of a dict variable's first array."""
    if isinstance(x, Mapping):
        return np.asarray(next(iter(x.values()))).dtype
    return np.asarray(x).dtype


def tree_map(fn: Callable[[Any], Any], value: Any) -> Any:
    """``fn`` applied to every array of a value (dicts, nested for Hessian blocks)."""
    if isinstance(value, Mapping):
        return {k: tree_map(fn, v) for k, v in value.items()}
    return fn(value)


def tolist(x: Any) -> Any:
    """A variable as JSON-ready lists (a dict of lists for a dict variable)."""
    return tree_map(lambda a: np.asarray(a).tolist(), x)


__all__ = [
    "LIKE_X",
    "Layout",
    "StructureError",
    "as_variable",
    "cast",
    "is_static",
    "split_params",
    "tolist",
    "tree_map",
    "variable_dtype",
    "variable_size",
]
