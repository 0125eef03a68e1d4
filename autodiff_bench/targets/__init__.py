"""The target registry: functions written once against an array namespace ``xp``.

A :class:`Target` bundles the function ``f(xp, x, params)``, its closed-form derivatives
(written against ``xp`` too, so they run in NumPy and inside every framework), a seeded input
sampler and the canonical points.  Built-ins live in this folder;
users register their own from a file passed with ``--targets-file`` through the same
:func:`register` call.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autodiff_bench.backends.namespace import numpy_namespace
from autodiff_bench.errors import UsageError, unknown_name
from autodiff_bench.pytree import (
    Layout,
    as_variable,
    cast,
    is_static,
    variable_dtype,
    variable_size,
)
from autodiff_bench.quantities import (
    DIRECTIONAL,
    JACOBIAN_QUANTITIES,
    SCALAR_QUANTITIES,
    VECTOR_QUANTITIES,
)
from autodiff_bench.userfiles import import_user_file
from autodiff_bench.xp_contract import README_SECTION

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import DTypeLike
else:
    from autodiff_bench.lazy import numpy as np

#: ``f(xp, x, params)``: the target written against a backend's array namespace.
TargetFunction = Callable[[Any, Any, Mapping[str, Any]], Any]
#: ``closed(xp, x, params)`` (``hvp`` and ``jvp``: ``closed(xp, x, params, v)``, ``vjp``:
#: ``closed(xp, x, params, u)``): a derivative written against a namespace; the NumPy-only
#: style ``closed(x, params)`` is accepted too.
ClosedForm = Callable[..., Any]
#: ``sample(rng, size)``: a random point for a given size.
Sampler = Callable[["np.random.Generator", int], "Point"]


@dataclass(frozen=True)
class Point:
    """Where a target is evaluated: the variable ``x`` and the constant ``params``.

    ``x`` is an array, or a dict of arrays for several variables (see
    :mod:`autodiff_bench.pytree`); a param that is a Python int, bool or str stays that
    Python value (static), the others are arrays.
    """

    x: np.ndarray | Mapping[str, np.ndarray]
    params: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""
    #: A point in a tail where closed forms and frameworks lose digits (logistic at z = 30,
    #: tanh at x = 10): ``check --stress`` adds these to the canonical points.
    stress: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.x, Mapping):  # several variables: every leaf an array of numbers
            object.__setattr__(self, "x", as_variable(self.x))

    @classmethod
    def scalar(
        cls, x: float, label: str | None = None, *, stress: bool = False, **params: Any
    ) -> Point:
        """A point for a scalar target at ``x``."""
        return cls(
            np.asarray(x, dtype=np.float64),
            {k: np.asarray(v, dtype=np.float64) for k, v in params.items()},
            label or f"x={x:g}",
            stress,
        )

    @classmethod
    def of(cls, x: Any, label: str, *, stress: bool = False, **params: Any) -> Point:
        """A point from array-likes, stored in float64."""
        return cls(
            as_variable(x, np.float64)
            if isinstance(x, Mapping)
            else np.asarray(x, dtype=np.float64),
            {k: v if is_static(v) else np.asarray(v, dtype=np.float64) for k, v in params.items()},
            label,
            stress,
        )

    def astype(self, dtype: DTypeLike) -> Point:
        """The same point with ``x`` and every param cast to ``dtype`` (static params, Python
        ints and strings, left alone)."""
        if isinstance(self.x, Mapping) or any(is_static(v) for v in self.params.values()):
            return Point(
                cast(self.x, dtype),
                {
                    k: v if is_static(v) else np.asarray(v).astype(dtype)
                    for k, v in self.params.items()
                },
                self.label,
                self.stress,
            )
        return Point(
            self.x.astype(dtype),
            {k: np.asarray(v).astype(dtype) for k, v in self.params.items()},
            self.label,
            self.stress,
        )

    @property
    def size(self) -> int:
        """The number of elements of ``x`` (of all its arrays for a dict variable)."""
        return variable_size(self.x)

    @property
    def layout(self) -> Layout | None:
        """How a dict variable packs into one vector; None for an array variable."""
        return Layout.of(self.x)


class LazyPoints(Sequence[Point]):
    """Canonical points built on first use from a zero-argument function, so that registering
    a target (``adbench list`` registers them all) costs no array work."""

    def __init__(self, build: Callable[[], Sequence[Point]]) -> None:
        self._build = build
        self._points: tuple[Point, ...] | None = None

    def _resolved(self) -> tuple[Point, ...]:
        if self._points is None:
            self._points = tuple(self._build())
        return self._points

    def __getitem__(self, index: Any) -> Any:
        return self._resolved()[index]

    def __len__(self) -> int:
        return len(self._resolved())

    def __repr__(self) -> str:
        return repr(list(self._resolved())) if self._points is not None else "LazyPoints(...)"


def scalar_sampler(low: float, high: float) -> Sampler:
    """A sampler drawing ``x`` uniformly from ``[low, high]`` (``size`` is ignored)."""

    def sample(rng: np.random.Generator, size: int) -> Point:
        return Point.scalar(float(rng.uniform(low, high)))

    return sample


@dataclass(frozen=True)
class Target:
    """One function with its closed-form derivatives.

    ``closed_forms`` maps a quantity (``d1``..``d4`` for scalar targets, ``grad`` and
    ``hessian`` for scalar-valued functions of an array, ``jacobian`` for vector-valued
    ones) to a function written against the array namespace, like ``f``: ``closed(xp, x,
    params)``; ``hvp`` is derived from ``hessian`` unless given (as ``closed(xp, x, params,
    v)``), ``jvp`` and ``vjp`` from ``jacobian`` unless given (as ``closed(xp, x, params, v)``
    with v shaped like x, and ``closed(xp, x, params, u)`` with u shaped like f(x)).  Such a
    closed form runs in NumPy (the reference of ``check``) and inside every framework
    (``manual:torch``, ``manual:jax``, ``manual:tensorflow``).

    Which closed forms a target has says what f returns: ``jacobian``, ``jvp`` or ``vjp``
    make it vector-valued (an array; the Jacobian has shape ``f(x).shape + x.shape``), the
    others scalar-valued.  The two kinds cannot be mixed in one target.

    A target may have no closed forms at all: it then says which ``quantities`` to check,
    and ``check`` judges each backend against ``--reference BACKEND`` or, by default, the
    agreement of the AD backends, cross-checked by finite differences.

    A closed form written in plain NumPy, ``closed(x, params)`` (``hvp``, ``jvp``, ``vjp``:
    ``closed(x, params, v)``), still works for ``check`` and NumPy ``manual``; under a
    framework mode it is ``unsupported``.  The style is told by the number of positional
    parameters *without a default value*: 3 (hvp, jvp, vjp: 4) is the ``xp`` style, 2 (hvp,
    jvp, vjp: 3) the NumPy style; any other count is refused when the target is built.
    ``tolerances`` overrides the policy's ``(rtol, atol)`` per quantity.
    """

    name: str
    formula: str
    f: TargetFunction
    closed_forms: Mapping[str, Callable[..., np.ndarray]]
    sample: Sampler
    #: The canonical points, or a zero-argument function returning them (called on first use).
    canonical: Sequence[Point] | Callable[[], Sequence[Point]] = ()
    closed_form_text: Mapping[str, str] = field(default_factory=dict)
    tolerances: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    domain: tuple[float, float] = (-math.inf, math.inf)
    default_size: int = 5
    notes: Callable[[Point], Mapping[str, float]] | None = None
    description: str = ""
    #: Sizes ``adbench time`` uses for this target by default, in place of its defaults
    #: (a target whose Hessian grows faster than n² needs smaller ones).
    timing_sizes: Sequence[int] | None = None
    #: Whether ``check`` and ``time`` include it when no ``--targets`` is given (``--targets
    #: all``, or a ``--quantities`` only it has, always does).
    default_suite: bool = True
    #: The quantities to check: ``("d1", "d2")`` (a scalar x), ``("grad", "hessian",
    #: "hvp")`` (a scalar f of an array) or ``("jacobian", "jvp", "vjp")`` (a vector-valued
    #: f), one kind.  Required for a target without closed forms (``check`` then judges it
    #: against ``--reference BACKEND`` or the AD backends' agreement); with closed forms it
    #: defaults to what they give, and may only narrow it.  Filled in here, in canonical order.
    quantities: Sequence[str] = ()
    #: ``xp`` or ``numpy`` per closed form (see :func:`closed_form_style`), filled in here.
    _styles: Mapping[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if (
            not self.name
            or not self.name.replace("_", "").isalnum()
            or self.name != self.name.lower()
        ):
            raise ValueError(f"target name '{self.name}' must be a lowercase identifier")
        object.__setattr__(self, "quantities", self._resolved_quantities())
        if callable(self.canonical):
            object.__setattr__(self, "canonical", LazyPoints(self.canonical))
        for q, pair in self.tolerances.items():
            ok = isinstance(pair, tuple | list) and len(pair) == 2
            if not ok or not all(isinstance(t, int | float) and t >= 0 for t in pair):
                raise ValueError(
                    f"target '{self.name}': tolerances['{q}'] must be (rtol, atol), not {pair!r}"
                )
        if self.is_scalar:
            allowed, kind = SCALAR_QUANTITIES, "scalar"
        elif self.is_vector_valued:
            allowed, kind = JACOBIAN_QUANTITIES, "vector-valued"
        else:
            allowed, kind = VECTOR_QUANTITIES, "vector"
        for q in self.closed_forms:
            if q not in allowed:
                raise ValueError(
                    f"target '{self.name}': closed form '{q}' is not a {kind} quantity "
                    f"(use {', '.join(allowed)}; a target is one kind)"
                )
        for q in self.quantities:
            if q not in allowed:
                raise ValueError(
                    f"target '{self.name}': quantity '{q}' is not a {kind} quantity "
                    f"(use {', '.join(allowed)}; a target is one kind)"
                )
        styles = {q: closed_form_style(self.name, q, fn) for q, fn in self.closed_forms.items()}
        object.__setattr__(self, "_styles", styles)

    def written_against_xp(self, quantity: str) -> bool:
        """Whether the closed form of ``quantity`` is ``closed(xp, x, params)`` (so it runs in
        every framework) rather than NumPy-only; a derived ``hvp`` follows the Hessian's, a
        derived ``jvp`` or ``vjp`` the Jacobian's."""
        return self._styles[self.closed_form_source(quantity)] == "xp"

    def closed_form_source(self, quantity: str) -> str:
        """The closed form ``quantity`` is computed from: its own, else ``hessian`` (for
        ``hvp``) or ``jacobian`` (for ``jvp`` and ``vjp``)."""
        if quantity in self.closed_forms:
            return quantity
        return "hessian" if quantity == "hvp" else "jacobian"

    def _resolved_quantities(self) -> tuple[str, ...]:
        """The quantities to check in canonical order: those given (each with a closed form,
        when the target has closed forms), else those its closed forms give."""
        order = SCALAR_QUANTITIES + VECTOR_QUANTITIES + JACOBIAN_QUANTITIES
        given = tuple(self.quantities)
        if isinstance(self.quantities, str) or not all(isinstance(q, str) for q in given):
            raise ValueError(
                f"target '{self.name}': quantities must be a tuple of names such as "
                f"('grad', 'hessian'), not {self.quantities!r}"
            )
        unknown = [q for q in given if q not in order]
        if unknown:
            raise ValueError(
                f"target '{self.name}': unknown quantity '{unknown[0]}' (use {', '.join(order)})"
            )
        if not self.closed_forms:
            if not given:
                raise ValueError(
                    f"target '{self.name}' has no closed forms and no quantities: give "
                    "closed_forms, or quantities=('grad', ...) to check it against a "
                    "reference backend"
                )
            return tuple(q for q in order if q in given)
        have = set(self.closed_forms)
        if "hessian" in have:
            have.add("hvp")
        if "jacobian" in have:
            have.update(("jvp", "vjp"))
        missing = [q for q in given if q not in have]
        if missing:
            raise ValueError(
                f"target '{self.name}': quantity '{missing[0]}' has no closed form; give "
                "closed forms for every quantity, or none (the reference is then a backend)"
            )
        return tuple(q for q in order if q in (given or have))

    @property
    def has_closed_forms(self) -> bool:
        """Whether ``check`` judges it against its closed forms (else: against a reference
        backend or the AD backends' agreement)."""
        return bool(self.closed_forms)

    @property
    def is_scalar(self) -> bool:
        """Whether ``x`` is a single number (quantities ``d1``..``d4``)."""
        return any(q in SCALAR_QUANTITIES for q in (*self.closed_forms, *self.quantities))

    @property
    def is_vector_valued(self) -> bool:
        """Whether f returns an array (quantities ``jacobian``, ``jvp``, ``vjp``), told by
        its closed forms or its quantities."""
        return any(q in JACOBIAN_QUANTITIES for q in (*self.closed_forms, *self.quantities))

    def value(self, point: Point) -> np.ndarray:
        """f at ``point``, evaluated with NumPy (the xp contract in the point's dtype)."""
        xp = numpy_namespace(variable_dtype(point.x))
        return np.asarray(self.f(xp, point.x, point.params))

    def closed_form(self, quantity: str, point: Point, v: Any = None, xp: Any = None) -> Any:
        """The closed-form ``quantity`` at ``point`` (``v`` is the direction of ``hvp`` and
        ``jvp``, the cotangent u of ``vjp``), evaluated with NumPy: ``xp`` is the NumPy
        namespace to use (default: the xp contract on NumPy in the point's dtype).  An array;
        for a dict variable, the structures of :mod:`autodiff_bench.pytree`."""
        if xp is None:
            xp = numpy_namespace(variable_dtype(point.x))
        layout = point.layout
        if layout is not None:  # several variables: the structures of adbench.pytree
            return self._closed_tree(layout, quantity, point, v, xp)
        if quantity not in DIRECTIONAL:
            return np.asarray(self._closed_numpy(quantity, point, xp))
        if v is None:
            raise ValueError(f"{quantity} needs a direction")
        source = self.closed_form_source(quantity)
        if source == quantity:
            return np.asarray(self._closed_numpy(quantity, point, xp, v))
        # From the Hessian or Jacobian, of shape out.shape + x.shape: contract x's axes
        # with v (H v, J v), or u with the output's axes (uᵀJ).
        whole = np.asarray(self._closed_numpy(source, point, xp))
        if quantity == "vjp":
            return np.tensordot(v, whole, axes=v.ndim)
        return np.tensordot(whole, v, axes=v.ndim)

    def _closed_tree(self, layout: Layout, quantity: str, point: Point, v: Any, xp: Any) -> Any:
        """A closed form of a dict-variable target, as it returns it (dicts of arrays)."""
        if quantity not in DIRECTIONAL:
            return self._closed_numpy(quantity, point, xp)
        if v is None:
            raise ValueError(f"{quantity} needs a direction")
        source = self.closed_form_source(quantity)
        if source == quantity:
            return self._closed_numpy(quantity, point, xp, v)
        return layout.contract(xp, quantity, self._closed_numpy(source, point, xp), v)

    def _closed_numpy(self, quantity: str, point: Point, xp: Any, *v: np.ndarray) -> Any:
        """One closed form evaluated with NumPy, whichever style it is written in."""
        fn = self.closed_forms[quantity]
        if self.written_against_xp(quantity):
            return fn(xp, point.x, point.params, *v)
        return fn(point.x, point.params, *v)

    def points(self, k: int, seed: int, size: int | None, *, stress: bool = False) -> list[Point]:
        """The canonical points (with the stress points among them when ``stress``) followed
        by ``k`` seeded random points of ``size``."""
        rng = np.random.default_rng(seed)
        n = size if size is not None else self.default_size
        drawn = []
        for i in range(k):
            p = self.sample(rng, n)
            drawn.append(Point(p.x, p.params, f"random#{i + 1}"))
        return [*(p for p in self.canonical if stress or not p.stress), *drawn]


