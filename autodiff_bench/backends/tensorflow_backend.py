"""``tensorflow``: nested ``tf.GradientTape``; mode ``function`` wraps it in tf.function."""

from __future__ import annotations

import contextlib
import os
from typing import Any

import numpy as np

from autodiff_bench.backends.base import Backend, BackendUnavailable, Fn


class TensorFlowNamespace:
    """The registry's array namespace on tf tensors (NumPy names, NumPy semantics)."""

    def __init__(self, tf: Any) -> None:
        self._tf = tf
        m = tf.math
        self.sin, self.cos, self.tanh, self.exp = m.sin, m.cos, m.tanh, m.exp
        self.log, self.log1p, self.sqrt = m.log, m.log1p, m.sqrt
        self.abs, self.where = m.abs, tf.where
        self.trace = tf.linalg.trace
        self.zeros_like, self.ones_like = tf.zeros_like, tf.ones_like
        self.reshape, self.expand_dims = tf.reshape, tf.expand_dims

    def zeros(self, shape: Any, dtype: Any = None) -> Any:
        """A tensor of zeros (``dtype``: a tf dtype; float64 when None, as in NumPy)."""
        return self._tf.zeros(shape, dtype=dtype or self._tf.float64)

    def outer(self, a: Any, b: Any) -> Any:
        """The outer product of two vectors."""
        return self._tf.tensordot(a, b, axes=0)

    def tensordot(self, a: Any, b: Any, axes: Any = 2) -> Any:
        """``numpy.tensordot``: sum over the last ``axes`` axes of a and the first of b."""
        return self._tf.tensordot(a, b, axes=axes)

    def concat(self, arrays: Any, axis: int = 0) -> Any:
        """Join tensors along an existing axis."""
        return self._tf.concat(list(arrays), axis=axis)

    def stack(self, arrays: Any, axis: int = 0) -> Any:
        """Join same-shaped tensors along a new axis."""
        return self._tf.stack(list(arrays), axis=axis)

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
    modes = ("eager", "function")
    module = "tensorflow"
    distributions = ("tensorflow", "tensorflow-cpu", "tensorflow-macos")
    install_hint = "pip install 'adbench[tensorflow]'"
    description = "nested tf.GradientTape; :function = inside tf.function"
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
        self.xp = TensorFlowNamespace(tf)

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
        """tf.function in mode ``function``; eager otherwise."""
        if self.mode == "function":
            return self.tf.function(fn, reduce_retracing=True)
        return fn

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
