"""``manual``: the closed forms themselves, the reference and the manual side of timing.

The default mode, ``numpy``, evaluates the closed forms with NumPy: the reference of
``check``.  Modes ``torch``, ``jax`` and ``tensorflow`` run the *same* closed forms (they are
written against ``xp``) inside that framework, on the same device and in the same dtype as its
AD backend: everything framework-specific (import, ``xp``, conversions, synchronisation,
devices, worker environment) is delegated to that framework's backend class.  ``jax`` runs
jitted, ``tensorflow`` inside ``tf.function``, ``torch`` eagerly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from autodiff_bench.backends.base import Backend, Fn, QuantityUnsupported
from autodiff_bench.backends.jax_backend import JaxBackend, jit_naming_reasons
from autodiff_bench.backends.namespace import numpy_namespace, relabel
from autodiff_bench.backends.tensorflow_backend import (
    AutoGraphOnDemand,
    TensorFlowBackend,
    graph_naming_reasons,
)
from autodiff_bench.backends.torch_backend import TorchBackend
from autodiff_bench.pytree import Layout
from autodiff_bench.quantities import DIRECTIONAL

if TYPE_CHECKING:
    import numpy as np
else:
    from autodiff_bench.lazy import numpy as np

if TYPE_CHECKING:
    from autodiff_bench.targets import Point, Target


def cast_like(v: Any, dtype: str) -> Any:
    """A direction (an array, or a dict like a dict variable) in ``dtype``."""
    if isinstance(v, dict):
        return {k: np.asarray(a).astype(dtype) for k, a in v.items()}
    return v.astype(dtype)


#: The frameworks a closed form runs in besides NumPy: manual's modes, by name.
FRAMEWORKS: dict[str, type[Backend]] = {
    "torch": TorchBackend,
    "jax": JaxBackend,
    "tensorflow": TensorFlowBackend,
}


class ManualBackend(Backend):
    """Closed-form derivatives: in NumPy (the reference), or in torch, jax or tensorflow."""

    name = "manual"
    modes = ("numpy", *FRAMEWORKS)
    description = (
        "the target's closed-form derivatives (NumPy); :torch, :jax (jitted), "
        ":tensorflow (tf.function) = the same closed forms in that framework"
    )
    is_autodiff = False
    is_reference = True
    #: Closed forms take a dict variable as it is (and return its structures).
    packs_variables = False

    def __init__(
        self,
        mode: str | None = None,
        dtype: str = "float64",
        device: str = "cpu",
        threads: int | None = None,
    ) -> None:
        super().__init__(mode, dtype, device, threads)
        framework = FRAMEWORKS.get(self.mode)
        #: The framework's own adapter (None for NumPy): it loads, converts and syncs.
        self.engine: Backend | None = (
            None if framework is None else framework(None, dtype, device, threads)
        )

    @classmethod
    def runtime(cls, mode: str) -> type[Backend]:
        """The framework backend of mode ``torch``, ``jax`` or ``tensorflow``; NumPy's (this
        class) otherwise."""
        return FRAMEWORKS.get(mode, cls)

    def load(self) -> None:
        """Mode ``numpy``: the xp contract on NumPy in the run's dtype."""
        self.xp = numpy_namespace(self.dtype, self.label)

    # ---- the framework modes delegate to the framework's adapter --------------------------

    def ensure_loaded(self) -> None:
        """Load NumPy, or the framework through its adapter (same checks, same messages)."""
        if self.engine is None:
            super().ensure_loaded()
            return
        self.engine.ensure_loaded()
        self.xp = relabel(self.engine.xp, self.label)
        self._loaded = True

    def set_exact_precision(self) -> None:
        """Full float32 precision in the framework too (no TF32), as ``check`` asks."""
        super().set_exact_precision()
        if self.engine is not None:
            self.engine.set_exact_precision()

    def precision_flags(self) -> dict[str, Any]:
        """The framework's precision switches (none for NumPy)."""
        return {} if self.engine is None else self.engine.precision_flags()

    def device_name(self) -> str | None:
        """The framework's GPU name (None on the CPU)."""
        return None if self.engine is None else self.engine.device_name()

    def thread_info(self) -> dict[str, Any]:
        """What the framework says about its threads."""
        return {} if self.engine is None else self.engine.thread_info()

    def asarray(self, a: np.ndarray) -> Any:
        """The framework's array on its device (NumPy: unchanged)."""
        return a if self.engine is None else self.engine.asarray(a)

    def to_numpy(self, a: Any) -> np.ndarray:
        """Back to NumPy."""
        return np.asarray(a) if self.engine is None else self.engine.to_numpy(a)

    def synchronize(self, value: Any) -> None:
        """Wait for the framework (asynchronous dispatch, GPU queues)."""
        if self.engine is not None:
            self.engine.synchronize(value)

    def compile(self, fn: Fn) -> Fn:
        """``jax.jit`` for mode ``jax``; ``tf.function`` for ``tensorflow``, traced per input
        shape (a closed form may read shapes, as it may in NumPy) and without AutoGraph unless
        the trace needs it, as the tensorflow backend's; eager for ``torch``."""
        engine: Any = self.engine
        if self.mode == "jax":
            return jit_naming_reasons(engine.jax, fn, jit=True, instead="manual (NumPy)")
        if self.mode == "tensorflow":
            return graph_naming_reasons(engine.tf, AutoGraphOnDemand(engine.tf, fn), "tf.function")
        return fn

    # ---- closed forms -----------------------------------------------------------------------

    def prepare(
        self, target: Target, quantity: str, point: Point, v: np.ndarray | None = None
    ) -> Callable[[], Any]:
        """The closed form of ``quantity`` on the point cast to this dtype."""
        self.ensure_loaded()
        if quantity != "primal" and not target.closed_forms:
            raise QuantityUnsupported(
                f"'{target.name}' has no closed forms: its reference is a backend "
                "(--reference) or the AD backends' agreement"
            )
        if quantity != "primal" and quantity not in target.quantities:
            raise QuantityUnsupported(f"'{target.name}' has no closed form for '{quantity}'")
        if self.engine is not None:
            # Inputs converted and moved to the device here, before any clock (as for AD).
            return super().prepare(target, quantity, point, v)
        cast = point.astype(self.dtype)
        xp = self.xp
        # np.asarray with a dtype copies only when a closed form returned another dtype, so a
        # timed call is the closed form itself.
        if quantity == "primal":
            return lambda: np.asarray(target.f(xp, cast.x, cast.params), dtype=self.dtype)
        vc = None if v is None else cast_like(v, self.dtype)
        if cast.layout is not None:  # dicts of arrays, as the closed form returns them
            return lambda: target.closed_form(quantity, cast, vc, xp=xp)
        return lambda: np.asarray(target.closed_form(quantity, cast, vc, xp=xp), dtype=self.dtype)

    def derivative(self, f: Fn, quantity: str) -> Fn:
        """Not used: manual never differentiates."""
        raise QuantityUnsupported(f"{self.label} does not differentiate")

    def function(
        self,
        target: Target,
        quantity: str,
        *,
        variables: Layout | None = None,
        static: tuple[tuple[str, Any], ...] = (),
    ) -> Fn:
        """The compiled closed form as ``fn(x, [v,] params)`` in the framework (``x`` a dict
        for a dict variable; ``static`` params closed over, never traced)."""
        if variables is None and not static:
            return self.cached_function(
                target, quantity, lambda: self.compile(self._closed(target, quantity))
            )
        closed = self._closed(target, quantity, variables)
        constants = dict(static)

        def with_static(*args: Any) -> Any:
            *rest, params = args
            return closed(*rest, {**params, **constants})

        return self.cached_function(
            target, quantity, lambda: self.compile(with_static), variant=(variables, static)
        )

    def _closed(self, target: Target, quantity: str, variables: Layout | None = None) -> Fn:
        xp = self.xp
        if quantity == "primal":
            return lambda x, params: target.f(xp, x, params)
        source = target.closed_form_source(quantity)
        if not target.written_against_xp(source):
            raise QuantityUnsupported(
                f"closed form of '{source}' is written in NumPy; write it as "
                f"closed(xp, x, params{', v' if source in DIRECTIONAL else ''}) to run it in "
                f"{self.mode}"
            )
        closed = target.closed_forms[source]
        if quantity in DIRECTIONAL and source == quantity:
            return lambda x, v, params: closed(xp, x, params, v)
        if quantity in DIRECTIONAL and variables is not None:  # blocks contracted per variable
            return lambda x, v, params: variables.contract(xp, quantity, closed(xp, x, params), v)
        if quantity == "vjp":  # uᵀJ from the Jacobian, contracting u with f's axes
            return lambda x, u, params: xp.tensordot(u, closed(xp, x, params), axes=u.ndim)
        if quantity in DIRECTIONAL:  # H v or J v, contracting every axis of v with x's
            return lambda x, v, params: xp.tensordot(closed(xp, x, params), v, axes=v.ndim)
        return lambda x, params: closed(xp, x, params)
