"""``torch``: per quantity, the fastest of torch's own idioms (measured on a CPU, one thread).

Mode ``fast`` (the default): gradients and Hessian-vector products by ``torch.autograd.grad``
(reverse over reverse for hvp), Hessians by ``torch.func.jacrev(torch.func.grad(f))`` —
vectorised with vmap, 1.5–7× faster here than ``torch.func.hessian`` (jacfwd over jacrev)
and, from n = 200, 3–20× faster than ``autograd.grad(..., is_grads_batched=True)``.  Mode ``func``:
torch.func as its documentation writes it; ``autograd``: one ``autograd.grad`` per Hessian
row (the idiom the others replace); ``compile``: the torch.func compositions under
``torch.compile``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from autodiff_bench.backends.base import Backend, BackendUnavailable, Fn
from autodiff_bench.backends.namespace import (
    UNARY,
    Axis,
    ContractLinalg,
    ContractNamespace,
    as_shape,
    flatten_axis,
)

if TYPE_CHECKING:
    import numpy as np
else:
    from autodiff_bench.lazy import numpy as np


class TorchNamespace(ContractNamespace):
    """The xp contract on torch tensors (NumPy names, NumPy semantics), in the run's dtype
    and on its device."""

    def __init__(
        self, torch: Any, device: str | None = None, dtype: Any = None, backend: str = "torch"
    ) -> None:
        self._t = torch
        #: Where creation functions and Python scalars go: the backend's device.
        self._device = device
        #: The run's dtype: of creation functions and of Python scalars.
        self._dtype = torch.float64 if dtype is None else dtype
        t = torch
        super().__init__(
            backend,
            {name: getattr(t, name) for name in UNARY},
            {"maximum": t.maximum, "minimum": t.minimum},
        )
        la = t.linalg
        self.linalg = ContractLinalg(
            self,
            det=la.det,
            slogdet=lambda a: tuple(la.slogdet(a)),
            inv=la.inv,
            solve=la.solve,
            cholesky=la.cholesky,
        )

    def _scalar(self, value: Any) -> Any:
        # torch.full launches a fill kernel: no host-to-device copy that would synchronise.
        return self._t.full((), value, dtype=self._dtype, device=self._device)

    def _dims(self, x: Any, axis: Axis) -> Any:
        """``axis`` as torch's ``dim``: every axis when None."""
        return tuple(range(x.dim())) if axis is None else axis

    # ---- elementwise ----
    def logaddexp(self, a: Any, b: Any) -> Any:
        """ln(eᵃ + eᵇ) = a + softplus(b − a), stable to every order.

        ``torch.logaddexp`` itself is not: its second derivative is NaN at a − b = 800
        (exp overflows inside its double backward).  Each branch of the softplus below only
        ever sees arguments of one sign (the double-``where`` trick), so no branch makes an
        Inf whose zero-weighted gradient would still turn into NaN.
        """
        t = self._t
        a, b = self._array(a), self._array(b)
        d = b - a
        positive = d > 0
        zero = t.zeros_like(d)
        d_pos = t.where(positive, d, zero)
        d_neg = t.where(positive, zero, d)
        softplus = t.where(positive, d_pos + t.log1p(t.exp(-d_pos)), t.log1p(t.exp(d_neg)))
        return a + softplus

    def where(self, condition: Any, a: Any, b: Any) -> Any:
        """``a`` where ``condition`` holds, else ``b`` (broadcast)."""
        return self._t.where(condition, self._array(a), self._array(b))

    def clip(self, x: Any, lo: Any = None, hi: Any = None) -> Any:
        """``x`` limited to [lo, hi] (either bound may be None)."""
        return self._t.clamp(self._array(x), lo, hi)

    # ---- reductions ----
    def sum(self, x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
        """Sum over ``axis`` (all axes when None)."""
        if axis is None and not keepdims:
            return self._t.sum(x)
        return self._t.sum(x, dim=self._dims(x, axis), keepdim=keepdims)

    def mean(self, x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
        """Mean over ``axis`` (all axes when None)."""
        if axis is None and not keepdims:
            return self._t.mean(x)
        return self._t.mean(x, dim=self._dims(x, axis), keepdim=keepdims)

    def prod(self, x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
        """Product over ``axis`` (all axes when None)."""
        if axis is None and not keepdims:
            return self._t.prod(x)
        dims = self._dims(x, axis)
        dims = (dims,) if isinstance(dims, int) else dims
        for d in sorted((d % max(x.dim(), 1) for d in dims), reverse=True):
            x = self._t.prod(x, dim=d, keepdim=keepdims)  # torch.prod takes one dim
        return x

    def max(self, x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
        """Largest element over ``axis`` (all axes when None)."""
        return self._t.amax(x, dim=self._dims(x, axis), keepdim=keepdims)

    def min(self, x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
        """Smallest element over ``axis`` (all axes when None)."""
        return self._t.amin(x, dim=self._dims(x, axis), keepdim=keepdims)

    def argmax(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        """Index of the largest element (in the flattened array when ``axis`` is None)."""
        out = self._t.argmax(x, dim=axis, keepdim=keepdims)
        return out.reshape((1,) * x.dim()) if axis is None and keepdims else out

    def argmin(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        """Index of the smallest element (in the flattened array when ``axis`` is None)."""
        out = self._t.argmin(x, dim=axis, keepdim=keepdims)
        return out.reshape((1,) * x.dim()) if axis is None and keepdims else out

    def cumsum(self, x: Any, axis: int | None = None) -> Any:
        """Running sum along ``axis`` (of the flattened array when None)."""
        x, axis = flatten_axis(x, axis, self._t.reshape)
        return self._t.cumsum(x, dim=axis)

    def cumprod(self, x: Any, axis: int | None = None) -> Any:
        """Running product along ``axis`` (of the flattened array when None)."""
        x, axis = flatten_axis(x, axis, self._t.reshape)
        return self._t.cumprod(x, dim=axis)

    def logsumexp(self, x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
        """ln Σ eˣ over ``axis`` (all axes when None); torch shifts by the maximum."""
        if x.dim() == 0:
            return x
        return self._t.logsumexp(x, dim=self._dims(x, axis), keepdim=keepdims)

    # ---- shape ----
    def reshape(self, x: Any, shape: Any) -> Any:
        """The same elements in a new shape (``-1`` once: inferred)."""
        return self._t.reshape(x, as_shape(shape))

    def stack(self, arrays: Sequence[Any], axis: int = 0) -> Any:
        """Join same-shaped tensors along a new axis."""
        return self._t.stack([self._array(a) for a in arrays], dim=axis)

    def concat(self, arrays: Sequence[Any], axis: int = 0) -> Any:
        """Join tensors along an existing axis."""
        return self._t.cat(list(arrays), dim=axis)

    def transpose(self, x: Any, axes: Sequence[int] | None = None) -> Any:
        """Permute the axes (reverse them when ``axes`` is None), as ``numpy.transpose``."""
        return x.permute(*(reversed(range(x.dim())) if axes is None else axes))

    def expand_dims(self, x: Any, axis: int) -> Any:
        """Insert a size-1 axis at ``axis``."""
        return self._t.unsqueeze(x, axis)

    # ---- products, gathers, shifts ----
    def matmul(self, a: Any, b: Any) -> Any:
        """``numpy.matmul``: matrix product, 1-D operands as vectors."""
        return self._t.matmul(a, b)

    def outer(self, a: Any, b: Any) -> Any:
        """The outer product of two vectors (flattened first, as NumPy does)."""
        return self._t.outer(a.reshape(-1), b.reshape(-1))

    def tensordot(self, a: Any, b: Any, axes: Any = 2) -> Any:
        """``numpy.tensordot``: sum over the last ``axes`` axes of a and the first of b."""
        if not isinstance(axes, int):
            axes = [
                [axes[0]] if isinstance(axes[0], int) else list(axes[0]),
                [axes[1]] if isinstance(axes[1], int) else list(axes[1]),
            ]
        return self._t.tensordot(a, b, dims=axes)

    def einsum(self, subscripts: str, *operands: Any) -> Any:
        """Einstein summation, ``numpy.einsum``'s subscripts."""
        return self._t.einsum(subscripts, *operands)

    def trace(self, x: Any) -> Any:
        """Sum of the diagonal over the first two axes."""
        if x.dim() == 2:
            return self._t.trace(x)
        return self._t.diagonal(x, 0, 0, 1).sum(-1)

    def take(self, x: Any, indices: Any, axis: int | None = None) -> Any:
        """Elements at ``indices`` along ``axis`` (of the flattened array when None);
        negative indices count from the end."""
        t = self._t
        x, axis = flatten_axis(x, axis, t.reshape)
        axis %= x.dim()
        index = t.as_tensor(indices, device=x.device)
        flat = t.remainder(index.reshape(-1).long(), x.shape[axis])
        out = t.index_select(x, axis, flat)
        return out.reshape(x.shape[:axis] + index.shape + x.shape[axis + 1 :])

    def roll(self, x: Any, shift: Any, axis: Axis = None) -> Any:
        """Shift elements cyclically along ``axis`` (the flattened array when None)."""
        return self._t.roll(x, shift, dims=axis)

    # ---- creation ----
    def eye(self, n: int, dtype: Any = None) -> Any:
        """The n×n identity in the run's dtype, on its device."""
        return self._t.eye(n, dtype=dtype or self._dtype, device=self._device)

    def zeros(self, shape: Any, dtype: Any = None) -> Any:
        """Zeros of ``shape`` in the run's dtype (or a torch ``dtype``), on its device."""
        return self._t.zeros(as_shape(shape), dtype=dtype or self._dtype, device=self._device)

    def ones(self, shape: Any, dtype: Any = None) -> Any:
        """Ones of ``shape`` in the run's dtype, on its device."""
        return self._t.ones(as_shape(shape), dtype=dtype or self._dtype, device=self._device)

    def full(self, shape: Any, value: Any, dtype: Any = None) -> Any:
        """``shape`` filled with ``value``, in the run's dtype, on its device."""
        return self._t.full(as_shape(shape), value, dtype=dtype or self._dtype, device=self._device)

    def zeros_like(self, x: Any) -> Any:
        """Zeros of ``x``'s shape, dtype and device."""
        return self._t.zeros_like(self._array(x))

    def ones_like(self, x: Any) -> Any:
        """Ones of ``x``'s shape, dtype and device."""
        return self._t.ones_like(self._array(x))


class TorchBackend(Backend):
    """PyTorch: ``torch.autograd.grad`` and torch.func, per quantity as the mode says."""

    name = "torch"
    modes = ("fast", "func", "autograd", "compile")
    module = "torch"
    distributions = ("torch",)
    install_hint = "pip install 'adbench[torch]'"
    description = "PyTorch: torch.autograd.grad and torch.func, the fastest per quantity"
    mode_descriptions: ClassVar[dict[str, str]] = {
        "fast": "grad: torch.autograd.grad; hessian: torch.func.jacrev(torch.func.grad) "
        "(vmap); hvp: torch.autograd.grad of <grad, v> (reverse over reverse); "
        "d1..d4: nested autograd.grad; jacobian: torch.func.jacrev; jvp: torch.func.jvp "
        "(forward mode); vjp: torch.autograd.grad with grad_outputs=u",
        "func": "torch.func as documented: grad: torch.func.grad; hessian: "
        "torch.func.hessian (jacfwd over jacrev); hvp: torch.func.jvp of torch.func.grad "
        "(forward over reverse); jacobian: torch.func.jacrev; jvp: torch.func.jvp (forward "
        "mode); vjp: torch.func.vjp",
        "autograd": "torch.autograd.grad only: grad: torch.autograd.grad; hessian: one "
        "torch.autograd.grad per row of the gradient (a Python loop); hvp: "
        "torch.autograd.grad twice (reverse over reverse); jacobian: one torch.autograd.grad "
        "per output element; jvp: torch.autograd.forward_ad dual numbers (forward mode); "
        "vjp: torch.autograd.grad with grad_outputs=u",
        "compile": "torch.compile of the torch.func compositions: grad: torch.func.grad; "
        "hessian: jacrev(grad); hvp: grad of <grad, v>; jacobian: jacrev; jvp: "
        "torch.func.jvp (forward mode); vjp: torch.func.vjp; compile time in the cold call",
    }
    devices = ("cpu", "cuda")
    framework = "torch"

    def load(self) -> None:
        """Import torch, set threads and check the device (and, for ``compile`` on a CPU,
        that a C++ compiler is there for the generated code)."""
        import torch

        self.torch = torch
        if self.threads:
            torch.set_num_threads(self.threads)
        if self.device == "cuda" and not torch.cuda.is_available():
            raise BackendUnavailable("torch sees no CUDA device")
        if self.mode == "compile" and self.device == "cpu" and not _cxx_compiler():
            raise BackendUnavailable(
                "torch.compile needs a C++ compiler for CPU code and none was found "
                "(install g++ or set CXX); torch:fast runs without one"
            )
        self.xp = TorchNamespace(torch, self.device, getattr(torch, self.dtype), self.label)

    def apply_exact_precision(self) -> None:
        """TF32 off for cuBLAS matmuls and cuDNN convolutions, float32 matmuls at "highest"."""
        set_torch_exact_precision(self.torch)

    def precision_flags(self) -> dict[str, Any]:
        """torch's TF32 switches and float32 matmul precision, as torch reports them."""
        return torch_precision_flags(self.torch)

    def device_name(self) -> str | None:
        """``torch.cuda.get_device_name`` of the device in use."""
        if self.device != "cuda":
            return None
        return str(self.torch.cuda.get_device_name(self.torch.cuda.current_device()))

    def thread_info(self) -> dict[str, Any]:
        """torch's intra- and inter-op thread counts."""
        return {
            "torch_num_threads": self.torch.get_num_threads(),
            "torch_num_interop_threads": self.torch.get_num_interop_threads(),
        }

    def asarray(self, a: np.ndarray) -> Any:
        """A tensor on the device, dtype kept."""
        # np.array copies (torch shares memory otherwise) and, unlike ascontiguousarray, keeps 0-d.
        return self.torch.as_tensor(np.array(a), device=self.device)

    def to_numpy(self, a: Any) -> np.ndarray:
        """Detach and copy to host."""
        return a.detach().cpu().numpy()

    def synchronize(self, value: Any) -> None:
        """Wait for queued CUDA kernels (CPU ops are synchronous)."""
        if self.device == "cuda":
            self.torch.cuda.synchronize()

    @property
    def _functional(self) -> bool:
        """Whether this mode composes with torch.func (``autograd.grad`` otherwise)."""
        return self.mode in ("func", "compile")

    def compile(self, fn: Fn) -> Fn:
        """``torch.compile`` in mode ``compile`` (compiled at the first call); unchanged
        otherwise.  A compiler failure is one clear error, not a traceback from inductor."""
        if self.mode != "compile":
            return fn
        torch = self.torch
        compiled = torch.compile(fn, dynamic=False)  # one graph per shape, as jax.jit

        def run(*args: Any) -> Any:
            try:
                return compiled(*args)
            except torch._dynamo.exc.BackendCompilerFailed as exc:
                inner = getattr(exc, "inner_exception", exc)
                first = (str(inner).strip().splitlines() or [""])[0][:200]
                raise RuntimeError(
                    f"torch.compile failed here: {type(inner).__name__}: {first}"
                ) from exc

        return run

    def grad(self, f: Fn, create_graph: bool) -> Fn:
        """torch.func.grad, or torch.autograd.grad on a leaf that requires grad."""
        torch = self.torch
        if self._functional:
            return torch.func.grad(f)

        def g(x: Any, *rest: Any) -> Any:
            # An outer level has already made x require grad: reuse it so the graph links.
            if not x.requires_grad:
                x = x.detach().requires_grad_(True)
            y = f(x, *rest)
            if not y.requires_grad:  # f does not depend on x at all
                return torch.zeros_like(x)
            (gx,) = torch.autograd.grad(y, x, create_graph=create_graph, allow_unused=True)
            return torch.zeros_like(x) if gx is None else gx

        return g

    def jacobian(self, f: Fn, create_graph: bool) -> Fn:
        """torch.func.jacrev (vmap over the rows); mode ``autograd``: one ``autograd.grad``
        per output element."""
        torch = self.torch
        if self.mode != "autograd":
            return torch.func.jacrev(f)

        def jac(x: Any, *rest: Any) -> Any:
            if not x.requires_grad:
                x = x.detach().requires_grad_(True)
            y = f(x, *rest)
            if not y.requires_grad:
                return torch.zeros(y.shape + x.shape, dtype=x.dtype, device=x.device)
            rows = []
            for yi in y.reshape(-1):
                (r,) = torch.autograd.grad(
                    yi, x, retain_graph=True, create_graph=create_graph, allow_unused=True
                )
                rows.append(torch.zeros_like(x) if r is None else r)
            return torch.stack(rows).reshape(y.shape + x.shape)

        return jac

    def hessian(self, f: Fn) -> Fn:
        """``torch.func.hessian`` in mode ``func``; ``autograd``: one ``autograd.grad`` per
        row of the gradient; otherwise ``torch.func.jacrev(torch.func.grad(f))``."""
        func = self.torch.func
        if self.mode == "func":
            return func.hessian(f)
        if self.mode == "autograd":
            return super().hessian(f)
        return func.jacrev(func.grad(f))

    def hvp(self, f: Fn) -> Fn:
        """Mode ``func``: ``torch.func.jvp`` of ``torch.func.grad`` (forward over reverse);
        ``compile``: the gradient of ⟨grad f, v⟩ by torch.func; otherwise reverse over
        reverse by ``torch.autograd.grad``, ``v`` passed as the second call's
        ``grad_outputs`` (no product and sum recorded on the graph)."""
        torch = self.torch
        func = torch.func
        if self.mode == "compile":
            return super().hvp(f)
        if self.mode == "func":
            g = func.grad(f)

            def forward_over_reverse(x: Any, v: Any, *rest: Any) -> Any:
                return func.jvp(lambda y: g(y, *rest), (x,), (v,))[1]

            return forward_over_reverse

        def reverse_over_reverse(x: Any, v: Any, *rest: Any) -> Any:
            x = x.detach().requires_grad_(True)
            y = f(x, *rest)
            if not y.requires_grad:  # f does not depend on x
                return torch.zeros_like(x)
            (gx,) = torch.autograd.grad(y, x, create_graph=True, allow_unused=True)
            if gx is None or not gx.requires_grad:  # f is at most linear in x
                return torch.zeros_like(x)
            (hv,) = torch.autograd.grad(gx, x, v, allow_unused=True)
            return torch.zeros_like(x) if hv is None else hv

        return reverse_over_reverse

    def jvp(self, f: Fn) -> Fn:
        """Forward mode: ``torch.func.jvp``; mode ``autograd``: dual numbers of
        ``torch.autograd.forward_ad`` (torch's forward mode without torch.func)."""
        torch = self.torch
        if self.mode != "autograd":
            func = torch.func

            def forward(x: Any, v: Any, *rest: Any) -> Any:
                return func.jvp(lambda y: f(y, *rest), (x,), (v,))[1]

            return forward
        fwad = torch.autograd.forward_ad

        def dual(x: Any, v: Any, *rest: Any) -> Any:
            with fwad.dual_level():
                y = f(fwad.make_dual(x, v), *rest)
                tangent = fwad.unpack_dual(y).tangent
            return torch.zeros_like(y) if tangent is None else tangent

        return dual

    def vjp(self, f: Fn) -> Fn:
        """Reverse mode: ``torch.func.vjp`` in modes ``func`` and ``compile``; otherwise one
        ``torch.autograd.grad`` with u as ``grad_outputs`` (no product recorded)."""
        torch = self.torch
        if self._functional:
            func = torch.func

            def pullback(x: Any, u: Any, *rest: Any) -> Any:
                return func.vjp(lambda y: f(y, *rest), x)[1](u)[0]

            return pullback

        def reverse(x: Any, u: Any, *rest: Any) -> Any:
            x = x.detach().requires_grad_(True)
            y = f(x, *rest)
            if not y.requires_grad:  # f does not depend on x
                return torch.zeros_like(x)
            (gx,) = torch.autograd.grad(y, x, u, allow_unused=True)
            return torch.zeros_like(x) if gx is None else gx

        return reverse


def _cxx_compiler() -> str | None:
    """The C++ compiler torch.compile would call for CPU code (``$CXX`` or one on PATH)."""
    import shutil

    candidates = [os.environ.get("CXX", ""), "c++", "g++", "clang++"]
    return next((found for c in candidates if c and (found := shutil.which(c))), None)


def set_torch_exact_precision(torch: Any) -> None:
    """Full-precision float32 in torch (also for other adapters that compute in torch).

    The flags that exist since torch 1.7 (``allow_tf32``), not the newer ``fp32_precision``
    properties: torch refuses to read the old flags after a mix of the two."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")


def torch_precision_flags(torch: Any) -> dict[str, Any]:
    """What torch says about its TF32 switches (a flag it cannot report is left out)."""
    readers = {
        "float32_matmul_precision": torch.get_float32_matmul_precision,
        "cuda_matmul_allow_tf32": lambda: torch.backends.cuda.matmul.allow_tf32,
        "cudnn_allow_tf32": lambda: torch.backends.cudnn.allow_tf32,
    }
    flags: dict[str, Any] = {}
    for key, read in readers.items():
        with contextlib.suppress(Exception):  # a torch without the flag, or mixed APIs
            flags[key] = read()
    return flags