_REGISTRY: dict[str, Target] = {}


def closed_form_style(target: str, quantity: str, fn: Callable[..., Any]) -> str:
    """``xp`` for ``closed(xp, x, params[, v])``, ``numpy`` for ``closed(x, params[, v])``
    (``v``: for ``hvp``, ``jvp`` and ``vjp``), told by the number of positional parameters
    without a default value (ValueError for anything else: the message says how to write
    it)."""
    extra = 1 if quantity in DIRECTIONAL else 0
    how = f"closed(xp, x, params{', v' if extra else ''})"
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        raise ValueError(
            f"target '{target}': the closed form of '{quantity}' has no readable signature; "
            f"write it as a Python function {how}"
        ) from None
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    required = [p for p in parameters if p.kind in kinds and p.default is p.empty]
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        required = []  # *args says nothing about the style
    if len(required) == 3 + extra:
        return "xp"
    if len(required) == 2 + extra:
        return "numpy"
    raise ValueError(
        f"target '{target}': the closed form of '{quantity}' takes {len(required)} positional "
        f"parameters; write it as {how} (or, NumPy only, closed(x, params{', v' if extra else ''}))"
    )


def direction(seed: int, target: str, index: int, shape: tuple[int, ...]) -> np.ndarray:
    """The seeded direction v for ``hvp`` at one point (the same for every backend, every
    process and every command)."""
    rng = np.random.default_rng([seed, index, sum(map(ord, target))])
    return rng.standard_normal(shape)


