"""The backend interface: a few primitives per framework, every quantity composed from them.

Following HIPS autograd's ``differential_operators``, an adapter supplies only ``grad`` and
``jacobian`` (plus conversion, compilation and synchronisation); ``d1``..``d4``, ``hessian``,
``hvp``, ``vjp`` and ``jvp`` are compositions of those, written once here.  An adapter whose
framework has a faster idiom for one quantity (a vectorised Hessian, forward-over-reverse
products, a forward mode of its own) overrides that quantity's hook,
:meth:`Backend.hessian`, :meth:`Backend.hvp`, :meth:`Backend.jvp` or :meth:`Backend.vjp`,
and nothing else.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import sys
import warnings
from collections.abc import Callable, Hashable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from autodiff_bench.backends.namespace import numpy_namespace
from autodiff_bench.pytree import Layout, split_params, tree_map
from autodiff_bench.quantities import DIRECTIONAL, QUANTITIES

if TYPE_CHECKING:
    import numpy as np
else:
    from autodiff_bench.lazy import numpy as np

if TYPE_CHECKING:
    from autodiff_bench.targets import Point, Target

#: A function of the variable and the constants: ``fn(x, *rest)``.
Fn = Callable[..., Any]


#: Environment variables read once, at import, by the thread pools of NumPy's BLAS, OpenMP
#: (torch) and numexpr.
THREAD_ENV = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


class BackendUnavailable(Exception):
    """The framework is not installed or cannot run here (reported as ``unavailable``)."""


class QuantityUnsupported(Exception):
    """The backend cannot compute this quantity here (reported as ``unsupported``)."""


class Backend:
    """An automatic-differentiation framework behind one small interface.

    Subclasses set the class attributes and implement :meth:`load`, :meth:`asarray`,
    :meth:`to_numpy`, :meth:`grad` and :meth:`jacobian`; the rest has working defaults.
    """

    #: The id a user types (``--backends torch``).
    name: ClassVar[str] = ""
    #: Modes a user may select as ``name:mode``; the first is the default.
    modes: ClassVar[tuple[str, ...]] = ("default",)
    #: Importable module whose presence makes the backend available (None: always).
    module: ClassVar[str | None] = None
    #: Distributions that may provide it, for the version shown without importing.
    distributions: ClassVar[tuple[str, ...]] = ()
    #: How to install what is missing.
    install_hint: ClassVar[str] = ""
    #: One line for ``adbench list backends``.
    description: ClassVar[str] = ""
    #: What each mode computes each quantity with (``adbench list backends`` shows it);
    #: a mode without an entry is described by ``description`` alone.
    mode_descriptions: ClassVar[dict[str, str]] = {}
    #: Whether derivatives come from automatic differentiation (closed forms and finite
    #: differences do not; they never vote in the "closed form is suspect" diagnosis).
    is_autodiff: ClassVar[bool] = True
    #: Whether its values *are* the reference (the closed forms): ``check`` shows its column
    #: as the reference, not as a verdict on itself.
    is_reference: ClassVar[bool] = False
    #: Devices the backend can run on.
    devices: ClassVar[tuple[str, ...]] = ("cpu",)
    #: The highest derivative order this mode computes (higher ones are ``unsupported``).
    max_order: int = 99
    #: The mode ``train`` uses when the backend is named without one (None: the default
    #: mode); for a backend whose default mode costs too much per training step.
    training_mode: ClassVar[str | None] = None
    #: Which tolerance table judges its results: ``ad`` (exact up to round-off) or
    #: ``finite`` (truncation error too: looser).
    tolerance_class: ClassVar[str] = "ad"
    #: The array framework its derivatives run in (``numpy``, ``torch``, ``jax``,
    #: ``tensorflow``).  ``time`` takes an AD backend's ``ratio_to_manual`` against the
    #: closed form in the same framework (``manual:<framework>``) when manual has that mode,
    #: else against NumPy ``manual``.
    framework: ClassVar[str] = "numpy"
    #: float32 arithmetic asked for: ``default`` keeps the framework's own settings (what
    #: ``time`` measures: the framework at its best), ``highest`` turns reduced-precision
    #: paths such as TF32 off (what ``check`` judges).  See :meth:`set_exact_precision`.
    precision: str = "default"
    #: Whether a dict variable reaches the primitives packed into one flat vector (unpacked
    #: inside f; see :mod:`autodiff_bench.pytree`).  ``manual`` passes the dict itself.
    packs_variables: ClassVar[bool] = True

    def __init__(
        self,
        mode: str | None = None,
        dtype: str = "float64",
        device: str = "cpu",
        threads: int | None = None,
    ) -> None:
        self.mode = mode or self.modes[0]
        self.dtype = dtype
        self.device = device
        self.threads = threads
        self._loaded = False
        #: The xp contract in this framework (set by :meth:`load`); NumPy's until then.
        self.xp: Any = numpy_namespace(dtype, self.name or "numpy")
        # Composed (and compiled) functions by (target, quantity): points of one shape then
        # share one trace/compilation, as they would in a user's program.  The target is
        # kept with its function, so its id cannot be reused by another while cached.
        self._functions: dict[tuple[Any, ...], tuple[Target, Fn]] = {}

    # ---- identity -------------------------------------------------------------------------

    @property
    def label(self) -> str:
        """``name`` for the default mode, ``name:mode`` otherwise (a column heading)."""
        from autodiff_bench.model.records import backend_label

        return backend_label(self.name, self.mode, self.modes[0])

    @classmethod
    def summary(cls) -> str:
        """``description`` followed by one line per described mode, ``mode: what it computes
        each quantity with`` (the default mode marked): what ``adbench list backends`` shows."""
        lines = [cls.description]
        for mode in cls.modes:
            text = cls.mode_descriptions.get(mode)
            if text:
                marker = " (default)" if mode == cls.modes[0] and len(cls.modes) > 1 else ""
                lines.append(f"{mode}{marker}: {text}")
        return "\n".join(line for line in lines if line)

    @classmethod
    def is_available(cls) -> bool:
        """Whether the framework is importable, found without importing it."""
        return cls.module is None or importlib.util.find_spec(cls.module) is not None

    @classmethod
    def version(cls) -> str | None:
        """The installed version, from package metadata (no import)."""
        for dist in cls.distributions:
            found = distribution_version(dist)
            if found is not None:
                return found
        return None

    @classmethod
    def runtime(cls, mode: str) -> type[Backend]:
        """The backend class whose framework ``mode`` runs in: its import, availability,
        worker environment and worker process.  The class itself, except for a mode that
        borrows another framework (``manual:torch`` runs in torch's)."""
        return cls

    @classmethod
    def framework_of(cls, mode: str) -> str:
        """The framework ``mode`` computes in (see :attr:`framework`)."""
        return cls.runtime(mode).framework

    # ---- life cycle -----------------------------------------------------------------------

    def ensure_loaded(self) -> None:
        """Import and configure the framework once; raise :class:`BackendUnavailable`."""
        if self._loaded:
            return
        if not self.is_available():
            raise BackendUnavailable(f"{self.name} is not installed ({self.install_hint})")
        if self.device not in self.devices:
            where = "the CPU" if self.devices == ("cpu",) else " and ".join(self.devices)
            raise BackendUnavailable(f"{self.name} runs on {where} only")
        with quiet_native_stderr():
            self.load()
            if self.precision == "highest":
                self.apply_exact_precision()
        self._loaded = True

    def set_exact_precision(self) -> None:
        """Compute float32 at full precision: no TF32 or other reduced-precision matmul
        path (``check`` asks for this, so a speed setting is never reported as a wrong
        derivative).  Applied when the framework loads, at once if it already has."""
        self.precision = "highest"
        if self._loaded:
            with quiet_native_stderr():
                self.apply_exact_precision()

    @classmethod
    def worker_environment(cls, threads: int | None, device: str) -> dict[str, str]:
        """Environment variables a worker process needs before it imports the framework
        (thread pools, allocators and log switches are read once, at import).

        The default pins the thread pools of BLAS, OpenMP and numexpr when ``threads`` is
        given; adapters add their framework's own."""
        if threads is None:
            return {}
        return {k: str(threads) for k in THREAD_ENV}

    def thread_info(self) -> dict[str, Any]:
        """What the loaded framework says about its threads (recorded with timings)."""
        return {}

    def load(self) -> None:
        """Import the framework, set ``self.xp``, threads, float64 and the device."""

    # ---- precision and device (recorded in the run's environment) -------------------------

    def apply_exact_precision(self) -> None:
        """Turn the loaded framework's reduced-precision float32 paths off (TF32 matmuls and
        convolutions).  The default does nothing: NumPy has no such path."""

    def precision_flags(self) -> dict[str, Any]:
        """The loaded framework's effective precision switches, read back from it (not
        what was asked), for the run's environment.  Empty when it has none."""
        return {}

    def device_name(self) -> str | None:
        """The name of the GPU this backend computes on (None on the CPU or when the
        framework cannot say)."""
        return None

    # ---- primitives (per framework) -------------------------------------------------------

    def asarray(self, a: np.ndarray) -> Any:
        """A NumPy array as this framework's array, on the device, dtype kept."""
        return a

    def to_numpy(self, a: Any) -> np.ndarray:
        """This framework's array as a NumPy array (synchronising if needed)."""
        return np.asarray(a)

    def grad(self, f: Fn, create_graph: bool) -> Fn:
        """``x, *rest -> ∂f/∂x`` for scalar ``f``; ``create_graph`` keeps it differentiable."""
        raise NotImplementedError

    def jacobian(self, f: Fn, create_graph: bool) -> Fn:
        """``x, *rest -> ∂f/∂x`` of shape ``f.shape + x.shape``."""
        raise NotImplementedError

    def compile(self, fn: Fn) -> Fn:
        """The function as this mode runs it (jitted, traced, or unchanged)."""
        return fn

    def synchronize(self, value: Any) -> None:
        """Block until ``value`` is computed (asynchronous dispatch, GPU queues)."""

    def error_estimate(self) -> np.ndarray | None:
        """An element-wise estimate of the error of the last value :meth:`evaluate`
        returned, from a backend that estimates its own (finite differences); ``check``
        then judges it against the estimate.  None: exact up to round-off."""
        return None

    # ---- composition (written once) -------------------------------------------------------

    def hessian(self, f: Fn) -> Fn:
        """``x, *rest -> ∂²f/∂x²`` for scalar ``f``: the jacobian of the gradient.

        Adapters override it where their framework has a faster composition."""
        return self.jacobian(self.grad(f, create_graph=True), create_graph=False)

    def hvp(self, f: Fn) -> Fn:
        """``x, v, *rest -> (∂²f/∂x²) v``: the gradient of ⟨grad f, v⟩ (reverse over reverse).

        Adapters override it where their framework has a faster composition."""
        xp = self.xp
        inner = self.grad(f, create_graph=True)

        def directional(x: Any, v: Any, *rest: Any) -> Any:
            return xp.sum(inner(x, *rest) * v)

        return self.grad(directional, create_graph=False)

    def vjp(self, f: Fn) -> Fn:
        """``x, u, *rest -> uᵀ ∂f/∂x`` for array-valued ``f`` (u shaped like f(x)): the
        gradient of ⟨f, u⟩, one reverse pass.

        Adapters override it with their framework's own vjp."""
        xp = self.xp

        def weighted(x: Any, u: Any, *rest: Any) -> Any:
            return xp.sum(f(x, *rest) * u)

        return self.grad(weighted, create_graph=False)

    def jvp(self, f: Fn) -> Fn:
        """``x, v, *rest -> (∂f/∂x) v`` for array-valued ``f`` (v shaped like x).

        This default has no forward mode: it transposes the vjp.  uᵀJ is linear in u, so
        its gradient with respect to u, dotted with v, is J v (two reverse passes, the
        second through the first).  Adapters whose framework has forward mode override it."""
        xp = self.xp
        pullback = self.grad(lambda x, u, *rest: xp.sum(f(x, *rest) * u), create_graph=True)

        def transposed(u: Any, x: Any, v: Any, *rest: Any) -> Any:
            return xp.sum(pullback(x, u, *rest) * v)

        forward = self.grad(transposed, create_graph=False)

        def jv(x: Any, v: Any, *rest: Any) -> Any:
            # Any u gives the same answer (the pullback is linear in it): zeros of f's shape.
            return forward(xp.zeros_like(f(x, *rest)), x, v, *rest)

        return jv

    def derivative(self, f: Fn, quantity: str) -> Fn:
        """``quantity`` of ``f`` built from :meth:`grad`, :meth:`jacobian` and the hooks.

        ``dN``: grad applied N times (scalar x); ``hessian``, ``hvp``, ``jvp`` and ``vjp``
        as their hooks compose them (by default from :meth:`grad` and :meth:`jacobian`);
        ``jacobian`` is the primitive itself.  ``hvp`` and ``jvp`` take ``(x, v, *rest)``,
        ``vjp`` takes ``(x, u, *rest)``.
        """
        if quantity == "primal":
            return f
        if quantity in ("d1", "d2", "d3", "d4", "grad"):
            n = 1 if quantity == "grad" else int(quantity[1:])
            g = f
            for level in range(1, n + 1):
                # Every level but the outermost is differentiated again: keep its graph.
                g = self.grad(g, create_graph=level < n)
            return g
        if quantity == "hessian":
            return self.hessian(f)
        if quantity == "hvp":
            return self.hvp(f)
        if quantity == "jacobian":
            return self.jacobian(f, create_graph=False)
        if quantity == "jvp":
            return self.jvp(f)
        if quantity == "vjp":
            return self.vjp(f)
        raise QuantityUnsupported(f"{self.label} cannot compute '{quantity}'")

    def prepare(
        self, target: Target, quantity: str, point: Point, v: np.ndarray | None = None
    ) -> Callable[[], Any]:
        """A zero-argument call computing ``quantity`` of ``target`` at ``point`` (``v``: the
        direction of ``hvp`` and ``jvp``, the cotangent u of ``vjp``).

        Inputs are converted (and moved to the device) here, before anyone starts a clock.
        """
        self.ensure_loaded()
        if quantity not in QUANTITIES and quantity != "primal":
            raise QuantityUnsupported(f"unknown quantity '{quantity}'")
        cast = point.astype(self.dtype)
        x = self.asarray(cast.x) if cast.layout is None else self._variable(cast.layout, cast.x)
        layout = cast.layout
        arrays, static = split_params(cast.params)
        params = {k: self.asarray(a) for k, a in arrays.items()}
        if layout is None and not static:  # one array variable, every param an array
            fn = self.function(target, quantity)
        else:
            fn = self.function(target, quantity, variables=layout, static=static)
        if quantity in DIRECTIONAL:
            if v is None:
                raise ValueError(f"{quantity} needs a direction")
            packed = layout is not None and quantity != "vjp"  # u is shaped like f(x)
            vb = self._variable(layout, v) if packed else self.asarray(v.astype(self.dtype))
            return lambda: fn(x, vb, params)
        return lambda: fn(x, params)

    def _variable(self, layout: Layout | None, x: Any) -> Any:
        """An array variable, or a dict variable packed into one vector (a dict of this
        framework's arrays when the adapter does not pack), in this dtype on the device."""
        if layout is None:
            return self.asarray(np.asarray(x).astype(self.dtype))
        if not self.packs_variables:
            return {k: self.asarray(np.asarray(a).astype(self.dtype)) for k, a in x.items()}
        return self.asarray(layout.flatten(x).astype(self.dtype))

    def function(
        self,
        target: Target,
        quantity: str,
        *,
        variables: Layout | None = None,
        static: tuple[tuple[str, Any], ...] = (),
    ) -> Fn:
        """The composed, compiled ``quantity`` of ``target`` as ``fn(x, [v,] params)``.

        With a dict variable, ``x`` is the flat vector of ``variables`` (f unpacks it); the
        ``static`` params are closed over, so no compiler ever traces them."""
        xp = self.xp
        if variables is None and not static:

            def f(x: Any, params: Mapping[str, Any]) -> Any:
                return target.f(xp, x, params)

            return self.cached_function(
                target, quantity, lambda: self.compile(self.derivative(f, quantity))
            )
        constants = dict(static)
        unpack = variables.unpack if variables is not None else None

        def f_of(x: Any, params: Mapping[str, Any]) -> Any:
            return target.f(xp, x if unpack is None else unpack(xp, x), {**params, **constants})

        return self.cached_function(
            target,
            quantity,
            lambda: self.compile(self.derivative(f_of, quantity)),
            variant=(variables, static),
        )

    def cached_function(
        self,
        target: Target,
        quantity: str,
        build: Callable[[], Fn],
        variant: Hashable = None,
    ) -> Fn:
        """``build()``, once per (target, quantity) for the life of this adapter (and per
        ``variant``: a dict variable's layout and the static params' values)."""
        key: Any = (id(target), quantity) if variant is None else (id(target), quantity, variant)
        if key not in self._functions:
            self._functions[key] = (target, build())
        return self._functions[key][1]

    def evaluate(
        self, target: Target, quantity: str, point: Point, v: np.ndarray | None = None
    ) -> np.ndarray:
        """``quantity`` of ``target`` at ``point`` as a NumPy array (for a dict variable, in
        its structure: dicts of NumPy arrays, see :mod:`autodiff_bench.pytree`)."""
        call = self.prepare(target, quantity, point, v)
        with quiet_native_stderr():
            value = call()
            self.synchronize(value)
        layout = point.layout
        if layout is None:
            return self.to_numpy(value)
        if isinstance(value, Mapping):  # a closed form returns the structure itself
            return tree_map(self.to_numpy, value)
        return layout.structured(quantity, self.to_numpy(value))


@functools.cache
def distribution_version(dist: str) -> str | None:
    """An installed distribution's version, looked up once per process (each look-up scans
    the package metadata on ``sys.path``: milliseconds that every record would pay)."""
    from autodiff_bench import distributions

    return distributions.version(dist)


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Swallow what native code writes to file descriptor 2 (TensorFlow's C++ logging,
    oneDNN and XLA notices), which Python-level settings cannot reach.

    Python exceptions still propagate; only the raw stream is redirected.
    """
    if os.environ.get("ADBENCH_SHOW_FRAMEWORK_LOGS"):
        yield
        return
    try:
        saved = os.dup(2)
    except OSError:  # no usable stderr (e.g. closed): nothing to hide
        yield
        return
    sink = os.open(os.devnull, os.O_WRONLY)
    # Python-level warnings too (autograd's "Output seems independent of input", JAX's).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sys.stderr.flush()
        os.dup2(sink, 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            os.close(sink)
