"""``minigrad``: the project's own reverse-mode engine (see ``autodiff_bench.minigrad``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from autodiff_bench.backends.base import Backend, Fn

if TYPE_CHECKING:
    import numpy as np
else:
    from autodiff_bench.lazy import numpy as np


class RunNamespace:
    """minigrad's ``xp`` in the run's dtype: created arrays and Python numbers take it whether
    a function is called inside a target or directly (the names, and the error for a name
    outside the contract, are the module's own)."""

    def __init__(self, xp: Any, default_dtype: Any, dtype: str) -> None:
        self._xp = xp
        self._default_dtype = default_dtype
        self._dtype = dtype

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._xp, name)
        if not callable(attr):
            return attr
        default_dtype, dtype = self._default_dtype, self._dtype

        def create(*args: Any, **kwargs: Any) -> Any:
            with default_dtype(dtype):
                return attr(*args, **kwargs)

        return create

    def __dir__(self) -> list[str]:
        return dir(self._xp)


class MinigradBackend(Backend):
    """minigrad: a small readable reverse-mode engine in NumPy, shipped with adbench."""

    name = "minigrad"
    description = "adbench's own reverse-mode engine in NumPy (autodiff_bench.minigrad)"
    mode_descriptions: ClassVar[dict[str, str]] = {
        "default": "grad: minigrad.grad; hessian: minigrad.jacobian of minigrad.grad; hvp: "
        "the gradient of <grad, v>; jacobian: one backward pass per output element; vjp: "
        "one backward pass seeded with u; jvp: no forward mode, the transpose of the vjp "
        "(the gradient in u of <uᵀJ, v>, two reverse passes)",
    }

    def load(self) -> None:
        """Import the engine (NumPy only)."""
        from autodiff_bench import minigrad
        from autodiff_bench.minigrad import xp

        self.mg = minigrad
        self.xp = RunNamespace(xp, minigrad.ops.default_dtype, self.dtype)

    def compile(self, fn: Fn) -> Fn:
        """``fn`` run in this backend's dtype: numbers and ``xp.zeros``/``xp.eye`` inside a
        target come out in it (a float32 run stays float32)."""
        default_dtype = self.mg.ops.default_dtype
        dtype = self.dtype

        def in_dtype(*args: Any) -> Any:
            with default_dtype(dtype):
                return fn(*args)

        return in_dtype

    def asarray(self, a: np.ndarray) -> Any:
        """Plain NumPy arrays; the engine wraps them as it needs."""
        return np.asarray(a)

    def to_numpy(self, a: Any) -> np.ndarray:
        """A Tensor's data, or the array itself."""
        return np.asarray(getattr(a, "data", a))

    def grad(self, f: Fn, create_graph: bool) -> Fn:
        """``minigrad.grad`` with respect to the first argument."""
        mg = self.mg

        def g(x: Any, *rest: Any) -> Any:
            return mg.grad(lambda y: f(y, *rest), create_graph=create_graph)(x)

        return g

    def jacobian(self, f: Fn, create_graph: bool) -> Fn:
        """``minigrad.jacobian`` with respect to the first argument."""
        mg = self.mg

        def jac(x: Any, *rest: Any) -> Any:
            return mg.jacobian(lambda y: f(y, *rest), create_graph=create_graph)(x)

        return jac

    def vjp(self, f: Fn) -> Fn:
        """One backward pass seeded with u (``minigrad.vjp``)."""
        mg = self.mg

        def reverse(x: Any, u: Any, *rest: Any) -> Any:
            x = mg.Tensor(x, requires_grad=True)
            with mg.enable_grad():
                y = mg.as_tensor(f(x, *rest), like=x)
            return mg.vjp(y, x, u)

        return reverse
