"""The ``show`` engine: one target at one point, f and every derivative from every backend.

Each value is one :func:`autodiff_bench.check.check_cell`, so ``show`` and ``check`` judge
a value by the same rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from autodiff_bench.backends import load_backend
from autodiff_bench.check import CheckPlan, check_cell
from autodiff_bench.model import FAILING
from autodiff_bench.targets import Point, Target


@dataclass
class ShowRecord:
    """One value: a quantity from one backend, with its verdict against the closed form."""

    quantity: str
    backend: str
    mode: str
    label: str
    status: str
    value: Any = None
    max_abs_error: float | None = None
    message: str = ""


@dataclass
class ShowResult:
    """Everything ``show`` prints."""

    target: Target
    point: Point
    plan: CheckPlan
    records: list[ShowRecord]
    notes: dict[str, float]

    @property
    def quantities(self) -> list[str]:
        """``primal`` then the target's quantities."""
        return ["primal", *self.target.quantities]

    def get(self, quantity: str, label: str) -> ShowRecord | None:
        """The record of one table cell."""
        return next((r for r in self.records if r.quantity == quantity and r.label == label), None)

    @property
    def exit_code(self) -> int:
        """1 if a backend disagrees with the closed form or fails, else 0."""
        return 1 if any(r.status in FAILING for r in self.records) else 0


def run_show(plan: CheckPlan, target: Target, point: Point) -> ShowResult:
    """Evaluate f and every quantity of ``target`` at ``point`` on every selected backend."""
    quantities = ["primal", *target.quantities]
    records = []
    for spec in plan.backends:
        backend = load_backend(spec, plan.dtype, plan.device)
        if isinstance(backend, tuple):  # unavailable, or an import that crashed
            status, message = backend
            records += [
                ShowRecord(q, spec.name, spec.mode, spec.label, status, message=message)
                for q in quantities
            ]
            continue
        values: dict[tuple[str, str, str, str], np.ndarray] = {}
        base = dict(backend=spec.name, mode=spec.mode, dtype=plan.dtype, device=plan.device)
        for q in quantities:
            rec = check_cell(
                plan,
                backend,
                target,
                q,
                point,
                0,
                dict(base, target=target.name, quantity=q),
                values,
            )
            got = values.get((target.name, q, point.label, spec.label))
            records.append(
                ShowRecord(
                    q,
                    spec.name,
                    spec.mode,
                    spec.label,
                    rec.status,
                    None if got is None else got.tolist(),
                    rec.max_abs_error,
                    rec.message,
                )
            )
    ref_point = point.astype(plan.dtype).astype(np.float64)
    try:
        notes = dict(target.notes(ref_point)) if target.notes else {}
    except Exception:  # notes are extras; a user's that raise are simply not shown
        notes = {}
    return ShowResult(target, point, plan, records, notes)
