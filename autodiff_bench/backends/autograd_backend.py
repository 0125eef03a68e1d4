"""``autograd``: HIPS autograd's ``grad`` and ``jacobian`` on ``autograd.numpy``.

HIPS autograd has no vectorising map: its own ``autograd.jacobian`` and ``autograd.hessian``
take one vector-Jacobian product per row, so the Hessian here is ``jacobian(grad(f))``
(measured mostly 1.2–1.9× faster than ``autograd.hessian``, jacobian of jacobian).  The
Hessian-vector product is forward over reverse, ``make_jvp(grad(f))``: 1.1–1.9× faster than
``autograd.hessian_vector_product`` (reverse over reverse) on a CPU.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from autodiff_bench.backends.base import Backend, Fn
from autodiff_bench.backends.namespace import AutogradNamespace

if TYPE_CHECKING:
    import numpy as np
else:
    from autodiff_bench.lazy import numpy as np


class AutogradBackend(Backend):
    """HIPS autograd: tracing reverse mode over NumPy."""

    name = "autograd"
    module = "autograd"
    distributions = ("autograd",)
    install_hint = "pip install 'adbench[autograd]'"
    description = "HIPS autograd over autograd.numpy"
    mode_descriptions: ClassVar[dict[str, str]] = {
        "default": "grad: autograd.grad; hessian: autograd.jacobian(autograd.grad) (one "
        "vjp per row, autograd's only Jacobian); hvp: autograd.make_jvp of autograd.grad "
        "(forward over reverse); jacobian: autograd.jacobian; jvp: autograd.make_jvp "
        "(forward mode); vjp: autograd.make_vjp",
    }

    def load(self) -> None:
        """Import autograd and its NumPy wrapper.

        Not ``autograd.scipy``: importing it imports SciPy's ``stats`` and ``integrate``
        (1.7 s, over ten times autograd's own import) for ``logsumexp`` alone, which the
        namespace writes in ``autograd.numpy`` instead."""
        import autograd
        import autograd.numpy as anp
        from autograd.tracer import getval

        self.autograd = autograd
        self.xp = AutogradNamespace(anp, getval, np.dtype(self.dtype), self.label)

    def asarray(self, a: np.ndarray) -> Any:
        """Plain NumPy arrays."""
        return np.asarray(a)

    def to_numpy(self, a: Any) -> np.ndarray:
        """Results are NumPy already."""
        return np.asarray(a)

    def grad(self, f: Fn, create_graph: bool) -> Fn:
        """``autograd.grad`` (always composable)."""
        return self.autograd.grad(f)

    def jacobian(self, f: Fn, create_graph: bool) -> Fn:
        """``autograd.jacobian``."""
        return self.autograd.jacobian(f)

    def hvp(self, f: Fn) -> Fn:
        """``autograd.make_jvp`` of ``autograd.grad``: forward over reverse."""
        make_jvp = self.autograd.make_jvp
        g = self.autograd.grad(f)

        def hvp(x: Any, v: Any, *rest: Any) -> Any:
            return make_jvp(g)(x, *rest)(v)[1]

        return hvp

    def jvp(self, f: Fn) -> Fn:
        """``autograd.make_jvp``: forward mode, one pass carrying the tangent v."""
        make_jvp = self.autograd.make_jvp

        def forward(x: Any, v: Any, *rest: Any) -> Any:
            return make_jvp(f)(x, *rest)(v)[1]

        return forward

    def vjp(self, f: Fn) -> Fn:
        """``autograd.make_vjp``: reverse mode, the pullback applied to u."""
        make_vjp = self.autograd.make_vjp

        def reverse(x: Any, u: Any, *rest: Any) -> Any:
            return make_vjp(f)(x, *rest)[0](u)

        return reverse
