"""Running ``check``: every derivative of every target from every backend, diffed against
the closed form, each framework in a supervised worker process.  It computes records; it
never prints.

A *cell* is one table cell: a quantity of a target from one backend, at every point.  The
workers (``autodiff_bench.workers``) give each cell a deadline (``--timeout``); a worker that
dies or hangs costs only the cell in flight, and a fresh worker takes the rest.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from autodiff_bench.backends import (
    Backend,
    BackendSpec,
    QuantityUnsupported,
    all_backends,
    builtin_backends,
    load_backend,
    load_backends_file,
    register_backend,
    shippable,
    version_of,
)
from autodiff_bench.check.plan import CheckPlan
from autodiff_bench.check.reference import CLOSED_FORM, collect_values, judge_pending
from autodiff_bench.check.report import CheckReport, Suspect
from autodiff_bench.check.rounding import WIDE, Backend64, float64_agrees, judge_rounding
from autodiff_bench.correctness import arrays_agree, compare_arrays, estimated_allowance
from autodiff_bench.device_info import EXACT, loaded_report, run_environment
from autodiff_bench.model import Cell, CheckRecord
from autodiff_bench.pytree import StructureError, cast
from autodiff_bench.quantities import derivative_order
from autodiff_bench.targets import (
    Point,
    Target,
    get_target,
    load_targets_file,
    quantity_direction,
    registering_modules,
)
from autodiff_bench.workers import Lane, supervise

#: Extra workers a lane may fan out to after a timeout (its remaining cells then hang side
#: by side instead of one deadline after another).
HANG_FANOUT = 8

#: A computed value by (target, quantity, point label, backend label).
ValueKey = tuple[str, str, str, str]

#: The adapters loaded by in-process runs, by (name, mode, dtype, device): kept for the
#: life of the process, so a notebook's second check pays no framework start-up.
IN_PROCESS_BACKENDS: dict[Any, Any] = {}


@dataclass(kw_only=True, unsafe_hash=True)
class CheckCell(Cell):
    """One table cell: ``quantity`` of ``target`` from one backend in one mode."""

    label: str = ""


@dataclass
class CellResult:
    """What a worker sends back for a cell: its records (one per point) and the values of
    the failing ones (for the closed-form suspect rule)."""

    records: list[CheckRecord]
    values: dict[ValueKey, np.ndarray] = field(default_factory=dict)
    #: A backend's own error estimates (finite differences), for targets without closed
    #: forms: the parent judges those against a reference it picks (``check.reference``).
    estimates: dict[ValueKey, np.ndarray] = field(default_factory=dict)


def plan_cells(plan: CheckPlan) -> list[CheckCell]:
    """Every cell of ``plan`` in table order (backend, target, quantity)."""
    return [
        CheckCell(
            target=t.name,
            quantity=q,
            backend=spec.name,
            mode=spec.mode,
            label=spec.label,
            dtype=plan.dtype,
            device=plan.device,
        )
        for spec in plan.backends
        for t in plan.targets
        for q in plan.quantities_of(t)
    ]


@dataclass
class CheckJob:
    """The cells one worker checks (picklable: targets travel by name, classes by
    reference; the worker re-imports the user's targets files)."""

    plan: CheckPlan
    target_names: list[str]
    backend_classes: dict[str, type[Backend]]
    target_modules: tuple[str, ...]
    cells: list[CheckCell]
    #: The dtype of every value this worker compared, as the backend returned it.
    compared_dtypes: dict[ValueKey, np.dtype] = field(default_factory=dict)
    #: Loaded adapters by (name, mode): a worker's own; in-process runs share one per
    #: process (:data:`IN_PROCESS_BACKENDS`), so a notebook loads a framework once.
    _backends: dict[Any, Backend | tuple[str, str]] = field(default_factory=dict)
    #: The targets by name, when they travel as objects (in-process runs only: targets made
    #: by :func:`autodiff_bench.check_function` are not in the registry).
    targets: dict[str, Target] = field(default_factory=dict)
    _points: dict[str, list[Point] | tuple[str, str]] = field(default_factory=dict)

    def load(self) -> dict[str, Any]:
        """Register what the parent had registered; frameworks load at their first cell."""
        for path in self.plan.backend_files:
            load_backends_file(path)
        for path in self.plan.target_files:
            load_targets_file(path)
        for module in self.target_modules:
            __import__(module)
        known = all_backends()
        for name, cls in self.backend_classes.items():
            if name not in known:
                register_backend(cls)
        if not self.targets:
            self.targets = {n: get_target(n) for n in self.target_names}
        self.plan = replace(self.plan, targets=[self.targets[n] for n in self.target_names])
        # Import the frameworks now: the import has the load deadline, not a cell's.
        for cell in self.cells:
            self.backend(cell)
        loaded = [b for b in self._backends.values() if isinstance(b, Backend)]
        return {"pid": os.getpid(), **loaded_report(loaded)}

    def backend(self, cell: CheckCell, dtype: str | None = None) -> Backend | tuple[str, str]:
        """The loaded adapter of a cell (in ``dtype``, the run's by default), or (status,
        message) when it cannot load."""
        dtype = dtype or self.plan.dtype
        key = (cell.backend, cell.mode, dtype, self.plan.device)
        if key not in self._backends:
            spec = BackendSpec(cell.backend, cell.mode)
            # A verdict must not hinge on a speed setting: TF32 off (recorded).
            self._backends[key] = load_backend(spec, dtype, self.plan.device, exact_precision=True)
        return self._backends[key]

    def points(self, target: Target) -> list[Point] | tuple[str, str]:
        """The target's points, or (status, message) when its sampler raised."""
        if target.name not in self._points:
            try:
                self._points[target.name] = target.points(
                    self.plan.points, self.plan.seed, self.plan.size, stress=self.plan.stress
                )
            except Exception as exc:  # a user's sampler: its target's cells say so
                self._points[target.name] = (
                    "error",
                    f"the sampler raised {type(exc).__name__}: {exc}",
                )
        return self._points[target.name]

    def run(self, index: int) -> CellResult:
        """Check one cell at every point."""
        cell = self.cells[index]
        target = self.targets[cell.target]
        base = record_fields(self.plan, cell)
        backend = self.backend(cell)
        points = self.points(target)
        for failure in (backend, points):
            if isinstance(failure, tuple):  # the backend or the sampler: every point fails
                status, message = failure
                return CellResult([CheckRecord(**base, point="*", status=status, message=message)])
        assert isinstance(backend, Backend) and isinstance(points, list)
        if not target.has_closed_forms:  # judged by the parent, against another's values
            pending, all_values, estimates = collect_values(
                self.plan, backend, target, cell.quantity, points, base
            )
            return CellResult(pending, all_values, estimates)
        values: dict[ValueKey, np.ndarray] = {}
        records = [
            check_cell(
                self.plan,
                backend,
                target,
                cell.quantity,
                point,
                i,
                base,
                values,
                float64=lambda: self.backend(cell, WIDE),
            )
            for i, point in enumerate(points)
        ]
        self.compared_dtypes.update({k: v.dtype for k, v in values.items()})
        failing = {r.point for r in records if r.status == "fail"}
        return CellResult(records, {k: v for k, v in values.items() if k[2] in failing})


def record_fields(plan: CheckPlan, cell: CheckCell) -> dict[str, Any]:
    """The fields every record of a cell shares (its size is the point's, set per point)."""
    fields = cell.cell_fields()
    del fields["size"]
    return dict(**fields, label=cell.label, backend_version=version_of(cell.backend, cell.mode))


class _Collector:
    """The supervisor's handler: results in, a record for every failure."""

    def __init__(self, plan: CheckPlan, on_record: Callable[[CheckRecord], None] | None):
        self.plan = plan
        self.on_record = on_record
        self.results: dict[CheckCell, CellResult] = {}

    def add(self, cell: CheckCell, result: CellResult) -> None:
        self.results[cell] = result
        if self.on_record:
            for rec in result.records:
                self.on_record(rec)

    def started(self, cell: Any) -> None:
        """Nothing to do: progress counts finished cells."""

    def result(self, cell: Any, value: Any) -> None:
        self.add(cell, value)

    def failure(self, cell: Any, status: str, message: str) -> None:
        base = record_fields(self.plan, cell)
        self.add(cell, CellResult([CheckRecord(**base, point="*", status=status, message=message)]))

    def surely_fails(self, failed: Any, other: Any) -> bool:
        # Every cell of check is another target or quantity (all at one size): nothing else
        # would surely fail the same way.
        return False

    def group(self, cell: Any) -> Hashable:
        return cell

    def skip_note(self, failed: Any, status: str) -> str:
        return f"not run: {failed.quantity} of {failed.target} {status}"


def lanes_of(plan: CheckPlan, cells: list[CheckCell]) -> list[Lane]:
    """One lane per framework (the modes of one framework share its import), frameworks
    first: their imports are the long tasks, the NumPy-only backends fill the gaps."""
    classes = all_backends()
    by_module: dict[str, list[CheckCell]] = {}
    builtin = set(builtin_backends())
    for cell in cells:
        # The framework the mode runs in: manual:torch shares torch's worker.
        cls = classes[cell.backend].runtime(cell.mode)
        # The NumPy-only built-ins share a worker; a third-party backend gets its own.
        module = cls.module or ("numpy" if cell.backend in builtin else cell.backend)
        by_module.setdefault(module, []).append(cell)
    shipped = replace(plan, targets=[])
    names = [t.name for t in plan.targets]
    modules = registering_modules(plan.targets)
    lanes = []
    for module, group in sorted(by_module.items(), key=lambda kv: kv[0] == "numpy"):
        used = {c.backend: classes[c.backend] for c in group if shippable(classes[c.backend])}
        env: dict[str, str] = {}
        for cls in {classes[c.backend].runtime(c.mode) for c in group}:
            env.update(cls.worker_environment(threads=None, device=plan.device))

        def make_job(subset: list[Any], used: dict[str, type[Backend]] = used) -> CheckJob:
            return CheckJob(shipped, names, used, modules, list(subset))

        lanes.append(Lane(module, group, make_job, env))
    return lanes


def run_check(
    plan: CheckPlan,
    on_record: Callable[[CheckRecord], None] | None = None,
    jobs: int = 1,
    *,
    in_process: bool = False,
) -> CheckReport:
    """Evaluate every selected cell.

    Each framework runs in its own worker process, ``jobs`` of them at once; a backend that
    raises, crashes or hangs costs only its own cells.  ``in_process`` runs everything here
    instead (no isolation: for a notebook, and for tests of the engine itself)."""
    start = time.perf_counter()
    cells = plan_cells(plan)
    collector = _Collector(plan, on_record)
    interrupted = False
    reports: list[dict[str, Any]] = []
    if in_process:
        for lane in lanes_of(plan, cells):
            job = lane.make_job(lane.cells)
            job.targets = {t.name: t for t in plan.targets}
            job._backends = IN_PROCESS_BACKENDS
            reports.append(job.load())
            for i, cell in enumerate(job.cells):
                collector.result(cell, job.run(i))
    else:
        outcome = supervise(
            lanes_of(plan, cells),
            collector,
            cell_timeout_s=plan.timeout_s,
            parallel=jobs,
            fanout=HANG_FANOUT,
        )
        interrupted = outcome.interrupted
        reports = list(outcome.info.values())
    records: list[CheckRecord] = []
    values: dict[ValueKey, np.ndarray] = {}
    estimates: dict[ValueKey, np.ndarray] = {}
    for cell in cells:  # table order, whatever order the workers finished in
        if cell in collector.results:
            records += collector.results[cell].records
            values.update(collector.results[cell].values)
            estimates.update(collector.results[cell].estimates)
    records, references = judge_pending(plan, records, values, estimates)
    # The suspect rule is about closed forms: only their rows take part.
    with_closed_forms = [r for r in records if r.reference in (None, CLOSED_FORM)]
    suspects = _suspects(plan, with_closed_forms, values)
    environment = run_environment(plan.device, EXACT, reports)
    return CheckReport(
        plan,
        records,
        suspects,
        time.perf_counter() - start,
        interrupted,
        environment,
        references=references,
    )


def check_cell(
    plan: CheckPlan,
    backend: Any,
    target: Target,
    quantity: str,
    point: Point,
    index: int,
    base: dict[str, Any],
    values: dict[tuple[str, str, str, str], np.ndarray],
    *,
    float64: Backend64 | None = None,
) -> CheckRecord:
    """One backend's ``quantity`` (or ``primal``, f itself) at one point against the closed
    form; the value computed goes into ``values``.  Whatever raises is this cell's error.

    ``float64`` gives the same backend in float64: a float32 mismatch that its float64 value
    does not have is float32's own rounding, a pass with a note (``check.rounding``)."""
    size = None if target.is_scalar else point.size
    # The reference is computed in float64 at the very point the backend sees (cast first).
    ref_point = point.astype(plan.dtype).astype(np.float64)
    try:  # the cotangent of vjp is shaped like f(x): f runs here (a user's f may raise)
        v = quantity_direction(target, quantity, ref_point, plan.seed, index)
    except Exception as exc:
        return CheckRecord(
            **base,
            point=point.label,
            size=size,
            status="error",
            message=f"f raised {type(exc).__name__}: {exc}",
        )
    ref_v = None if v is None else cast(cast(v, plan.dtype), np.float64)
    rtol, atol = plan.tolerance(target, quantity, backend)
    common = dict(base, point=point.label, size=size, rtol=rtol, atol=atol)
    t0 = time.perf_counter()
    try:
        got = backend.evaluate(target, quantity, point, v)
    except QuantityUnsupported as exc:
        return CheckRecord(**common, status="unsupported", message=str(exc))
    except Exception as exc:  # any backend failure is this cell's error, never the run's
        return CheckRecord(
            **common,
            status="error",
            message=f"{type(exc).__name__}: {exc}",
            seconds=time.perf_counter() - t0,
        )
    seconds = time.perf_counter() - t0
    try:
        ref = (
            target.value(ref_point)
            if quantity == "primal"
            else target.closed_form(quantity, ref_point, ref_v)
        )
    except Exception as exc:
        return CheckRecord(
            **common,
            status="error",
            seconds=seconds,
            message=f"closed form raised {type(exc).__name__}: {exc}",
        )
    layout = None if quantity == "primal" else point.layout
    if layout is not None:  # several variables: compared as flat arrays, named per variable
        try:
            ref = layout.flat(quantity, ref, f"the closed form of '{quantity}'")
        except StructureError as exc:
            return CheckRecord(**common, status="error", seconds=seconds, message=str(exc))
        try:
            got = layout.flat(quantity, got, backend.label)
        except StructureError as exc:
            return CheckRecord(**common, status="fail", seconds=seconds, message=str(exc))
    if not np.all(np.isfinite(ref)):
        return CheckRecord(
            **common,
            status="error",
            seconds=seconds,
            message="the closed form is NaN or Inf at this point",
        )
    values[(target.name, quantity, point.label, backend.label)] = np.asarray(got)
    estimate = backend.error_estimate()
    allowed = None
    if estimate is not None:
        # Judged against its own error estimate, between the exact backends' tolerance
        # (below which no estimate is meaningful) and its own table (the most it may miss by).
        floor = plan.tolerances.lookup(
            plan.dtype,
            derivative_order(quantity),
            finite=False,
            target=target.name,
            quantity=quantity,
            target_overrides=target.tolerances,
        )
        allowed = estimated_allowance(ref, estimate, (rtol, atol), floor)
    verdict = compare_arrays(
        got,
        ref,
        rtol,
        atol,
        plan.dtype,
        allowed=allowed,
        index_label=None if layout is None else layout.index_label(quantity),
    )
    if estimate is not None and verdict.status == "fail" and np.shape(estimate) == ref.shape:
        # Whether the backend knew: an estimate as large as the error says "beyond my reach".
        note = f"its own error estimate is up to {float(np.max(estimate)):.1e}"
        verdict = replace(verdict, message=f"{verdict.message}; {note}")
    wide_tolerance = plan.tolerance(target, quantity, backend, WIDE)
    verdict = judge_rounding(
        verdict,
        plan.dtype,
        float64,
        lambda wide: float64_agrees(wide, target, quantity, ref_point, ref_v, ref, wide_tolerance),
        reference=backend.is_reference,
    )
    return CheckRecord(
        **common,
        status=verdict.status,
        max_abs_error=verdict.max_abs_error,
        max_rel_error=verdict.max_rel_error,
        worst_index=None if verdict.worst_index is None else list(verdict.worst_index),
        got=verdict.got,
        ref=verdict.ref,
        mismatched=verdict.mismatched,
        total=verdict.total,
        message=verdict.message,
        factor=verdict.factor,
        is_reference=backend.is_reference,
        seconds=seconds,
    )


def _suspects(
    plan: CheckPlan,
    records: list[CheckRecord],
    values: dict[tuple[str, str, str, str], np.ndarray],
) -> list[Suspect]:
    """Cells where ≥ 2 AD backends fail the closed form yet agree with one another, and no
    other reference agrees with it: an independent backend (``finite``) that passes there
    clears it.  (A float32 AD value whose float64 recomputation agrees already passes:
    ``check.rounding``.)"""
    classes = all_backends()
    autodiff = {b.label for b in plan.backends if classes[b.name].is_autodiff}
    witnesses = {
        b.label
        for b in plan.backends
        if not classes[b.name].is_autodiff and not classes[b.name].is_reference
    }
    cleared = {
        (r.target, r.quantity, r.point)
        for r in records
        if r.label in witnesses and r.status == "pass"
    }
    groups: dict[tuple[str, str, str], list[CheckRecord]] = {}
    for r in records:
        if r.label in autodiff and r.status in ("pass", "fail"):
            groups.setdefault((r.target, r.quantity, r.point), []).append(r)
    out = []
    for (target, quantity, point), recs in groups.items():
        if len(recs) < 2 or any(r.status == "pass" for r in recs):
            continue
        if (target, quantity, point) in cleared:
            continue
        first = values[(target, quantity, point, recs[0].label)]
        rtol, atol = recs[0].rtol or 0.0, recs[0].atol or 0.0
        if all(
            arrays_agree(values[(target, quantity, point, r.label)], first, rtol, atol)
            for r in recs[1:]
        ):
            out.append(Suspect(target, quantity, point, [r.label for r in recs]))
    return out


__all__ = [
    "HANG_FANOUT",
    "CellResult",
    "CheckCell",
    "CheckJob",
    "check_cell",
    "plan_cells",
    "run_check",
]