def quantity_direction(target: Target, quantity: str, point: Point, seed: int, index: int) -> Any:
    """The seeded second argument of ``quantity`` at one point, in float64: the direction v
    of ``hvp`` and ``jvp`` (x's shape; a dict like x for a dict variable) or the cotangent
    u of ``vjp`` (f's output shape, read from f at the point); None for the other
    quantities."""
    if quantity not in DIRECTIONAL:
        return None
    layout = point.layout
    if layout is not None and quantity != "vjp":  # a dict like x, from one flat draw
        return layout.unflatten(direction(seed, target.name, index, (layout.size,)))
    shape = target.value(point).shape if quantity == "vjp" else point.x.shape
    return direction(seed, target.name, index, shape)


def check_structure(target: Target) -> None:
    """For a target with a dict variable, at its first point: every closed form returns the
    structure of :mod:`autodiff_bench.pytree` (ValueError naming what does not fit).  A
    closed form or sampler that raises is left to the cells it belongs to."""
    try:
        first = (
            target.canonical[0]
            if target.canonical
            else target.sample(np.random.default_rng(0), target.default_size)
        )
    except ValueError:
        raise
    except Exception:  # a user's sampler: its cells report it
        return
    layout = first.layout
    if layout is None:
        return
    for quantity in target.quantities:
        try:
            v = quantity_direction(target, quantity, first, 0, 0)
            value = target.closed_form(quantity, first, v)
        except Exception:  # reported by the cells, with the point
            continue
        layout.flat(quantity, value, f"the closed form of '{quantity}'")


