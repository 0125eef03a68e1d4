"""``tensorflow``: nested ``tf.GradientTape`` inside ``tf.function`` (the default mode).

Measured on a CPU, one thread: inside ``tf.function`` a gradient costs a half to a sixth of
an eager one, ``tape.jacobian`` (vectorised with pfor) 3–5× less than its while-loop form
(``experimental_use_pfor=False``), and a Hessian-vector product by nested tapes (reverse over
reverse) as little as or less than ``tf.autodiff.ForwardAccumulator`` over a tape.  Mode
``eager`` runs op by op (Hessians row by row); ``xla`` compiles with ``jit_compile=True``.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from autodiff_bench.backends.base import Backend, BackendUnavailable, Fn, QuantityUnsupported
from autodiff_bench.backends.control_flow import Guarded, untraceable
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


class TensorFlowNamespace(ContractNamespace):
    """The xp contract on tf tensors (NumPy names, NumPy semantics), in the run's dtype.

    TensorFlow tensors have no ``.reshape`` and their ``@`` needs 2-D operands: a target
    writes ``xp.reshape(x, shape)`` and ``xp.matmul(a, b)``, which work on every backend."""

    def __init__(self, tf: Any, dtype: Any = None, backend: str = "tensorflow") -> None:
        self._tf = tf
        #: The run's dtype: of creation functions and of Python scalars (which TensorFlow
        #: would otherwise make float32).
        self._dtype = tf.float64 if dtype is None else dtype
        m = tf.math
        super().__init__(
            backend,
            {name: getattr(m, name) for name in UNARY},
            {"maximum": m.maximum, "minimum": m.minimum},
        )
        la = tf.linalg
        self.linalg = ContractLinalg(
            self,
            det=la.det,
            slogdet=lambda a: tuple(la.slogdet(a)),
            inv=la.inv,
            solve=self._solve,
            cholesky=la.cholesky,
        )

    def _scalar(self, value: Any) -> Any:
        return self._tf.constant(value, dtype=self._dtype)

    def _solve(self, a: Any, b: Any) -> Any:
        """x with a x = b; a 1-D ``b`` is one vector, as in NumPy (tf.linalg.solve wants a
        matrix right-hand side)."""
        tf = self._tf
        if b.shape.rank == 1:
            return tf.linalg.solve(a, b[:, None])[:, 0]
        return tf.linalg.solve(a, b)

    def _flat(self, x: Any, axis: int | None) -> tuple[Any, int]:
        return flatten_axis(x, axis, self._tf.reshape)

    # ---- elementwise ----
    def logaddexp(self, a: Any, b: Any) -> Any:
        """ln(eᵃ + eᵇ) = a + softplus(b − a): softplus's gradient is the sigmoid, smooth
        everywhere, where max(a, b) + log1p(e^−|a−b|) has a kink in its gradient at a = b."""
        a, b = self._array(a), self._array(b)
        return a + self._tf.math.softplus(b - a)

    def where(self, condition: Any, a: Any, b: Any) -> Any:
        """``a`` where ``condition`` holds, else ``b`` (broadcast)."""
        return self._tf.where(condition, self._array(a), self._array(b))

    def clip(self, x: Any, lo: Any = None, hi: Any = None) -> Any:
        """``x`` limited to [lo, hi] (either bound may be None)."""
        x = self._array(x)
        if lo is not None:
            x = self._tf.math.maximum(x, self._array(lo))
        if hi is not None:
            x = self._tf.math.minimum(x, self._array(hi))
        return x

    # ---- reductions ----
    def sum(self, x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
        """Sum over ``axis`` (all axes when None)."""
        return self._tf.reduce_sum(x, axis=axis, keepdims=keepdims)

    def mean(self, x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
        """Mean over ``axis`` (all axes when None)."""
        return self._tf.reduce_mean(x, axis=axis, keepdims=keepdims)

    def prod(self, x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
        """Product over ``axis`` (all axes when None)."""
        return self._tf.reduce_prod(x, axis=axis, keepdims=keepdims)

    def max(self, x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
        """Largest element over ``axis`` (all axes when None)."""
        return self._tf.reduce_max(x, axis=axis, keepdims=keepdims)

    def min(self, x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
        """Smallest element over ``axis`` (all axes when None)."""
        return self._tf.reduce_min(x, axis=axis, keepdims=keepdims)

    def _arg(self, fn: Any, x: Any, axis: int | None, keepdims: bool) -> Any:
        rank = x.shape.rank
        flat, ax = self._flat(x, axis)
        out = fn(flat, axis=ax, output_type=self._tf.int64)
        if keepdims:
            out = (
                self._tf.reshape(out, [1] * rank)
                if axis is None
                else self._tf.expand_dims(out, axis)
            )
        return out

    def argmax(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        """Index of the largest element (in the flattened array when ``axis`` is None)."""
        return self._arg(self._tf.math.argmax, x, axis, keepdims)

    def argmin(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        """Index of the smallest element (in the flattened array when ``axis`` is None)."""
        return self._arg(self._tf.math.argmin, x, axis, keepdims)

    def cumsum(self, x: Any, axis: int | None = None) -> Any:
        """Running sum along ``axis`` (of the flattened array when None)."""
        return self._tf.math.cumsum(*self._flat(x, axis))

    def cumprod(self, x: Any, axis: int | None = None) -> Any:
        """Running product along ``axis`` (of the flattened array when None).  TensorFlow's
        gradient of it divides by x (``div_no_nan``): 0, not the derivative, where an
        element is exactly zero."""
        return self._tf.math.cumprod(*self._flat(x, axis))

    def logsumexp(self, x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
        """ln Σ eˣ over ``axis`` (all axes when None); TensorFlow shifts by the maximum."""
        return self._tf.math.reduce_logsumexp(x, axis=axis, keepdims=keepdims)

    # ---- shape ----
    def reshape(self, x: Any, shape: Any) -> Any:
        """The same elements in a new shape (``-1`` once: inferred)."""
        return self._tf.reshape(x, as_shape(shape))

    def stack(self, arrays: Sequence[Any], axis: int = 0) -> Any:
        """Join same-shaped tensors along a new axis."""
        return self._tf.stack([self._array(a) for a in arrays], axis=axis)

    def concat(self, arrays: Sequence[Any], axis: int = 0) -> Any:
        """Join tensors along an existing axis."""
        return self._tf.concat(list(arrays), axis=axis)

    def transpose(self, x: Any, axes: Sequence[int] | None = None) -> Any:
        """Permute the axes (reverse them when ``axes`` is None)."""
        return self._tf.transpose(x, perm=None if axes is None else list(axes))

    def expand_dims(self, x: Any, axis: int) -> Any:
        """Insert a size-1 axis at ``axis``."""
        return self._tf.expand_dims(x, axis)

    # ---- products, gathers, shifts ----
    def matmul(self, a: Any, b: Any) -> Any:
        """``numpy.matmul`` semantics, including 1-D operands (tf.matmul needs 2-D)."""
        tf = self._tf
        if a.shape.rank == 1 and b.shape.rank == 1:
            return tf.reduce_sum(a * b)
        if b.shape.rank == 1:
            return tf.linalg.matvec(a, b)
        if a.shape.rank == 1:
            return tf.linalg.matvec(b, a, transpose_a=True)
        return tf.linalg.matmul(a, b)

    def outer(self, a: Any, b: Any) -> Any:
        """The outer product of two vectors (flattened first, as NumPy does)."""
        tf = self._tf
        return tf.tensordot(tf.reshape(a, [-1]), tf.reshape(b, [-1]), axes=0)

    def tensordot(self, a: Any, b: Any, axes: Any = 2) -> Any:
        """``numpy.tensordot``: sum over the last ``axes`` axes of a and the first of b."""
        return self._tf.tensordot(a, b, axes=axes)

    def einsum(self, subscripts: str, *operands: Any) -> Any:
        """Einstein summation, ``numpy.einsum``'s subscripts."""
        return self._tf.einsum(subscripts, *operands)

    def trace(self, x: Any) -> Any:
        """Sum of the diagonal over the first two axes (tf.linalg.trace takes the last
        two)."""
        rank = x.shape.rank
        if rank > 2:
            x = self._tf.transpose(x, perm=[*range(2, rank), 0, 1])
        return self._tf.linalg.trace(x)

    def take(self, x: Any, indices: Any, axis: int | None = None) -> Any:
        """Elements at ``indices`` along ``axis`` (of the flattened array when None);
        negative indices count from the end."""
        tf = self._tf
        x, axis = self._flat(x, axis)
        axis %= x.shape.rank
        index = tf.convert_to_tensor(indices)
        if not index.dtype.is_integer:
            raise TypeError(f"xp.take needs integer indices, not {index.dtype.name}")
        index = tf.math.floormod(index, tf.shape(x, out_type=index.dtype)[axis])
        return tf.gather(x, index, axis=axis)

    def roll(self, x: Any, shift: Any, axis: Axis = None) -> Any:
        """Shift elements cyclically along ``axis`` (the flattened array when None)."""
        tf = self._tf
        if axis is None:
            return tf.reshape(tf.roll(tf.reshape(x, [-1]), shift, axis=0), tf.shape(x))
        return tf.roll(x, shift, axis=axis)

    # ---- creation ----
    def eye(self, n: int, dtype: Any = None) -> Any:
        """The n×n identity in the run's dtype."""
        return self._tf.eye(n, dtype=dtype or self._dtype)

    def zeros(self, shape: Any, dtype: Any = None) -> Any:
        """Zeros of ``shape`` in the run's dtype (or a tf ``dtype``)."""
        return self._tf.zeros(as_shape(shape), dtype=dtype or self._dtype)

    def ones(self, shape: Any, dtype: Any = None) -> Any:
        """Ones of ``shape`` in the run's dtype."""
        return self._tf.ones(as_shape(shape), dtype=dtype or self._dtype)

    def full(self, shape: Any, value: Any, dtype: Any = None) -> Any:
        """``shape`` filled with ``value``, in the run's dtype."""
        tf = self._tf
        return tf.fill(as_shape(shape), tf.cast(value, dtype or self._dtype))

    def zeros_like(self, x: Any) -> Any:
        """Zeros of ``x``'s shape and dtype."""
        return self._tf.zeros_like(self._array(x))

    def ones_like(self, x: Any) -> Any:
        """Ones of ``x``'s shape and dtype."""
        return self._tf.ones_like(self._array(x))


