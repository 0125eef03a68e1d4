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

import os
import shutil
from typing import Any, ClassVar

import numpy as np

from autodiff_bench.backends.base import Backend, BackendUnavailable, Fn


class TorchNamespace:
    """The registry's array namespace on torch tensors (NumPy names, NumPy semantics)."""

    def __init__(self, torch: Any) -> None:
        self._t = torch
        for name in ("sin", "cos", "tanh", "exp", "log", "log1p", "sqrt", "matmul", "trace"):
            setattr(self, name, getattr(torch, name))

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
        "d1..d4: nested autograd.grad",
        "func": "torch.func as documented: grad: torch.func.grad; hessian: "
        "torch.func.hessian (jacfwd over jacrev); hvp: torch.func.jvp of torch.func.grad "
        "(forward over reverse)",
        "autograd": "torch.autograd.grad only: grad: torch.autograd.grad; hessian: one "
        "torch.autograd.grad per row of the gradient (a Python loop); hvp: "
        "torch.autograd.grad twice (reverse over reverse)",
        "compile": "torch.compile of the torch.func compositions: grad: torch.func.grad; "
        "hessian: jacrev(grad); hvp: grad of <grad, v>; compile time in the cold call",
    }
    devices = ("cpu", "cuda")

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
        self.xp = TorchNamespace(torch)

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


def _cxx_compiler() -> str | None:
    """The C++ compiler torch.compile would call for CPU code (``$CXX`` or one on PATH)."""
    candidates = [os.environ.get("CXX", ""), "c++", "g++", "clang++"]
    return next((found for c in candidates if c and (found := shutil.which(c))), None)
