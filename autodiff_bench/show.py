"""The ``show`` engine: one target at one point, f and every derivative from every backend."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from autodiff_bench.backends import BackendUnavailable, QuantityUnsupported
from autodiff_bench.check import CheckPlan, direction
from autodiff_bench.correctness import compare_arrays
from autodiff_bench.quantities import derivative_order
from autodiff_bench.report import FAILING
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
    v = direction(plan.seed, target.name, 0, point.x.shape)
    ref_point = point.astype(plan.dtype).astype(np.float64)
    ref_v = v.astype(plan.dtype).astype(np.float64)
    records = []
    for spec in plan.backends:
        backend = spec.create(dtype=plan.dtype, device=plan.device)
        try:
            backend.ensure_loaded()
        except BackendUnavailable as exc:
            records += [
                ShowRecord(q, spec.name, spec.mode, spec.label, "unavailable", message=str(exc))
                for q in ["primal", *target.quantities]
            ]
            continue
        for q in ["primal", *target.quantities]:
            try:
                got = backend.evaluate(target, q, point, v if q == "hvp" else None)
            except QuantityUnsupported as exc:
                records.append(
                    ShowRecord(q, spec.name, spec.mode, spec.label, "unsupported", message=str(exc))
                )
                continue
            except Exception as exc:  # one backend's failure is its cell only
                records.append(
                    ShowRecord(
                        q,
                        spec.name,
                        spec.mode,
                        spec.label,
                        "error",
                        message=f"{type(exc).__name__}: {exc}",
                    )
                )
                continue
            ref = (
                target.value(ref_point)
                if q == "primal"
                else target.closed_form(q, ref_point, ref_v if q == "hvp" else None)
            )
            rtol, atol = plan.tolerances.lookup(
                plan.dtype,
                derivative_order(q),
                finite=spec.name == "finite",
                target=target.name,
                quantity=q,
                target_overrides=target.tolerances,
            )
            verdict = compare_arrays(got, ref, rtol, atol, plan.dtype)
            records.append(
                ShowRecord(
                    q,
                    spec.name,
                    spec.mode,
                    spec.label,
                    verdict.status,
                    np.asarray(got).tolist(),
                    verdict.max_abs_error,
                    verdict.message,
                )
            )
    notes = dict(target.notes(ref_point)) if target.notes else {}
    return ShowResult(target, point, plan, records, notes)
