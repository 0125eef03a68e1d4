"""``autograd``: HIPS autograd's ``grad`` and ``jacobian`` on ``autograd.numpy``."""

from __future__ import annotations

from typing import Any

import numpy as np

from autodiff_bench.backends.base import Backend, Fn
from autodiff_bench.backends.namespace import AutogradNamespace


class AutogradBackend(Backend):
    """HIPS autograd: tracing reverse mode over NumPy."""

    name = "autograd"
    module = "autograd"
    distributions = ("autograd",)
    install_hint = "pip install 'adbench[autograd]'"
    description = "HIPS autograd.grad / autograd.jacobian over autograd.numpy"

    def load(self) -> None:
        """Import autograd and its NumPy wrapper."""
        import autograd
        import autograd.numpy as anp
        import autograd.scipy.special as asp

        self.autograd = autograd
        self.xp = AutogradNamespace(anp, asp.logsumexp, np.dtype(self.dtype), self.label)

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
