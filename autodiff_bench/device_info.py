"""Where a run computed, for its JSON environment: the device, the GPU's name and each
framework's precision switches (TF32 and the like).

Frameworks are imported only where they compute — in the workers (``show``: in this
process) — so each worker reports what its loaded adapters say (:func:`loaded_report`) and
the parent merges the reports (:func:`run_environment`).  The parent imports no framework
to learn the GPU's name: when no worker named it, ``nvidia-smi`` is asked, if installed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autodiff_bench.backends.base import Backend

#: What ``check`` and ``show`` ask for (TF32 off) and what ``time`` keeps (each framework's
#: own settings: the framework at its best).
EXACT = "highest"
FRAMEWORK_DEFAULT = "default"


def loaded_report(backends: Iterable[Backend]) -> dict[str, Any]:
    """What loaded adapters say: ``precision`` (framework name → its switches, as read
    back from it) and ``gpu`` (the name of the GPU they compute on, or None).

    A framework that cannot answer is left out: this is provenance, never a failure."""
    precision: dict[str, dict[str, Any]] = {}
    gpu: str | None = None
    for backend in backends:
        with contextlib.suppress(Exception):
            flags = backend.precision_flags()
            if flags:
                precision[backend.name] = dict(flags)
        if gpu is None:
            with contextlib.suppress(Exception):
                gpu = backend.device_name()
    return {"precision": precision, "gpu": gpu}


def run_environment(
    device: str,
    requested: str,
    reports: Iterable[Mapping[str, Any]],
    gpu_lookup: Callable[[], str | None] | None = None,
) -> dict[str, Any]:
    """The environment entries of one run: ``device``, ``gpu`` (name or None) and
    ``precision`` (``requested``: ``highest`` or ``default``; ``flags``: per framework,
    what it reported after loading).

    ``reports`` are :func:`loaded_report` results (a worker's load info carries one);
    ``gpu_lookup`` names the GPU when no report did (default: :func:`nvidia_smi_gpu_name`,
    only for ``--device cuda``)."""
    flags: dict[str, Any] = {}
    gpu: str | None = None
    for report in reports:
        flags.update(report.get("precision") or {})
        gpu = gpu or report.get("gpu")
    if gpu is None and device == "cuda":
        gpu = (gpu_lookup or nvidia_smi_gpu_name)()
    return {
        "device": device,
        "gpu": gpu,
        "precision": {"requested": requested, "flags": dict(sorted(flags.items()))},
    }


def nvidia_smi_gpu_name(timeout_s: float = 10.0) -> str | None:
    """The name of the first visible GPU by ``nvidia-smi`` (None without it, or on any
    trouble).  ``CUDA_VISIBLE_DEVICES``'s first entry, when set, picks which GPU."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    command = [exe, "--query-gpu=name", "--format=csv,noheader"]
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")[0].strip()
    if visible:
        if visible.startswith("-"):  # CUDA_VISIBLE_DEVICES=-1: no GPU is visible
            return None
        command.append(f"--id={visible}")
    try:
        out = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    names = [line.strip() for line in out.stdout.splitlines() if line.strip()]
    return names[0] if names else None


__all__ = [
    "EXACT",
    "FRAMEWORK_DEFAULT",
    "loaded_report",
    "nvidia_smi_gpu_name",
    "run_environment",
]
