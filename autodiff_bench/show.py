"""The ``show`` engine: one target at one point, f and every derivative from every backend.

Each value is one :func:`autodiff_bench.check.check_cell`, so ``show`` and ``check`` judge
a value by the same rules (TF32 off, too).  Unlike them, ``show`` computes in this process:
the variables a worker would start with (no JAX pre-allocation, quiet logs) are set here
before any framework is imported."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autodiff_bench.backends import Backend, all_backends, load_backend
from autodiff_bench.check import CheckPlan, check_cell
from autodiff_bench.check.reference import collect_values, judge_pending
from autodiff_bench.device_info import EXACT, loaded_report, run_environment
from autodiff_bench.model import FAILING, CheckRecord
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
    #: Where it computed: device, GPU name, precision flags (the JSON environment).
    environment: dict[str, Any] = field(default_factory=dict)

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
    prepare_process_environment(plan)
    loaded: list[Backend] = []
    pending: list[CheckRecord] = []
    pending_values: dict[tuple[str, str, str, str], np.ndarray] = {}
    pending_estimates: dict[tuple[str, str, str, str], np.ndarray] = {}
    for spec in plan.backends:
        backend = load_backend(spec, plan.dtype, plan.device, exact_precision=True)
        if isinstance(backend, tuple):  # unavailable, or an import that crashed
            status, message = backend
            records += [
                ShowRecord(q, spec.name, spec.mode, spec.label, status, message=message)
                for q in quantities
            ]
            continue
        loaded.append(backend)
        values: dict[tuple[str, str, str, str], np.ndarray] = {}
        base = dict(backend=spec.name, mode=spec.mode, dtype=plan.dtype, device=plan.device)
        for q in quantities:
            if q != "primal" and not target.has_closed_forms:
                # Judged below, once every backend has its value (check.reference).
                recs, vals, ests = collect_values(
                    plan, backend, target, q, [point], dict(base, target=target.name, quantity=q)
                )
                pending += recs
                pending_values.update(vals)
                pending_estimates.update(ests)
                continue
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
    judged, _ = judge_pending(plan, pending, pending_values, pending_estimates)
    for rec in judged:
        got = pending_values.get((target.name, rec.quantity, point.label, rec.label))
        records.append(
            ShowRecord(
                rec.quantity,
                rec.backend,
                rec.mode,
                rec.label,
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
    environment = run_environment(plan.device, EXACT, [loaded_report(loaded)])
    return ShowResult(target, point, plan, records, notes, environment)


def prepare_process_environment(plan: CheckPlan) -> None:
    """Set what each selected backend's worker would start with (allocator and log
    switches, read once at import) in this process's environment, where the user has not
    set it already; a framework imported earlier keeps what it read."""
    classes = all_backends()
    for spec in plan.backends:
        runtime = classes[spec.name].runtime(spec.mode)  # manual:torch: torch's
        env = runtime.worker_environment(threads=None, device=plan.device)
        for key, value in env.items():
            os.environ.setdefault(key, value)
