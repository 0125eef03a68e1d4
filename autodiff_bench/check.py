"""The ``check`` engine: every derivative of every target from every backend, diffed
against the closed form.  It computes records; it never prints.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from autodiff_bench.backends import (
    BackendSpec,
    BackendUnavailable,
    QuantityUnsupported,
    all_backends,
    parse_backends,
)
from autodiff_bench.config import ConfigFile, pick
from autodiff_bench.correctness import DTYPES, Tolerances, arrays_agree, compare_arrays
from autodiff_bench.errors import UsageError, unknown_name
from autodiff_bench.quantities import QUANTITIES, derivative_order
from autodiff_bench.report import FAILING, CheckRecord, worst_status
from autodiff_bench.targets import (
    Point,
    Target,
    all_targets,
    check_size,
    get_target,
    load_targets_file,
)

DEVICES = ("cpu", "cuda")


@dataclass(frozen=True)
class CheckPlan:
    """A resolved, validated selection for ``check`` (and ``show``)."""

    targets: list[Target]
    backends: list[BackendSpec]
    quantities: list[str] | None
    points: int = 2
    seed: int = 0
    dtype: str = "float64"
    size: int | None = None
    device: str = "cpu"
    require: list[str] = field(default_factory=list)
    tolerances: Tolerances = field(default_factory=Tolerances.default)
    #: User targets files, re-imported by worker processes.
    target_files: tuple[str, ...] = ()

    def quantities_of(self, target: Target) -> list[str]:
        """The selected quantities this target has closed forms for."""
        return [q for q in target.quantities if self.quantities is None or q in self.quantities]

    def as_dict(self) -> dict[str, Any]:
        """The resolved selection, for the JSON ``config`` field."""
        return {
            "targets": [t.name for t in self.targets],
            "backends": [b.label for b in self.backends],
            "quantities": self.quantities,
            "points": self.points,
            "seed": self.seed,
            "dtype": self.dtype,
            "size": self.size,
            "device": self.device,
            "require": self.require,
        }


def split_names(values: list[str] | None) -> list[str] | None:
    """Comma lists from repeated options, flattened (None when not given)."""
    if values is None:
        return None
    return [s.strip() for v in values for s in v.split(",") if s.strip()]


def resolve_targets(names: list[str]) -> list[Target]:
    """Target names (or ``all``) to targets, unknown names refused with a suggestion."""
    if not names or names == ["all"]:
        return list(all_targets().values())
    return [get_target(n) for n in dict.fromkeys(names)]


def resolve_quantities(names: list[str]) -> list[str] | None:
    """Quantity names (or ``all``); None means every quantity."""
    if not names or names == ["all"]:
        return None
    for q in names:
        if q not in QUANTITIES:
            raise unknown_name("quantity", q, QUANTITIES)
    return list(dict.fromkeys(names))


def resolve_tolerances(config: ConfigFile) -> Tolerances:
    """The default tables with a config's ``[tolerances]`` laid over them."""
    base = Tolerances.default()
    if not config.tolerances:
        return base
    for name, table in config.tolerances["target"].items():
        target = all_targets().get(name)
        where = f"config '{config.path}': [tolerances.target.{name}]"
        if target is None:
            raise unknown_name("target", name, all_targets(), where=f"in {where}")
        for q in table:
            if q not in target.quantities:
                raise UsageError(
                    f"{where}: '{name}' has no quantity '{q}'",
                    f"it has {', '.join(target.quantities)}",
                )
    ad = {d: {**base.ad[d], **config.tolerances["ad"].get(d, {})} for d in DTYPES}
    finite = {d: {**base.finite[d], **config.tolerances["finite"].get(d, {})} for d in DTYPES}
    return Tolerances(ad, finite, config.tolerances["target"])


def resolve_common(
    sec: dict[str, Any],
    targets: list[Target],
    quantities: list[str] | None,
    *,
    seed: int | None,
    dtype: str | None,
    device: str | None,
    also: tuple[str, ...] = (),
) -> tuple[int, str, str]:
    """What ``check`` and ``time`` validate alike: that some target has the selected
    quantities (or one of ``also``), and the seed, dtype and device; returns the last three."""
    if quantities is not None and not any(
        q in t.quantities or q in also for t in targets for q in quantities
    ):
        raise UsageError(
            f"no selected target has the quantities {', '.join(quantities)}",
            "see 'adbench list targets'",
        )
    plan_seed = pick(seed, sec, "seed", 0)
    if plan_seed < 0:
        raise UsageError(f"--seed must be 0 or more, not {plan_seed}", "try --seed 0")
    plan_dtype = pick(dtype, sec, "dtype", "float64")
    if plan_dtype not in DTYPES:
        raise unknown_name("dtype", plan_dtype, DTYPES)
    plan_device = pick(device, sec, "device", "cpu")
    if plan_device not in DEVICES:
        raise unknown_name("device", plan_device, DEVICES)
    return plan_seed, plan_dtype, plan_device