def registering_modules(targets: Sequence[Target]) -> tuple[str, ...]:
    """Modules that registered targets programmatically (not built-in, not a targets file):
    a worker process imports them so that those targets exist there too."""
    mods = []
    for t in targets:
        mod = getattr(t.f, "__module__", None) or ""
        if mod.startswith(("autodiff_bench.", "adbench_user_targets_")) or mod == "__main__":
            continue
        mods.append(mod)
    return tuple(dict.fromkeys(mods))


_BUILTINS_LOADED = False
_LOADED_FILES: dict[Path, list[str]] = {}


def register(target: Target) -> Target:
    """Add ``target`` to the registry (the one public way, for built-ins and user files)."""
    _load_builtins()  # built-ins keep their places first, whoever registers first
    if target.name in _REGISTRY and _REGISTRY[target.name] is not target:
        raise ValueError(f"a target named '{target.name}' is already registered")
    _REGISTRY[target.name] = target
    return target


#: The built-in target modules, in display order: scalar targets first.
BUILTIN_MODULES = ("scalar", "linalg", "regression", "vector")


def _load_builtins() -> None:
    global _BUILTINS_LOADED
    if not _BUILTINS_LOADED:
        _BUILTINS_LOADED = True
        for module in BUILTIN_MODULES:
            importlib.import_module(f"autodiff_bench.targets.{module}")


