"""The label rule: how a backend in a mode is named in a column heading, a record and a
file.  Its own small module, so that the backend registry can fill in the default modes
without importing the record model (``adbench list`` needs only the registry)."""

from __future__ import annotations

#: Each registered backend's default mode, filled in by the backend registry as it registers
#: (the model never imports the registry: knowledge flows down, not up).
DEFAULT_MODES: dict[str, str] = {}


def backend_label(backend: str, mode: str, default_mode: str | None = None) -> str:
    """The column heading of a backend in a mode: ``jax`` for its default mode (the first of
    its modes), ``jax:nojit`` otherwise.  The one place the rule is written."""
    default = default_mode if default_mode is not None else DEFAULT_MODES.get(backend)
    return backend if mode in (default, "default", "") else f"{backend}:{mode}"


__all__ = ["DEFAULT_MODES", "backend_label"]