def resolve_check_plan(
    config: ConfigFile,
    *,
    targets: list[str] | None = None,
    backends: list[str] | None = None,
    quantities: list[str] | None = None,
    points: int | None = None,
    seed: int | None = None,
    dtype: str | None = None,
    size: int | None = None,
    device: str | None = None,
    require: list[str] | None = None,
    target_files: tuple[str, ...] = (),
) -> CheckPlan:
    """Merge command line over config over defaults, validating every value."""
    sec = config.section("check")
    plan_targets = resolve_targets(pick(split_names(targets), sec, "targets", ["all"]))
    plan_backends = parse_backends(pick(split_names(backends), sec, "backends", ["all"]))
    plan_quantities = resolve_quantities(pick(split_names(quantities), sec, "quantities", []))
    n_points = pick(points, sec, "points", 2)
    if n_points < 0:
        raise UsageError(f"--points must be 0 or more, not {n_points}", "try --points 2")
    plan_seed, plan_dtype, plan_device = resolve_common(
        sec, plan_targets, plan_quantities, seed=seed, dtype=dtype, device=device
    )
    plan_size = pick(size, sec, "size", None)
    check_size(
        plan_size,
        plan_targets,
        with_hessian=plan_quantities is None or "hessian" in plan_quantities,
    )
    required = pick(split_names(require), sec, "require", [])
    known = all_backends()
    for name in required:
        if name.partition(":")[0] not in known:
            raise unknown_name("backend", name, known)
    return CheckPlan(
        targets=plan_targets,
        backends=plan_backends,
        quantities=plan_quantities,
        points=n_points,
        seed=plan_seed,
        dtype=plan_dtype,
        size=plan_size,
        device=plan_device,
        require=required,
        tolerances=resolve_tolerances(config),
        target_files=tuple(str(f) for f in target_files),
    )


@dataclass(frozen=True)
class Suspect:
    """A closed form every AD backend disagrees with, while they agree with each other."""

    target: str
    quantity: str
    point: str
    backends: list[str]


@dataclass
class CheckReport:
    """Everything ``check`` found: per-point records and the closed-form suspects."""

    plan: CheckPlan
    records: list[CheckRecord]
    suspects: list[Suspect]
    seconds: float = 0.0

    def rows(self) -> list[tuple[str, str]]:
        """(target, quantity) in registry order."""
        return [(t.name, q) for t in self.plan.targets for q in self.plan.quantities_of(t)]

    def columns(self) -> list[str]:
        """Backend labels in selection order."""
        return [b.label for b in self.plan.backends]

    def cell(self, target: str, quantity: str, label: str) -> list[CheckRecord]:
        """The records of one table cell (one per point)."""
        return [
            r
            for r in self.records
            if r.target == target and r.quantity == quantity and r.label == label
        ]

    def missing_required(self) -> list[str]:
        """Required backends that were unavailable or could not compute a quantity."""
        missing = []
        for name in self.plan.require:
            recs = [r for r in self.records if name in (r.backend, r.label)]
            if not recs or any(r.status in ("unavailable", "unsupported") for r in recs):
                missing.append(name)
        return missing

    @property
    def checked(self) -> int:
        """How many values were actually compared with a closed form."""
        return sum(r.status in ("pass", "fail", "nonfinite") for r in self.records)

    @property
    def failed(self) -> bool:
        """Whether anything failed, a required backend was missing, or nothing was checked
        at all (every backend unavailable): a gate must not pass on an empty run."""
        return (
            any(r.status in FAILING for r in self.records)
            or bool(self.missing_required())
            or self.checked == 0
        )

    @property
    def exit_code(self) -> int:
        """0 when everything that ran passed, 1 otherwise."""
        return 1 if self.failed else 0

    def counts(self) -> dict[str, int]:
        """How many table cells (target × quantity × backend) ended in each status."""
        out: dict[str, int] = {}
        for target, quantity in self.rows():
            for label in self.columns():
                recs = self.cell(target, quantity, label)
                if recs:
                    s = worst_status([r.status for r in recs])
                    out[s] = out.get(s, 0) + 1
        return out


