"""``tensorflow``: nested ``tf.GradientTape`` inside ``tf.function`` (the default mode).

Measured on a CPU, one thread: inside ``tf.function`` a gradient costs a half to a sixth of
an eager one, ``tape.jacobian`` (vectorised with pfor) 3–5× less than its while-loop form
(``experimental_use_pfor=False``), and a Hessian-vector product by nested tapes (reverse over
reverse) as little as or less than ``tf.autodiff.ForwardAccumulator`` over a tape.  Mode
``eager`` runs op by op (Hessians row by row); ``xla`` compiles with ``jit_compile=True``.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

import numpy as np

from autodiff_bench.backends.base import Backend, BackendUnavailable, Fn


class TensorFlowNamespace:
    """The registry's array namespace on tf tensors (NumPy names, NumPy semantics)."""

    def __init__(self, tf: Any) -> None:
        self._tf = tf
        m = tf.math
        self.sin, self.cos, self.tanh, self.exp = m.sin, m.cos, m.tanh, m.exp
        self.log, self.log1p, self.sqrt = m.log, m.log1p, m.sqrt
        self.trace = tf.linalg.trace

    def sum(self, x: Any, axis: int | None = None) -> Any:
        """Sum over ``axis`` (all axes when None)."""
        return self._tf.reduce_sum(x, axis=axis)

    def mean(self, x: Any, axis: int | None = None) -> Any:
        """Mean over ``axis`` (all axes when None)."""
        return self._tf.reduce_mean(x, axis=axis)

    def transpose(self, x: Any) -> Any:
        """Reverse the axes."""
        return self._tf.transpose(x)

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

    def logaddexp(self, a: Any, b: Any) -> Any:
        """ln(eᵃ + eᵇ) = a + softplus(b − a): softplus's gradient is the sigmoid, smooth
        everywhere, where max(a, b) + log1p(e^−|a−b|) has a kink in its gradient at a = b."""
        tf = self._tf
        ref = b if tf.is_tensor(b) else a
        a = tf.cast(a, ref.dtype) if not tf.is_tensor(a) else a
        b = tf.cast(b, ref.dtype) if not tf.is_tensor(b) else b
        return a + tf.math.softplus(b - a)


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
        "gradient (vectorised, pfor); hvp: nested tapes (reverse over reverse)",
        "eager": "op by op, no tf.function: grad: tape.gradient; hessian: one "
        "tape.gradient per row of the gradient (a Python loop); hvp: nested tapes",
        "xla": "tf.function(jit_compile=True), compiled by XLA: grad: tape.gradient; "
        "hessian: tape.jacobian (pfor); hvp: nested tapes; compile time in the cold call",
    }
    devices = ("cpu", "cuda")

    @classmethod
    def worker_environment(cls, threads: int | None, device: str) -> dict[str, str]:
        """TensorFlow's own thread pools and C++ log level, read once at import."""
        env = {**super().worker_environment(threads, device), "TF_CPP_MIN_LOG_LEVEL": "3"}
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
        if self.device == "cuda" and not tf.config.list_physical_devices("GPU"):
            raise BackendUnavailable("tensorflow sees no GPU")
        self.xp = TensorFlowNamespace(tf)

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
        return self.tf.function(fn, jit_compile=True if self.mode == "xla" else None)

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