class TensorFlowBackend(Backend):
    """TensorFlow: a GradientTape per level, nested for higher orders."""

    name = "tensorflow"
    modes = ("function", "eager", "xla")
    module = "tensorflow"
    distributions = ("tensorflow", "tensorflow-cpu", "tensorflow-macos")
    install_hint = "pip install 'adbench[tensorflow]'"
    description = "TensorFlow: nested tf.GradientTape; tape.jacobian (pfor) for Hessians"
    mode_descriptions: ClassVar[dict[str, str]] = {
        "function": "inside tf.function: grad: tape.gradient; hessian: tape.jacobian of the "
        "gradient (vectorised, pfor); hvp: nested tapes (reverse over reverse); jacobian: "
        "tape.jacobian (pfor); jvp: tf.autodiff.ForwardAccumulator (forward mode); vjp: "
        "tape.gradient with output_gradients=u",
        "eager": "op by op, no tf.function: grad: tape.gradient; hessian: one "
        "tape.gradient per row of the gradient (a Python loop); hvp: nested tapes; "
        "jacobian: one tape.gradient per output element; jvp: "
        "tf.autodiff.ForwardAccumulator (forward mode); vjp: tape.gradient with "
        "output_gradients=u",
        "xla": "tf.function(jit_compile=True), compiled by XLA: grad: tape.gradient; "
        "hessian: tape.jacobian (pfor); hvp: nested tapes; jacobian: tape.jacobian; jvp: "
        "tf.autodiff.ForwardAccumulator (forward mode); vjp: tape.gradient with "
        "output_gradients=u; compile time in the cold call",
    }
    devices = ("cpu", "cuda")
    framework = "tensorflow"

    @classmethod
    def worker_environment(cls, threads: int | None, device: str) -> dict[str, str]:
        """TensorFlow's own thread pools and C++ log level, read once at import."""
        env = {**super().worker_environment(threads, device), "TF_CPP_MIN_LOG_LEVEL": "3"}
        if device == "cuda":  # grow GPU memory as needed: other workers share the GPU
            env["TF_FORCE_GPU_ALLOW_GROWTH"] = "true"
        if threads is not None:
            env |= {"TF_NUM_INTRAOP_THREADS": str(threads), "TF_NUM_INTEROP_THREADS": str(threads)}
        return env

    def thread_info(self) -> dict[str, Any]:
        """TensorFlow's intra- and inter-op thread counts."""
        threading = self.tf.config.threading
        return {
            "tf_intra_op_threads": threading.get_intra_op_parallelism_threads(),
            "tf_inter_op_threads": threading.get_inter_op_parallelism_threads(),
        }

    def load(self) -> None:
        """Import TensorFlow quietly, set threads and the device."""
        # Before the import: TensorFlow reads these once (C++ logging, oneDNN notices).
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        if self.device == "cpu":
            os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
        self.tf = tf
        if self.threads:
            try:
                tf.config.threading.set_intra_op_parallelism_threads(self.threads)
                tf.config.threading.set_inter_op_parallelism_threads(self.threads)
            except RuntimeError:  # already initialised in this process: keep its setting
                pass
        if self.device == "cuda":
            gpus = tf.config.list_physical_devices("GPU")
            if not gpus:
                raise BackendUnavailable("tensorflow sees no GPU")
            # TensorFlow takes nearly all of every GPU at its first op otherwise, and the
            # other frameworks' workers share it.
            for gpu in gpus:
                with contextlib.suppress(RuntimeError):  # already initialised: too late
                    tf.config.experimental.set_memory_growth(gpu, True)
        self.xp = TensorFlowNamespace(tf, tf.as_dtype(self.dtype), self.label)

    def apply_exact_precision(self) -> None:
        """TensorFloat-32 execution off (TensorFlow enables it by default)."""
        set_tf_exact_precision(self.tf)

    def precision_flags(self) -> dict[str, Any]:
        """Whether TensorFloat-32 execution is on, as TensorFlow reports it."""
        return tf_precision_flags(self.tf)

    def device_name(self) -> str | None:
        """The ``device_name`` TensorFlow's device details give for the GPU in use."""
        if self.device != "cuda":
            return None
        gpus = self.tf.config.list_physical_devices("GPU")
        details = self.tf.config.experimental.get_device_details(gpus[0]) if gpus else {}
        name = details.get("device_name")
        return None if name is None else str(name)

    def _device(self) -> str:
        return "/GPU:0" if self.device == "cuda" else "/CPU:0"

    def asarray(self, a: np.ndarray) -> Any:
        """A constant tensor on the device, dtype kept."""
        with self.tf.device(self._device()):
            return self.tf.constant(a)

    def to_numpy(self, a: Any) -> np.ndarray:
        """Copy to host."""
        return np.asarray(a.numpy())

    def synchronize(self, value: Any) -> None:
        """Wait for the device (eager CPU ops are already synchronous)."""
        if self.device == "cuda":
            self.tf.test.experimental.sync_devices()

    def compile(self, fn: Fn) -> Fn:
        """tf.function (with ``jit_compile=True`` in mode ``xla``); unchanged in ``eager``.

        Traced once per input shape, as ``jax.jit`` compiles per shape: with
        ``reduce_retracing`` a second shape makes one trace with relaxed shapes for all, and
        that graph ran the Hessian-vector product of ``least_squares`` at n = 1000 1.4×
        slower than a graph traced for n = 1000 (and XLA cannot compile it at all: the
        gradient of ``trace`` reads a shape as a constant)."""
        if self.mode == "eager":
            return fn
        tf = self.tf
        if self.mode != "xla":
            return graph_naming_reasons(tf, AutoGraphOnDemand(tf, fn), "tf.function")
        compiled = AutoGraphOnDemand(tf, fn, jit_compile=True)

        def run(*args: Any) -> Any:
            try:
                return compiled(*args)
            except tf.errors.OperatorNotAllowedInGraphError as exc:
                raise untraceable("tf.function(jit_compile=True)", "tensorflow:eager") from exc
            except tf.errors.InvalidArgumentError as exc:
                if "Detected unsupported operations" not in str(exc):
                    raise
                ops = sorted(set(re.findall(r"No registered '(\w+)' OpKernel", str(exc))))
                raise QuantityUnsupported(
                    f"XLA cannot compile {', '.join(ops) or 'an operation here'} "
                    "(tensorflow:xla); tensorflow's other modes run it"
                ) from exc

        return Guarded(compiled, run)

    def grad(self, f: Fn, create_graph: bool) -> Fn:
        """One tape; an enclosing tape records this gradient, so levels nest."""
        tf = self.tf

        def g(x: Any, *rest: Any) -> Any:
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = f(x, *rest)
            return tape.gradient(y, x, unconnected_gradients=tf.UnconnectedGradients.ZERO)

        return g

    def jacobian(self, f: Fn, create_graph: bool) -> Fn:
        """Inside tf.function: ``GradientTape.jacobian`` (vectorised with pfor).  Eager:
        one gradient per output element from a persistent tape, which for the sizes a
        check uses is several times faster than converting the graph with pfor."""
        tf = self.tf

        def jac(x: Any, *rest: Any) -> Any:
            zero = tf.UnconnectedGradients.ZERO
            if not tf.executing_eagerly():
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    y = f(x, *rest)
                return tape.jacobian(y, x, unconnected_gradients=zero)
            with tf.GradientTape(persistent=True) as tape:
                tape.watch(x)
                y = f(x, *rest)
                rows = tf.unstack(tf.reshape(y, [-1]))
            grads = [tape.gradient(r, x, unconnected_gradients=zero) for r in rows]
            del tape
            return tf.reshape(tf.stack(grads), tf.concat([tf.shape(y), tf.shape(x)], 0))

        return jac

    def jvp(self, f: Fn) -> Fn:
        """``tf.autodiff.ForwardAccumulator``: forward mode, x watched with tangent v."""
        tf = self.tf

        def forward(x: Any, v: Any, *rest: Any) -> Any:
            with tf.autodiff.ForwardAccumulator(x, v) as acc:
                y = f(x, *rest)
            return acc.jvp(y, unconnected_gradients=tf.UnconnectedGradients.ZERO)

        return forward

    def vjp(self, f: Fn) -> Fn:
        """One tape, u passed as ``output_gradients`` (no product recorded)."""
        tf = self.tf

        def reverse(x: Any, u: Any, *rest: Any) -> Any:
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = f(x, *rest)
            return tape.gradient(
                y, x, output_gradients=u, unconnected_gradients=tf.UnconnectedGradients.ZERO
            )

        return reverse