def direction(seed: int, target: str, index: int, shape: tuple[int, ...]) -> np.ndarray:
    """The seeded direction v for ``hvp`` at one point (the same for every backend)."""
    rng = np.random.default_rng([seed, index, sum(map(ord, target))])
    return rng.standard_normal(shape)


def run_check(
    plan: CheckPlan,
    on_record: Callable[[CheckRecord], None] | None = None,
    jobs: int = 1,
) -> CheckReport:
    """Evaluate every selected cell.  A backend that raises becomes an ``error`` record;
    the other cells still run.

    With ``jobs > 1`` the backends run in that many worker processes at once (each
    framework imports and compiles in its own process, so on two cores TensorFlow's import
    overlaps JAX's compilation, and a crash in one framework cannot take the others down).
    """
    start = time.perf_counter()
    by_backend: dict[BackendSpec, tuple[list[CheckRecord], dict[_Key, np.ndarray]]] = {}
    if jobs <= 1 or len(plan.backends) == 1:
        for spec in plan.backends:
            by_backend[spec] = check_backend(plan, spec, on_record)
    else:
        by_backend = _run_in_workers(plan, on_record, jobs)
    records: list[CheckRecord] = []
    values: dict[_Key, np.ndarray] = {}
    for spec in plan.backends:  # selection order, whatever order the workers finished in
        recs, vals = by_backend[spec]
        records += recs
        values.update(vals)
    suspects = _suspects(plan, records, values)
    return CheckReport(plan, records, suspects, time.perf_counter() - start)


_Key = tuple[str, str, str, str]


def check_backend(
    plan: CheckPlan, spec: BackendSpec, on_record: Callable[[CheckRecord], None] | None = None
) -> tuple[list[CheckRecord], dict[_Key, np.ndarray]]:
    """Every selected cell of one backend: its records and the values it computed."""
    records: list[CheckRecord] = []
    values: dict[_Key, np.ndarray] = {}

    def emit(rec: CheckRecord) -> None:
        records.append(rec)
        if on_record:
            on_record(rec)

    backend = spec.create(dtype=plan.dtype, device=plan.device)
    try:
        backend.ensure_loaded()
        load_error = None
    except BackendUnavailable as exc:
        load_error = ("unavailable", str(exc))
    except Exception as exc:  # an import that crashes is this backend's problem only
        load_error = ("error", f"{type(exc).__name__}: {exc}")
    for target in plan.targets:
        sample_error = None
        try:
            points = target.points(plan.points, plan.seed, plan.size)
        except Exception as exc:  # a user's sampler: its target's cells say so, others run
            points = []
            sample_error = ("error", f"the sampler raised {type(exc).__name__}: {exc}")
        for quantity in plan.quantities_of(target):
            base: dict[str, Any] = dict(
                target=target.name,
                quantity=quantity,
                backend=spec.name,
                mode=spec.mode,
                dtype=plan.dtype,
                device=plan.device,
            )
            failure = load_error or sample_error
            if failure:
                emit(CheckRecord(**base, point="*", status=failure[0], message=failure[1]))
                continue
            for i, point in enumerate(points):
                emit(check_cell(plan, backend, target, quantity, point, i, base, values))
    return records, values


# ---- worker processes ---------------------------------------------------------------------

_progress_queue: Any = None


def _worker_init(queue: Any, target_files: tuple[str, ...]) -> None:
    """Runs once in each worker: where to report progress, and the user's targets."""
    global _progress_queue
    _progress_queue = queue
    for path in target_files:
        load_targets_file(path)


def _worker_run(
    plan: CheckPlan, names: list[str], spec: BackendSpec
) -> tuple[list[CheckRecord], dict[_Key, np.ndarray]]:
    # Targets hold functions that do not pickle: the plan travels without them.
    full = replace(plan, targets=[get_target(n) for n in names])
    queue = _progress_queue
    return check_backend(full, spec, None if queue is None else queue.put)


