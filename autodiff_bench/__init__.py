"""adbench: compare automatic-differentiation backends.

Correctness against closed forms, honest timing, and a CI gate.  The public API for users'
own targets is :class:`Target`, :class:`Point`, :func:`register` and :func:`scalar_sampler`;
backends subclass :class:`autodiff_bench.backends.Backend`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from autodiff_bench.targets import Point, Target, register, scalar_sampler

_TARGET_API = ("Point", "Target", "register", "scalar_sampler")


def __getattr__(name: str) -> Any:
    # Lazy, so that `adbench --help` does not pay for importing NumPy.
    if name in _TARGET_API:
        from autodiff_bench import targets

        return getattr(targets, name)
    raise AttributeError(f"module 'autodiff_bench' has no attribute '{name}'")


__all__ = ["Point", "Target", "__version__", "register", "scalar_sampler"]