class AutoGraphOnDemand:
    """``tf.function(fn)`` that traces without AutoGraph first, and with it only when the
    plain trace fails.

    AutoGraph rewrites a function's Python source: an ``if``, ``for`` or ``while`` on a
    tensor becomes ``tf.cond`` or ``tf.while_loop``, ``len(x)`` reads the static shape,
    ``print`` of a tensor becomes ``tf.print``.  A target that traces without it (no such
    construct) gives the same graph, and the rewriting was a sixth of a check's tracing in
    TensorFlow (3.5 s → 2.9 s for the default suite, measured).  Where the plain trace
    raises (``OperatorNotAllowedInGraphError`` for a branch on a tensor, ``TypeError`` for
    ``len`` of one, or a target's own error), it is traced again with AutoGraph, as
    ``tf.function`` would by default, and stays so: what it raises then is the answer.
    Other attributes (the tracing count) are the current ``tf.function``'s.
    """

    def __init__(self, tf: Any, fn: Fn, **options: Any) -> None:
        self._tf = tf
        self._fn = fn
        self._options = options
        self._current = tf.function(fn, autograph=False, **options)
        self._autograph = False

    def __call__(self, *args: Any) -> Any:
        if self._autograph:
            return self._current(*args)
        try:
            return self._current(*args)
        except Exception:
            self._autograph = True
            self._current = self._tf.function(self._fn, **self._options)
            return self._current(*args)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or "_current" not in self.__dict__:
            raise AttributeError(name)  # copy and pickle probe before __init__ ran
        return getattr(self._current, name)


def set_tf_exact_precision(tf: Any) -> None:
    """Full-precision float32 in TensorFlow (also for other adapters that compute in it)."""
    tf.config.experimental.enable_tensor_float_32_execution(False)


def tf_precision_flags(tf: Any) -> dict[str, Any]:
    """What TensorFlow says about TensorFloat-32 execution."""
    return {
        "tensor_float_32_execution": bool(
            tf.config.experimental.tensor_float_32_execution_enabled()
        )
    }


def graph_naming_reasons(tf: Any, compiled: Fn, compiler: str) -> Fn:
    """``compiled`` (a ``tf.function``) with a Python branch on a symbolic tensor that
    AutoGraph could not convert (``bool(x > 0)``) turned into ``unsupported`` with the
    reason and the mode that runs it (``tensorflow:eager``)."""

    def run(*args: Any) -> Any:
        try:
            return compiled(*args)
        except tf.errors.OperatorNotAllowedInGraphError as exc:
            raise untraceable(compiler, "tensorflow:eager") from exc

    return Guarded(compiled, run)
