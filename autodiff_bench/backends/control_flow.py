"""Python control flow that a compiled mode cannot trace, reported as ``unsupported``.

``jax.jit``, ``tf.function`` and XLA trace a target with symbolic values: a Python ``if`` (or
``bool()``, ``float()``) on one has no answer while tracing, and the framework raises its own
exception from deep inside its tracer.  The adapters turn those into one sentence naming the
reason and the mode that runs the target op by op.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from autodiff_bench.backends.base import QuantityUnsupported


def untraceable(compiler: str, instead: str) -> QuantityUnsupported:
    """The ``unsupported`` reason for a branch on a traced value under ``compiler``
    (``jax.jit``), naming the mode (``jax:nojit``) that can run it."""
    return QuantityUnsupported(
        f"Python control flow on a traced value (`if x > 0`) cannot be traced by {compiler}: "
        f"use xp.where, or run {instead}"
    )


def unconvertible(framework: str) -> QuantityUnsupported:
    """The ``unsupported`` reason for ``float(x)``/``int(x)`` of a value ``framework``
    differentiates: no mode can, as the number would carry no derivative."""
    return QuantityUnsupported(
        f"a traced value converted to a Python number (`float(x)`, `int(x)`) cannot be "
        f"differentiated by {framework} in any mode: compare arrays instead "
        "(`x[0] > 0`, xp.where)"
    )


class Guarded:
    """A compiled function behind a wrapper that turns its framework's tracing errors into
    ``unsupported``: calls go through ``run``, every other attribute is the compiled
    function's own (``lower`` of a ``jax.jit``, a ``tf.function``'s tracing count)."""

    def __init__(self, compiled: Callable[..., Any], run: Callable[..., Any]) -> None:
        self._compiled = compiled
        self._run = run

    def __call__(self, *args: Any) -> Any:
        return self._run(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._compiled, name)


__all__ = ["Guarded", "unconvertible", "untraceable"]
