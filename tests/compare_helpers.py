"""BASE/NEW result documents for the compare tests, built from the real record types."""

from __future__ import annotations

import copy
from dataclasses import asdict
from typing import Any

import numpy as np

from autodiff_bench.model import SCHEMA_VERSION, CheckRecord, TimeRecord

ENV: dict[str, Any] = {
    "python": "3.11.7",
    "implementation": "CPython",
    "platform": "Linux-6.1-x86_64",
    "machine": "x86_64",
    "cpu": "AMD EPYC",
    "cpu_count": 2,
    "threads": {"requested": 1, "env": {}},
    "packages": {"adbench": "0.1.0", "numpy": "2.4.6", "torch": "2.13.0+cpu"},
    "git_revision": "0" * 40,
}


def document(command: str, records: list[Any], **env_changes: Any) -> dict[str, Any]:
    """A result document as ``make_document`` writes it, with a fixed environment."""
    env = copy.deepcopy(ENV)
    env.update(env_changes)
    return {
        "schema_version": SCHEMA_VERSION,
        "command": command,
        "created": "2026-01-01T00:00:00+00:00",
        "environment": env,
        "config": {"targets": sorted({r.target for r in records})},
        "results": [asdict(r) for r in records],
    }


def check_record(
    status: str = "pass",
    target: str = "cubic",
    quantity: str = "d1",
    backend: str = "torch",
    point: str = "x=3",
    **extra: Any,
) -> CheckRecord:
    """One check cell; a failing one carries an error and a mismatch count."""
    if status == "fail":
        extra = {"max_abs_error": 0.5, "max_rel_error": 0.02, "mismatched": 1, **extra}
        extra.setdefault("message", "got 29.5, closed form 29")
    return CheckRecord(
        target=target,
        quantity=quantity,
        backend=backend,
        mode=extra.pop("mode", "default"),
        dtype=extra.pop("dtype", "float64"),
        point=point,
        status=status,
        total=1,
        **{"max_abs_error": 0.0, "max_rel_error": 0.0, **extra},
    )


def time_record(
    samples: list[float] | np.ndarray,
    quantity: str = "grad",
    backend: str = "torch",
    target: str = "least_squares",
    size: int | None = 100,
    primal_median: float | None = None,
    **extra: Any,
) -> TimeRecord:
    """One timed cell with its samples (seconds); the ratio is to ``primal_median``."""
    s = np.asarray(samples, dtype=np.float64)
    median = float(np.median(s))
    return TimeRecord(
        target=target,
        size=size,
        quantity=quantity,
        backend=backend,
        mode=extra.pop("mode", "default"),
        cold_s=float(s.max()) * 3,
        median_s=median,
        iqr_s=float(np.percentile(s, 75) - np.percentile(s, 25)),
        min_s=float(s.min()),
        max_s=float(s.max()),
        samples=len(s),
        loops=100,
        times_s=s.tolist(),
        ratio_to_primal=None if primal_median is None else median / primal_median,
        **extra,
    )


def tight(median: float, n: int = 15, seed: int = 0, spread: float = 0.01) -> np.ndarray:
    """n samples around ``median`` with a relative spread of about ``spread``."""
    rng = np.random.default_rng(seed)
    return median * (1.0 + spread * rng.standard_normal(n))
