"""``jax``: ``jax.grad`` and ``jax.jacrev`` of it, jitted.

Measured on a CPU, one thread, under ``jax.jit``: the Hessian as ``jax.jacrev(jax.grad(f))``
takes 0.35–0.9× the time of ``jax.hessian`` (jacfwd over jacrev), and the Hessian-vector
product as the gradient of ⟨grad f, v⟩ (reverse over reverse) as little as or less than
``jax.jvp`` of ``jax.grad`` (forward over reverse).
"""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING, Any, ClassVar

from autodiff_bench.backends.base import Backend, BackendUnavailable, Fn
from autodiff_bench.backends.control_flow import Guarded, unconvertible, untraceable
from autodiff_bench.backends.namespace import JaxNamespace

if TYPE_CHECKING:
    import numpy as np
else:
    from autodiff_bench.lazy import numpy as np


class JaxBackend(Backend):
    """JAX with float64 enabled; mode ``nojit`` runs the transformations op by op."""

    name = "jax"
    modes = ("jit", "nojit")
    module = "jax"
    distributions = ("jax",)
    install_hint = "pip install 'adbench[jax]'"
    description = "JAX with float64: jax.grad and jax.jacrev, under jax.jit"
    mode_descriptions: ClassVar[dict[str, str]] = {
        "jit": "jax.jit of: grad: jax.grad; hessian: jax.jacrev(jax.grad) (vmap); "
        "hvp: jax.grad of <grad, v> (reverse over reverse); jacobian: jax.jacrev; jvp: "
        "jax.jvp (forward mode); vjp: jax.vjp",
        "nojit": "op by op, without jax.jit: grad: jax.grad; hessian: jax.jacrev(jax.grad); "
        "hvp: jax.grad of <grad, v>; jacobian: jax.jacrev; jvp: jax.jvp (forward mode); "
        "vjp: jax.vjp",
    }
    devices = ("cpu", "cuda")
    framework = "jax"

    @classmethod
    def worker_environment(cls, threads: int | None, device: str) -> dict[str, str]:
        """No pre-allocation of 75% of the GPU (workers share one), and quiet C++ logs."""
        return {
            **super().worker_environment(threads, device),
            "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
            "TF_CPP_MIN_LOG_LEVEL": "3",
        }

    def load(self) -> None:
        """Import JAX on the chosen platform with float64 really on."""
        if self.device == "cpu":
            # Also silences the "no CUDA-enabled jaxlib" warning on machines with a GPU.
            os.environ.setdefault("JAX_PLATFORMS", "cpu")
        if self.threads:
            flags = os.environ.get("XLA_FLAGS", "")
            if "intra_op_parallelism_threads" not in flags:
                os.environ["XLA_FLAGS"] = (
                    f"{flags} --xla_cpu_multi_thread_eigen={str(self.threads > 1).lower()}"
                    f" intra_op_parallelism_threads={self.threads}"
                ).strip()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import jax

            # Without this, JAX silently computes float64 requests in float32.
            jax.config.update("jax_enable_x64", True)
            import jax.numpy as jnp
            import jax.scipy.special as jsp
        self.jax = jax
        self.xp = JaxNamespace(jnp, jsp.logsumexp, jnp.dtype(self.dtype), self.label)
        if self.device == "cuda":
            try:
                self._device = jax.devices("gpu")[0]
            except RuntimeError as exc:
                raise BackendUnavailable(f"jax sees no GPU ({exc})") from exc
        else:
            self._device = jax.devices("cpu")[0]

    def apply_exact_precision(self) -> None:
        """float32 matmuls and convolutions at "highest" (JAX's default on a GPU is TF32)."""
        set_jax_exact_precision(self.jax)

    def precision_flags(self) -> dict[str, Any]:
        """JAX's default matmul precision (``default`` when unset: the platform's choice)."""
        return jax_precision_flags(self.jax)

    def device_name(self) -> str | None:
        """The ``device_kind`` of the GPU in use (e.g. "NVIDIA H200")."""
        if self.device != "cuda":
            return None
        return str(self._device.device_kind)

    def asarray(self, a: np.ndarray) -> Any:
        """A device array, dtype kept."""
        return self.jax.device_put(a, self._device)

    def to_numpy(self, a: Any) -> np.ndarray:
        """Copy to host (waits for the value)."""
        return np.asarray(a)

    def synchronize(self, value: Any) -> None:
        """JAX dispatches asynchronously: wait for the value itself."""
        self.jax.block_until_ready(value)

    def compile(self, fn: Fn) -> Fn:
        """``jax.jit`` unless mode ``nojit``; a Python branch on a traced value is
        ``unsupported`` with the reason (see :func:`jit_naming_reasons`)."""
        return jit_naming_reasons(self.jax, fn, jit=self.mode != "nojit", instead="jax:nojit")

    def grad(self, f: Fn, create_graph: bool) -> Fn:
        """``jax.grad`` (always composable)."""
        return self.jax.grad(f)

    def jacobian(self, f: Fn, create_graph: bool) -> Fn:
        """``jax.jacrev`` (vmap over the rows): the Hessian is ``jacrev(grad(f))``."""
        return self.jax.jacrev(f)

    def jvp(self, f: Fn) -> Fn:
        """``jax.jvp``: forward mode, one pass carrying the tangent v."""
        jvp = self.jax.jvp

        def forward(x: Any, v: Any, *rest: Any) -> Any:
            return jvp(lambda y: f(y, *rest), (x,), (v,))[1]

        return forward

    def vjp(self, f: Fn) -> Fn:
        """``jax.vjp``: reverse mode, the pullback applied to u."""
        vjp = self.jax.vjp

        def reverse(x: Any, u: Any, *rest: Any) -> Any:
            return vjp(lambda y: f(y, *rest), x)[1](u)[0]

        return reverse


def jit_naming_reasons(jax: Any, fn: Fn, *, jit: bool, instead: str) -> Fn:
    """``fn`` under ``jax.jit`` (when ``jit``), with JAX's tracer exceptions turned into
    ``unsupported`` and a reason: a Python ``if`` on a traced value names ``instead``, the
    mode that runs it; ``float(x)`` of a differentiated value no mode runs."""
    compiled = jax.jit(fn) if jit else fn
    errors = jax.errors

    def run(*args: Any) -> Any:
        try:
            return compiled(*args)
        except errors.TracerBoolConversionError as exc:
            if not jit:
                raise unconvertible("jax") from exc
            raise untraceable("jax.jit", instead) from exc
        except (errors.ConcretizationTypeError, errors.TracerIntegerConversionError) as exc:
            raise unconvertible("jax") from exc

    return Guarded(compiled, run)


def set_jax_exact_precision(jax: Any) -> None:
    """Full-precision float32 in JAX (also for other adapters that compute in JAX); it
    applies to what is traced afterwards, so call it before the first ``jit``."""
    jax.config.update("jax_default_matmul_precision", "highest")


def jax_precision_flags(jax: Any) -> dict[str, Any]:
    """What JAX's configuration says about float32 matmul precision."""
    value = getattr(jax.config, "jax_default_matmul_precision", None)
    return {"default_matmul_precision": "default" if value is None else str(value)}