def _display_rank(target: Target) -> int:
    """A built-in's module position (whichever module was imported first: a program may
    import ``autodiff_bench.targets.linalg`` before the registry loads), users' after."""
    module = getattr(target.f, "__module__", "") or ""
    names = [f"autodiff_bench.targets.{m}" for m in BUILTIN_MODULES]
    return names.index(module) if module in names else len(names)


def all_targets() -> dict[str, Target]:
    """Every registered target, built-ins first (in module order), by name."""
    _load_builtins()
    ordered = sorted(_REGISTRY.values(), key=_display_rank)  # stable: registration order
    return {t.name: t for t in ordered}


def get_target(name: str) -> Target:
    """The target called ``name``; an unknown name is a :class:`UsageError` with a suggestion."""
    targets = all_targets()
    if name not in targets:
        raise unknown_name("target", name, targets)
    return targets[name]


def load_targets_file(path: str | Path) -> list[str]:
    """Import a user's targets file; return the names of the targets it registered."""
    _load_builtins()
    p = Path(path)
    if p.is_file() and p.resolve() in _LOADED_FILES:  # loading twice is a no-op, no clash
        return _LOADED_FILES[p.resolve()]
    before = set(_REGISTRY)
    import_user_file(
        p,
        "targets file",
        "adbench_user_targets_",
        value_error_hint=f"see '{README_SECTION}' in README",
    )
    added = [n for n in _REGISTRY if n not in before]
    for name in added:  # a dict variable's leaves and closed forms' structures, up front
        try:
            check_structure(_REGISTRY[name])
        except ValueError as exc:
            for bad in added:  # a file that does not load registers nothing
                del _REGISTRY[bad]
            raise UsageError(
                f"target '{name}': {exc}", f"see '{README_SECTION}' in README"
            ) from exc
    _LOADED_FILES[p.resolve()] = added
    if not added:
        raise UsageError(
            f"targets file '{p}' registered no target",
            "call autodiff_bench.register(Target(...)) in it",
        )
    return added


