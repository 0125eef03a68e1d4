"""``torch``: ``torch.autograd.grad`` with ``create_graph``; mode ``func`` uses torch.func."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from autodiff_bench.backends.base import Backend, BackendUnavailable, Fn


class TorchNamespace:
    """The registry's array namespace on torch tensors (NumPy names, NumPy semantics)."""

    def __init__(self, torch: Any, device: str | None = None) -> None:
        self._t = torch
        #: Where creation functions (``zeros``) put their result: the backend's device.
        self._device = device
        for name in ("sin", "cos", "tanh", "exp", "log", "log1p", "sqrt", "matmul", "trace"):
            setattr(self, name, getattr(torch, name))
        for name in ("abs", "where", "outer", "zeros_like", "ones_like", "reshape"):
            setattr(self, name, getattr(torch, name))

    def zeros(self, shape: Any, dtype: Any = None) -> Any:
        """A tensor of zeros on the backend's device (``dtype``: a torch dtype)."""
        return self._t.zeros(tuple(shape), dtype=dtype, device=self._device)

    def stack(self, arrays: Any, axis: int = 0) -> Any:
        """Join same-shaped tensors along a new axis."""
        return self._t.stack(list(arrays), dim=axis)

    def concat(self, arrays: Any, axis: int = 0) -> Any:
        """Join tensors along an existing axis."""
        return self._t.cat(list(arrays), dim=axis)

    def expand_dims(self, x: Any, axis: int) -> Any:
        """Insert a size-1 axis at ``axis``."""
        return self._t.unsqueeze(x, axis)

    def tensordot(self, a: Any, b: Any, axes: Any = 2) -> Any:
        """``numpy.tensordot``: sum over the last ``axes`` axes of a and the first of b."""
        return self._t.tensordot(a, b, dims=axes)

    def sum(self, x: Any, axis: int | None = None) -> Any:
        """Sum over ``axis`` (all axes when None)."""
        return self._t.sum(x) if axis is None else self._t.sum(x, dim=axis)

    def mean(self, x: Any, axis: int | None = None) -> Any:
        """Mean over ``axis`` (all axes when None)."""
        return self._t.mean(x) if axis is None else self._t.mean(x, dim=axis)

    def transpose(self, x: Any) -> Any:
        """Reverse the axes, as ``numpy.transpose``."""
        return x.permute(*reversed(range(x.dim())))

    def logaddexp(self, a: Any, b: Any) -> Any:
        """ln(eᵃ + eᵇ) = a + softplus(b − a), stable to every order.

        ``torch.logaddexp`` itself is not: its second derivative is NaN at a − b = 800
        (exp overflows inside its double backward).  Each branch of the softplus below only
        ever sees arguments of one sign (the double-``where`` trick), so no branch makes an
        Inf whose zero-weighted gradient would still turn into NaN.
        """
        t = self._t
        ref = a if isinstance(a, t.Tensor) else b
        a = a if isinstance(a, t.Tensor) else t.as_tensor(a, dtype=ref.dtype, device=ref.device)
        b = b if isinstance(b, t.Tensor) else t.as_tensor(b, dtype=ref.dtype, device=ref.device)
        d = b - a
        positive = d > 0
        zero = t.zeros_like(d)
        d_pos = t.where(positive, d, zero)
        d_neg = t.where(positive, zero, d)
        softplus = t.where(positive, d_pos + t.log1p(t.exp(-d_pos)), t.log1p(t.exp(d_neg)))
        return a + softplus


class TorchBackend(Backend):
    """PyTorch: reverse mode by ``torch.autograd.grad``; ``func`` mode by torch.func."""

    name = "torch"
    modes = ("autograd", "func")
    module = "torch"
    distributions = ("torch",)
    install_hint = "pip install 'adbench[torch]'"
    description = "torch.autograd.grad (create_graph for higher orders); :func = torch.func"
    devices = ("cpu", "cuda")
    framework = "torch"

    def load(self) -> None:
        """Import torch, set threads and check the device."""
        import torch

        self.torch = torch
        if self.threads:
            torch.set_num_threads(self.threads)
        if self.device == "cuda" and not torch.cuda.is_available():
            raise BackendUnavailable("torch sees no CUDA device")
        self.xp = TorchNamespace(torch, self.device)

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

    def grad(self, f: Fn, create_graph: bool) -> Fn:
        """torch.func.grad, or torch.autograd.grad on a leaf that requires grad."""
        torch = self.torch
        if self.mode == "func":
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
        """torch.func.jacfwd, or one ``autograd.grad`` per output element."""
        torch = self.torch
        if self.mode == "func":
            return torch.func.jacfwd(f)

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
