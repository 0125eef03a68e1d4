"""Run documents: provenance, strict JSON, atomic files — built in one place for every
command (:func:`make_document`), read back by :func:`load_document`."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

from autodiff_bench.errors import UsageError

SCHEMA_VERSION = 1


def environment(threads: int | None = None) -> dict[str, Any]:
    """Where and with what a run happened: Python, platform, CPU, threads, versions, git."""
    import platform  # imported here: `adbench list` should not pay for it

    from autodiff_bench import __version__
    from autodiff_bench.backends import all_backends

    versions: dict[str, str | None] = {"adbench": __version__, "numpy": _dist_version("numpy")}
    for name, cls in all_backends().items():
        if cls.distributions:
            versions[name] = cls.version()
    thread_env = {
        k: os.environ[k]
        for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "XLA_FLAGS")
        if k in os.environ
    }
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "threads": {"requested": threads, "env": thread_env},
        "packages": versions,
        "git_revision": _git_revision(),
    }


def _dist_version(dist: str) -> str | None:
    from autodiff_bench import distributions

    return distributions.version(dist)


def _cpu_name() -> str:
    import platform

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_revision() -> str | None:
    """The revision of the adbench source tree, when it is a git checkout."""
    import subprocess

    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def make_document(
    command: str,
    config: dict[str, Any],
    results: list[Any],
    threads: int | None = None,
    device_environment: Mapping[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The versioned top-level JSON object for a run.

    ``device_environment`` joins the environment: what the run learnt where it computed
    (``device``, ``gpu``, ``precision``: see :func:`autodiff_bench.device_info.run_environment`).
    """
    from datetime import UTC, datetime

    return {
        "schema_version": SCHEMA_VERSION,
        "command": command,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": {**environment(threads), **(device_environment or {})},
        "config": config,
        "results": [
            asdict(r) if is_dataclass(r) and not isinstance(r, type) else r for r in results
        ],
        **extra,
    }


def strict(value: Any) -> Any:
    """``value`` with NaN and ±Inf replaced by None, so it serialises as strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # NumPy scalars
        return strict(value.item())
    return value


def dumps(document: dict[str, Any]) -> str:
    """Strict JSON text (no NaN/Infinity literals)."""
    return json.dumps(strict(document), indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def check_output_path(path: str | Path) -> Path:
    """Refuse an output path whose folder does not exist, before any work is done."""
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise UsageError(f"cannot write '{p}': '{parent}' is a file, not a folder")
    if not parent.is_dir():
        raise UsageError(f"cannot write '{p}': folder '{parent}' does not exist", "create it first")
    if p.is_dir():
        raise UsageError(f"cannot write '{p}': it is a folder", "give a file name")
    # Probe now, by creating a file there, so a long run is not lost at the very end.
    try:
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as exc:
        raise UsageError(f"cannot write '{p}': {exc.strerror}", "choose another path") from exc
    return p


def write_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader never sees a half-written file."""

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())

    replace_atomically(path, write)


def replace_atomically(
    path: str | Path, write: Callable[[str], None], suffix: str = ".tmp"
) -> Path:
    """Let ``write`` fill a temporary file beside ``path``, then rename it over ``path``."""
    p = check_output_path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=suffix)
    except OSError as exc:
        raise UsageError(f"cannot write '{p}': {exc.strerror}", "choose another path") from exc
    os.close(fd)
    # mkstemp makes the file owner-only; a result file gets the usual permissions.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        write(tmp)
        os.replace(tmp, p)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UsageError(f"cannot write '{p}': {exc.strerror}", "choose another path") from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def load_document(path: str | Path, command: str | None = None) -> dict[str, Any]:
    """Read an adbench JSON file, checking it is one (UsageError otherwise)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read '{p}': {exc.strerror}", "check the path") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"'{p}' is not an adbench result file (not UTF-8 text)",
            "pass a file written by adbench --format json",
        ) from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"'{p}' is not valid JSON (line {exc.lineno}: {exc.msg}); truncated?",
            "pass a file written by adbench --format json",
        ) from exc
    if not isinstance(doc, dict) or "schema_version" not in doc or "results" not in doc:
        raise UsageError(f"'{p}' is not an adbench result file", "pass a file written by adbench")
    if doc["schema_version"] != SCHEMA_VERSION:
        raise UsageError(
            f"'{p}' has schema_version {doc['schema_version']!r}; "
            f"this adbench reads {SCHEMA_VERSION}",
            "re-run the command with this version",
        )
    if command is not None and doc.get("command") != command:
        raise UsageError(f"'{p}' holds '{doc.get('command')}' results, not '{command}'")
    return doc


__all__ = [
    "SCHEMA_VERSION",
    "check_output_path",
    "dumps",
    "environment",
    "load_document",
    "make_document",
    "replace_atomically",
    "strict",
    "write_atomic",
]