__all__ = [
    "ClosedForm",
    "Point",
    "Sampler",
    "Target",
    "TargetFunction",
    "all_targets",
    "check_size",
    "closed_form_style",
    "direction",
    "estimated_bytes",
    "get_target",
    "load_targets_file",
    "quantity_direction",
    "register",
    "registering_modules",
    "scalar_sampler",
]


def estimated_bytes(target: Target, size: int, with_hessian: bool = True) -> int:
    """Roughly how much memory one point of ``size`` needs (inputs, plus a Hessian).

    Measured on two small samples and extrapolated with the fitted growth exponent, so it
    works for user targets too.
    """
    rng = np.random.default_rng(0)
    if target.is_scalar:
        return 8 * target.sample(rng, 1).size

    def grown(count: Callable[[Point], int]) -> float:
        # Fit count ∝ sizeᵏ on sizes 4 and 8, then extrapolate to ``size``.
        c4, c8 = count(target.sample(rng, 4)), count(target.sample(rng, 8))
        k = math.log2(max(c8, 1) / max(c4, 1))
        return c8 * (size / 8) ** k

    total = grown(lambda p: p.size + sum(np.asarray(a).size for a in p.params.values()))
    if with_hessian:
        total += grown(lambda p: p.size) ** 2
    return int(8 * total)


def physical_memory_bytes() -> int | None:
    """Total RAM, when the platform tells."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def check_size(
    size: int | None, targets: Sequence[Target], with_hessian: bool = True, option: str = "--size"
) -> None:
    """Refuse a size that is not positive or would not fit in half the machine's memory
    (``option`` names the command-line option in the message)."""
    if size is None:
        return
    if size <= 0:
        raise UsageError(f"{option} must be a positive integer, not {size}", f"try {option} 10")
    ram = physical_memory_bytes()
    if ram is None:
        return
    for t in targets:
        try:
            need = estimated_bytes(t, size, with_hessian)
        except Exception as exc:  # a user's sampler
            raise UsageError(
                f"target '{t.name}': its sampler raised {type(exc).__name__}: {exc}",
                "fix the sample function in your targets file",
            ) from exc
        if need > ram // 2:
            raise UsageError(
                f"{option} {size} needs about {need / 2**30:.1f} GiB for '{t.name}'"
                f"{' (Hessian included)' if with_hessian and not t.is_scalar else ''}, "
                f"more than half of this machine's {ram / 2**30:.0f} GiB",
                "choose a smaller size"
                + (", or leave out the Hessian (--quantities grad,hvp)" if with_hessian else ""),
            )