def _run_in_workers(
    plan: CheckPlan, on_record: Callable[[CheckRecord], None] | None, jobs: int
) -> dict[BackendSpec, tuple[list[CheckRecord], dict[_Key, np.ndarray]]]:
    import concurrent.futures as cf
    import multiprocessing

    # spawn, not fork: the parent may run a progress thread, and forked locks deadlock.
    ctx = multiprocessing.get_context("spawn")
    progress = ctx.Queue()
    shipped = replace(plan, targets=[])
    names = [t.name for t in plan.targets]
    out: dict[BackendSpec, tuple[list[CheckRecord], dict[_Key, np.ndarray]]] = {}
    with cf.ProcessPoolExecutor(
        max_workers=min(jobs, len(plan.backends)),
        mp_context=ctx,
        initializer=_worker_init,
        initargs=(progress, plan.target_files),
    ) as pool:
        # Frameworks first: their imports are the long tasks; the NumPy-only backends fill
        # the gaps at the end.
        order = sorted(plan.backends, key=lambda b: all_backends()[b.name].module is None)
        futures = {pool.submit(_worker_run, shipped, names, spec): spec for spec in order}
        pending = set(futures)
        reported = 0
        finished = 0  # records of the workers that returned: each also sent as progress
        while pending:
            done, pending = cf.wait(pending, timeout=0.1)
            for fut in done:
                spec = futures[fut]
                try:
                    out[spec] = fut.result()
                    finished += len(out[spec][0])
                except Exception as exc:  # the worker died (segfault, OOM): its cells say so
                    out[spec] = (_lost_backend(plan, spec, exc), {})
            reported += _report(progress, on_record, wait=0.0)
        # A worker's last progress messages can arrive after its result: wait for them (a
        # few seconds at most), so that every record is reported.
        deadline = time.monotonic() + 5.0
        while reported < finished and time.monotonic() < deadline:
            reported += _report(progress, on_record, wait=0.1)
    return out


def _report(progress: Any, on_record: Callable[[CheckRecord], None] | None, wait: float) -> int:
    """Pass on every progress record queued by the workers (waiting up to ``wait`` seconds
    for the first); return how many there were."""
    import queue as queue_module

    count = 0
    while True:
        try:
            rec = progress.get(timeout=wait) if wait and not count else progress.get_nowait()
        except queue_module.Empty:
            return count
        count += 1
        if on_record:
            on_record(rec)


def _lost_backend(plan: CheckPlan, spec: BackendSpec, exc: BaseException) -> list[CheckRecord]:
    message = f"worker process failed: {type(exc).__name__}: {exc}"
    return [
        CheckRecord(
            target=t.name,
            quantity=q,
            backend=spec.name,
            mode=spec.mode,
            dtype=plan.dtype,
            device=plan.device,
            point="*",
            status="error",
            message=message,
        )
        for t in plan.targets
        for q in plan.quantities_of(t)
    ]


def check_cell(
    plan: CheckPlan,
    backend: Any,
    target: Target,
    quantity: str,
    point: Point,
    index: int,
    base: dict[str, Any],
    values: dict[tuple[str, str, str, str], np.ndarray],
) -> CheckRecord:
    """One backend's ``quantity`` (or ``primal``, f itself) at one point against the closed
    form; the value computed goes into ``values``.  Whatever raises is this cell's error."""
    size = None if target.is_scalar else point.size
    v = direction(plan.seed, target.name, index, point.x.shape) if quantity == "hvp" else None
    # The reference is computed in float64 at the very point the backend sees (cast first).
    ref_point = point.astype(plan.dtype).astype(np.float64)
    ref_v = None if v is None else v.astype(plan.dtype).astype(np.float64)
    rtol, atol = plan.tolerances.lookup(
        plan.dtype,
        derivative_order(quantity),
        finite=backend.name == "finite",
        target=target.name,
        quantity=quantity,
        target_overrides=target.tolerances,
    )
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
    if not np.all(np.isfinite(ref)):
        return CheckRecord(
            **common,
            status="error",
            seconds=seconds,
            message="the closed form is NaN or Inf at this point",
        )
    values[(target.name, quantity, point.label, backend.label)] = np.asarray(got)
    verdict = compare_arrays(got, ref, rtol, atol, plan.dtype)
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
        seconds=seconds,
    )


def _suspects(
    plan: CheckPlan,
    records: list[CheckRecord],
    values: dict[tuple[str, str, str, str], np.ndarray],
) -> list[Suspect]:
    """Cells where ≥ 2 AD backends fail the closed form yet agree with one another."""
    autodiff = {b.label for b in plan.backends if all_backends()[b.name].is_autodiff}
    groups: dict[tuple[str, str, str], list[CheckRecord]] = {}
    for r in records:
        if r.label in autodiff and r.status in ("pass", "fail"):
            groups.setdefault((r.target, r.quantity, r.point), []).append(r)
    out = []
    for (target, quantity, point), recs in groups.items():
        if len(recs) < 2 or any(r.status == "pass" for r in recs):
            continue
        first = values[(target, quantity, point, recs[0].label)]
        rtol, atol = recs[0].rtol or 0.0, recs[0].atol or 0.0
        if all(
            arrays_agree(values[(target, quantity, point, r.label)], first, rtol, atol)
            for r in recs[1:]
        ):
            out.append(Suspect(target, quantity, point, [r.label for r in recs]))
    return out
