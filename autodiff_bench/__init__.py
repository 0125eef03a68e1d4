"""adbench: compare automatic-differentiation backends.

Correctness against closed forms, honest timing, and a CI gate.  The public API for users'
own targets is :class:`Target`, :class:`Point`, :func:`register` and :func:`scalar_sampler`;
backends subclass :class:`autodiff_bench.backends.Backend`; a notebook calls
:func:`check_function`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from autodiff_bench.notebook import check_function
    from autodiff_bench.targets import Point, Target, register, scalar_sampler

_TARGET_API = ("Point", "Target", "register", "scalar_sampler")


def __getattr__(name: str) -> Any:
    # Lazy, so that `adbench --help` does not pay for importing NumPy.
    if name in _TARGET_API:
        from autodiff_bench import targets

        return getattr(targets, name)
    if name == "check_function":
        from autodiff_bench.notebook import check_function

        return check_function
    raise AttributeError(f"module 'autodiff_bench' has no attribute '{name}'")


__all__ = ["Point", "Target", "__version__", "check_function", "register", "scalar_sampler"]
