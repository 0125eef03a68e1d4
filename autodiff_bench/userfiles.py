"""Importing a user's Python file (``--targets-file``, ``--backends-file``, a workloads
file): one way, with one set of one-line errors (exit 2, no traceback)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from autodiff_bench.errors import UsageError


def import_user_file(
    path: str | Path, kind: str, prefix: str, *, value_error_hint: str | None = None
) -> ModuleType:
    """Run the file at ``path`` as a module named ``prefix`` + a hash of its path.

    ``kind`` names it in messages ("targets file").  A missing file, a file that does not
    import, or (with ``value_error_hint``) a ValueError raised while building what it
    defines is a :class:`UsageError`; a UsageError from the file passes through."""
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"{kind} '{p}' does not exist", "pass the path of a .py file")
    module_name = f"{prefix}{abs(hash(p.resolve()))}"
    spec = importlib.util.spec_from_file_location(module_name, p)
    if spec is None or spec.loader is None:
        raise UsageError(f"{kind} '{p}' is not a Python file", "pass a .py file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except UsageError:
        raise
    except (ValueError, TypeError) as exc:
        if value_error_hint is None:
            raise UsageError(
                f"{kind} '{p}' does not import: {type(exc).__name__}: {exc}",
                "run it with python to see the full error",
            ) from exc
        raise UsageError(f"{kind} '{p}': {exc}", value_error_hint) from exc
    except Exception as exc:  # a user file can fail in any way: report it, never crash
        raise UsageError(
            f"{kind} '{p}' does not import: {type(exc).__name__}: {exc}",
            "run it with python to see the full error",
        ) from exc
    return module


__all__ = ["import_user_file"]
