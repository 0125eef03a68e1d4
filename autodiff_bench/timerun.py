"""The ``time`` engine: f, the closed-form derivative and every backend's derivative, timed
per target × size in one worker process per framework.  It computes records; it never prints.

Why workers: thread pools, allocators and JIT caches of one framework must not slow another,
and a backend that crashes (a segfault in native code) or hangs must cost only its own cell.
Workers run one at a time, so no two measurements share the CPU.  Each worker is a fresh
``spawn`` process whose thread settings are in its environment before any framework (or
NumPy's BLAS) is imported.  The parent watches every cell with ``timeout_s``: a silent worker
is killed and the cell becomes ``timeout``; a dead one makes it ``error``; a new worker
takes the remaining cells.  Ctrl-C stops the run and the report keeps what was measured.
"""

from __future__ import annotations

import contextlib
import faulthandler
import math
import multiprocessing
import os
import signal
import tempfile
import threading
import time
import traceback
import zlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from autodiff_bench.backends import (
    Backend,
    BackendSpec,
    BackendUnavailable,
    QuantityUnsupported,
    all_backends,
    parse_backends,
    register_backend,
)
from autodiff_bench.config import ConfigFile, pick
from autodiff_bench.errors import UsageError, unknown_name
from autodiff_bench.model import TimeRecord
from autodiff_bench.quantities import QUANTITIES
from autodiff_bench.selection import resolve_common, resolve_targets, split_names
from autodiff_bench.targets import (
    Point,
    Target,
    all_targets,
    check_size,
    direction,
    load_targets_file,
)
from autodiff_bench.timing import HarnessSettings, measure

#: A bare ``adbench time`` runs these (``configs/time.toml`` spells out the same values).
DEFAULT_SIZES = (10, 100)
#: Per-target sizes that replace DEFAULT_SIZES.  trace_axb's variable is an n×(n+1) matrix,
#: so its Hessian has ~n⁴ entries: at n = 100 that is 816 MB per call.
DEFAULT_TARGET_SIZES: dict[str, list[int]] = {"trace_axb": [5, 20]}
DEFAULT_THREADS = 1
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_HARNESS = HarnessSettings(budget_s=0.1, min_samples=5, max_samples=1000, settle=0.01)
#: Finite differences cost 2·4·n evaluations of f per level, a number known in advance; they
#: are the correctness baseline, so the default timing suite leaves them out.
EXCLUDED_BY_DEFAULT = ("finite",)
#: The manual closed forms are the reference of ``ratio_to_manual``: always timed.
REFERENCE = "manual"
#: Environment variables read once, at import, by the thread pools of NumPy's BLAS, OpenMP
#: (torch), TensorFlow and numexpr; set in each worker before anything is imported.
THREAD_ENV = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)
#: Importing a framework is not a cell: it gets at least this long (TensorFlow takes seconds).
LOAD_TIMEOUT_S = 120.0
#: After this many crashes in a row the rest of a framework's cells are not attempted.
MAX_CONSECUTIVE_CRASHES = 3


# ---- the plan ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One timed cell: a quantity of a target at a size, from one backend in one mode."""

    target: str
    size: int | None
    quantity: str
    backend: str
    mode: str


@dataclass(frozen=True)
class TimePlan:
    """A resolved, validated selection for ``time``."""

    targets: list[Target]
    backends: list[BackendSpec]
    #: Selected quantities (``primal`` is always timed too); None means all a target has.
    quantities: list[str] | None
    sizes: list[int]
    dtype: str = "float64"
    device: str = "cpu"
    threads: int = DEFAULT_THREADS
    seed: int = 0
    timeout_s: float = DEFAULT_TIMEOUT_S
    harness: HarnessSettings = DEFAULT_HARNESS
    targets_files: tuple[str, ...] = ()
    #: Sizes of particular targets, in place of ``sizes``.
    target_sizes: dict[str, list[int]] = field(default_factory=dict)

    def quantities_of(self, target: Target) -> list[str]:
        """``primal`` then the selected quantities ``target`` has."""
        chosen = [q for q in target.quantities if self.quantities is None or q in self.quantities]
        return ["primal", *chosen]

    def sizes_of(self, target: Target) -> list[int | None]:
        """The sizes ``target`` is timed at (None for a scalar target: it has no size)."""
        if target.is_scalar:
            return [None]
        return list(self.target_sizes.get(target.name, self.sizes))

    def cells(self) -> list[Cell]:
        """Every cell, in table order: target, size, quantity, backend."""
        return [
            Cell(t.name, n, q, b.name, b.mode)
            for t in self.targets
            for n in self.sizes_of(t)
            for q in self.quantities_of(t)
            for b in self.backends
        ]

    def as_dict(self) -> dict[str, Any]:
        """The resolved selection, for the JSON ``config`` field."""
        return {
            "targets": [t.name for t in self.targets],
            "backends": [b.label for b in self.backends],
            "quantities": self.quantities,
            "sizes": self.sizes,
            "target_sizes": self.target_sizes,
            "dtype": self.dtype,
            "device": self.device,
            "threads": self.threads,
            "seed": self.seed,
            "timeout_s": self.timeout_s,
            "budget_s": self.harness.budget_s,
            "min_samples": self.harness.min_samples,
            "max_samples": self.harness.max_samples,
            "settle": self.harness.settle,
            "min_sample_s": self.harness.min_sample_s,
        }


def parse_sizes(values: list[str] | str | list[int] | None) -> list[int] | None:
    """``10,100,1000`` (or repeated options, or a config's list) to sorted distinct ints."""
    if values is None:
        return None
    items: list[Any] = values if isinstance(values, list) else [values]
    out: list[int] = []
    for item in items:
        parts = item.split(",") if isinstance(item, str) else [item]
        for part in parts:
            text = str(part).strip()
            try:
                n = int(text)
            except ValueError:
                n = 0
            if n <= 0 or isinstance(part, bool):
                raise UsageError(
                    f"--sizes takes positive integers, not '{text}'", "e.g. --sizes 10,100,1000"
                )
            out.append(n)
    if not out:
        raise UsageError("--sizes is empty", "e.g. --sizes 10,100,1000")
    return sorted(set(out))


def resolve_time_quantities(names: list[str]) -> list[str] | None:
    """Quantity names (``all``, ``primal`` and the derivative quantities); None means all."""
    if not names or names == ["all"]:
        return None
    known = ("primal", *QUANTITIES)
    for q in names:
        if q not in known:
            raise unknown_name("quantity", q, known)
    return list(dict.fromkeys(names))


def default_backends() -> list[str]:
    """Every registered backend but those :data:`EXCLUDED_BY_DEFAULT`."""
    return [n for n in all_backends() if n not in EXCLUDED_BY_DEFAULT]


def check_sizes_fit(
    sizes_of: Callable[[Target], list[int | None]], targets: list[Target], with_hessian: bool
) -> None:
    """Refuse a size whose inputs (and Hessian) would not fit in half the machine's memory."""
    for t in targets:
        for n in sizes_of(t):
            check_size(n, [t], with_hessian, option="--sizes")


def _positive(name: str, value: float, hint: str) -> float:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise UsageError(f"{name} must be a positive number, not {value}", hint)
    return value


def resolve_time_plan(
    config: ConfigFile,
    *,
    targets: list[str] | None = None,
    backends: list[str] | None = None,
    quantities: list[str] | None = None,
    sizes: list[str] | None = None,
    dtype: str | None = None,
    device: str | None = None,
    threads: int | None = None,
    seed: int | None = None,
    budget: float | None = None,
    min_samples: int | None = None,
    timeout: float | None = None,
    targets_files: list[str] | None = None,
) -> TimePlan:
    """Merge command line over the config's ``[time]`` over the defaults, validating all."""
    sec = config.section("time")
    plan_targets = resolve_targets(pick(split_names(targets), sec, "targets", ["all"]))
    chosen = pick(split_names(backends), sec, "backends", None) or default_backends()
    specs = parse_backends(chosen)
    if not any(s.name == REFERENCE for s in specs):
        specs = [parse_backends([REFERENCE])[0], *specs]
    plan_quantities = resolve_time_quantities(pick(split_names(quantities), sec, "quantities", []))
    plan_seed, plan_dtype, plan_device = resolve_common(
        sec, plan_targets, plan_quantities, seed=seed, dtype=dtype, device=device, also=("primal",)
    )
    if plan_quantities is not None:
        # A target with none of the selected derivatives is not timed at all.
        plan_targets = [
            t
            for t in plan_targets
            if any(q in t.quantities or q == "primal" for q in plan_quantities)
        ]
    if sizes is not None:
        # Sizes typed on the command line are meant for every target: no per-target table.
        plan_sizes, per_target = parse_sizes(sizes) or [], {}
    elif "sizes" in sec:
        plan_sizes, per_target = parse_sizes(sec["sizes"]) or [], sec.get("target_sizes", {})
    else:
        plan_sizes = list(DEFAULT_SIZES)
        per_target = sec.get("target_sizes", DEFAULT_TARGET_SIZES)
    known = all_targets()
    plan_target_sizes: dict[str, list[int]] = {}
    for name, values in per_target.items():
        if name not in known:
            raise unknown_name("target in target_sizes", name, known)
        plan_target_sizes[name] = parse_sizes(list(values)) or []

    def sizes_of(t: Target) -> list[int | None]:
        return [None] if t.is_scalar else list(plan_target_sizes.get(t.name, plan_sizes))

    check_sizes_fit(
        sizes_of,
        plan_targets,
        with_hessian=plan_quantities is None or "hessian" in plan_quantities,
    )
    plan_threads = pick(threads, sec, "threads", DEFAULT_THREADS)
    if plan_threads <= 0:
        raise UsageError(f"--threads must be 1 or more, not {plan_threads}", "try --threads 1")
    d = DEFAULT_HARNESS
    plan_budget = _positive("--budget", pick(budget, sec, "budget", d.budget_s), "try --budget 0.2")
    plan_timeout = _positive(
        "--timeout", pick(timeout, sec, "timeout", DEFAULT_TIMEOUT_S), "try --timeout 60"
    )
    n_min = pick(min_samples, sec, "min_samples", d.min_samples)
    if n_min < 1:
        raise UsageError(f"--min-samples must be 1 or more, not {n_min}", "try --min-samples 5")
    n_max = sec.get("max_samples", d.max_samples)
    if n_max < n_min:
        raise UsageError(f"max_samples ({n_max}) is below min_samples ({n_min})")
    settle = sec.get("settle", d.settle)
    if not 0 <= settle < 1:
        raise UsageError(f"settle must be in [0, 1), not {settle}", "e.g. settle = 0.01")
    harness = replace(
        d, budget_s=float(plan_budget), min_samples=n_min, max_samples=n_max, settle=settle
    )
    return TimePlan(
        targets=plan_targets,
        backends=specs,
        quantities=plan_quantities,
        sizes=plan_sizes,
        target_sizes=plan_target_sizes,
        dtype=plan_dtype,
        device=plan_device,
        threads=plan_threads,
        seed=plan_seed,
        timeout_s=float(plan_timeout),
        harness=harness,
        targets_files=tuple(str(Path(p).resolve()) for p in targets_files or ()),
    )


# ---- the report ----------------------------------------------------------------------------


@dataclass(frozen=True)
class GrowthFit:
    """time ∝ sizeᵏ fitted by least squares on log-log for one backend and quantity."""

    target: str
    quantity: str
    backend: str
    mode: str
    exponent: float
    sizes: list[int]


@dataclass(frozen=True)
class Highlight:
    """The sentence a person wants for one target: who was fastest on its main derivative at
    its largest size, by how much, and how the closed form compares."""

    target: str
    quantity: str
    size: int | None
    #: (label, median seconds, noisy) fastest first, every backend that was measured.
    ranking: list[tuple[str, float, bool]]
    fastest_autodiff: str | None = None
    runner_up: str | None = None
    #: runner_up median / fastest_autodiff median.
    speedup: float | None = None
    #: fastest_autodiff median / manual median (> 1: the closed form is faster).
    autodiff_over_manual: float | None = None


@dataclass
class TimeReport:
    """Everything ``time`` measured, in plan order, with ratios and growth fits."""

    plan: TimePlan
    records: list[TimeRecord]
    growth: list[GrowthFit] = field(default_factory=list)
    #: What each framework's worker honoured (thread settings, version), by backend name.
    workers: dict[str, dict[str, Any]] = field(default_factory=dict)
    interrupted: bool = False
    seconds: float = 0.0

    @property
    def planned(self) -> int:
        """How many cells the plan had (more than ``len(records)`` when interrupted)."""
        return len(self.plan.cells())

    def columns(self) -> list[str]:
        """Backend labels in selection order."""
        return [b.label for b in self.plan.backends]

    def get(self, target: str, size: int | None, quantity: str, label: str) -> TimeRecord | None:
        """The record of one cell, if it was measured."""
        for r in self.records:
            if (r.target, r.size, r.quantity) == (target, size, quantity) and label_of(r) == label:
                return r
        return None

    def counts(self) -> dict[str, int]:
        """How many cells ended in each status."""
        out: dict[str, int] = {}
        for r in self.records:
            out[r.status] = out.get(r.status, 0) + 1
        return out

    def noisy(self) -> list[TimeRecord]:
        """Measured cells whose spread makes the median doubtful."""
        return [r for r in self.records if r.status == "pass" and r.noisy]

    def fit(self, target: str, quantity: str, label: str) -> GrowthFit | None:
        """The growth fit of one backend and quantity, if there is one."""
        for g in self.growth:
            if (g.target, g.quantity) == (target, quantity) and _label(g.backend, g.mode) == label:
                return g
        return None

    def highlights(self) -> list[Highlight]:
        """One :class:`Highlight` per target that has a measured derivative."""
        out = []
        autodiff = {b.label for b in self.plan.backends if all_backends()[b.name].is_autodiff}
        for t in self.plan.targets:
            quantities = [q for q in self.plan.quantities_of(t) if q != "primal"]
            if not quantities:
                continue
            # The first-order derivative is the headline: what training loops pay for.
            q = next((x for x in ("grad", "d1") if x in quantities), quantities[0])
            size = self.plan.sizes_of(t)[-1]
            ranked = sorted(
                (
                    (label_of(r), r.median_s, r.noisy)
                    for r in self.records
                    if (r.target, r.size, r.quantity) == (t.name, size, q)
                    and r.status == "pass"
                    and r.median_s
                ),
                key=lambda item: item[1],
            )
            if not ranked:
                continue
            ad = [item for item in ranked if item[0] in autodiff]
            manual = next((item for item in ranked if item[0] == REFERENCE), None)
            h = Highlight(t.name, q, size, [(a, float(b), c) for a, b, c in ranked])
            if ad:
                h = replace(h, fastest_autodiff=ad[0][0])
                if len(ad) > 1:
                    h = replace(h, runner_up=ad[1][0], speedup=ad[1][1] / ad[0][1])
                if manual is not None:
                    h = replace(h, autodiff_over_manual=ad[0][1] / manual[1])
            out.append(h)
        return out

    @property
    def failed(self) -> bool:
        """Whether a cell errored or timed out."""
        return any(r.status in ("error", "timeout") for r in self.records)

    @property
    def exit_code(self) -> int:
        """130 when interrupted, 1 when a cell errored or timed out, else 0."""
        if self.interrupted:
            return 130
        return 1 if self.failed else 0


def _label(backend: str, mode: str) -> str:
    cls = all_backends().get(backend)
    return backend if cls is None or mode == cls.modes[0] else f"{backend}:{mode}"


def label_of(record: TimeRecord) -> str:
    """The column heading of a record's backend (``jax`` or ``jax:nojit``)."""
    return _label(record.backend, record.mode)


def add_ratios(records: list[TimeRecord]) -> None:
    """Fill ``ratio_to_primal`` (the same backend's f) and ``ratio_to_manual`` (the closed form
    of the same quantity) on every measured record."""
    medians = {
        (r.target, r.size, r.quantity, r.backend, r.mode): r.median_s
        for r in records
        if r.status == "pass" and r.median_s
    }
    manual_mode = all_backends()[REFERENCE].modes[0]
    for r in records:
        if r.status != "pass" or not r.median_s:
            continue
        primal = medians.get((r.target, r.size, "primal", r.backend, r.mode))
        manual = medians.get((r.target, r.size, r.quantity, REFERENCE, manual_mode))
        r.ratio_to_primal = r.median_s / primal if primal else None
        r.ratio_to_manual = r.median_s / manual if manual else None


def fit_growth(records: list[TimeRecord]) -> list[GrowthFit]:
    """The exponent k of time ∝ sizeᵏ per target × quantity × backend with ≥ 2 sizes."""
    groups: dict[tuple[str, str, str, str], list[tuple[int, float]]] = {}
    for r in records:
        if r.status == "pass" and r.size is not None and r.median_s and r.median_s > 0:
            groups.setdefault((r.target, r.quantity, r.backend, r.mode), []).append(
                (r.size, r.median_s)
            )
    out = []
    for (target, quantity, backend, mode), pts in groups.items():
        sizes = sorted({n for n, _ in pts})
        if len(sizes) < 2:
            continue
        x = np.log([n for n, _ in pts])
        y = np.log([s for _, s in pts])
        k = float(np.polyfit(x, y, 1)[0])
        out.append(GrowthFit(target, quantity, backend, mode, k, sizes))
    return out


# ---- the parent: one worker per framework, watched --------------------------------------------


@dataclass(frozen=True)
class WorkerJob:
    """What a worker process needs; pickled to it (classes travel by reference)."""

    backend: str
    backend_class: type[Backend]
    cells: tuple[Cell, ...]
    dtype: str
    device: str
    threads: int
    seed: int
    harness: HarnessSettings
    targets_files: tuple[str, ...]
    #: Modules to import so that targets registered outside the built-ins exist there too.
    target_modules: tuple[str, ...]
    log_path: str
    show_logs: bool


Hook = Callable[[TimeRecord], None]
StageHook = Callable[[str], None]


def run_time(
    plan: TimePlan, on_record: Hook | None = None, on_stage: StageHook | None = None
) -> TimeReport:
    """Time every cell of ``plan``, one framework at a time, each in its own process.

    ``on_record`` sees each record as it arrives, ``on_stage`` a short description of what is
    happening (for a progress bar).  Ctrl-C returns the report so far, ``interrupted`` set.
    """
    start = time.perf_counter()
    cells = plan.cells()
    report = TimeReport(plan, [])
    by_backend: dict[str, list[Cell]] = {}
    for c in cells:
        by_backend.setdefault(c.backend, []).append(c)
    got: dict[Cell, TimeRecord] = {}

    def emit(rec: TimeRecord, cell: Cell) -> None:
        got[cell] = rec
        if on_record:
            on_record(rec)

    try:
        for name, todo in by_backend.items():
            if on_stage:
                on_stage(f"starting {name}")
            report.workers[name] = _run_framework(plan, name, todo, emit, on_stage)
    except KeyboardInterrupt:
        report.interrupted = True
    report.records = [got[c] for c in cells if c in got]
    add_ratios(report.records)
    report.growth = fit_growth(report.records)
    report.seconds = time.perf_counter() - start
    return report


def _target_modules(plan: TimePlan) -> tuple[str, ...]:
    """Modules that registered targets programmatically (not built-in, not a targets file)."""
    mods = []
    for t in plan.targets:
        mod = getattr(t.f, "__module__", None) or ""
        if mod.startswith(("autodiff_bench.", "adbench_user_targets_")) or mod == "__main__":
            continue
        mods.append(mod)
    return tuple(dict.fromkeys(mods))


def _base_record(plan: TimePlan, cell: Cell) -> dict[str, Any]:
    return dict(
        target=cell.target,
        size=cell.size,
        quantity=cell.quantity,
        backend=cell.backend,
        mode=cell.mode,
        dtype=plan.dtype,
        device=plan.device,
        threads=plan.threads,
    )


def _run_framework(
    plan: TimePlan,
    name: str,
    cells: list[Cell],
    emit: Callable[[TimeRecord, Cell], None],
    on_stage: StageHook | None,
) -> dict[str, Any]:
    """Run ``cells`` of one framework in workers, restarting after a crash or timeout."""
    remaining = list(cells)
    crashes = 0
    info: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="adbench-time-") as tmp:
        while remaining:
            job = WorkerJob(
                backend=name,
                backend_class=all_backends()[name],
                cells=tuple(remaining),
                dtype=plan.dtype,
                device=plan.device,
                threads=plan.threads,
                seed=plan.seed,
                harness=plan.harness,
                targets_files=plan.targets_files,
                target_modules=_target_modules(plan),
                log_path=os.path.join(tmp, f"{name}.log"),
                show_logs=bool(os.environ.get("ADBENCH_SHOW_FRAMEWORK_LOGS")),
            )
            done, failure, info = _watch_worker(plan, job, emit, on_stage, info)
            remaining = remaining[done:]
            if failure is None:
                break
            status, message, during_load = failure
            if during_load:
                # The framework itself cannot start: every cell of it shares that fate.
                for c in remaining:
                    emit(TimeRecord(**_base_record(plan, c), status=status, message=message), c)
                break
            emit(
                TimeRecord(**_base_record(plan, remaining[0]), status=status, message=message),
                remaining[0],
            )
            remaining = remaining[1:]
            crashes += 1
            if crashes >= MAX_CONSECUTIVE_CRASHES and remaining:
                note = f"not run: the {name} worker failed {crashes} times in a row"
                for c in remaining:
                    emit(TimeRecord(**_base_record(plan, c), status="error", message=note), c)
                break
    return info


@contextlib.contextmanager
def _child_start_conditions(threads: int) -> Iterator[None]:
    """While a worker starts: its thread variables in the environment it inherits, and SIGINT
    ignored (inherited through exec), so Ctrl-C reaches only the parent, which stops it."""
    saved = {k: os.environ.get(k) for k in THREAD_ENV}
    for k in THREAD_ENV:
        os.environ[k] = str(threads)
    main = threading.current_thread() is threading.main_thread()
    old = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        yield
    finally:
        if main:
            signal.signal(signal.SIGINT, old)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _watch_worker(
    plan: TimePlan,
    job: WorkerJob,
    emit: Callable[[TimeRecord, Cell], None],
    on_stage: StageHook | None,
    info: dict[str, Any],
) -> tuple[int, tuple[str, str, bool] | None, dict[str, Any]]:
    """Start one worker on ``job`` and collect its records.

    Returns how many cells it finished, the failure (status, message, during loading) that
    ended it early or None, and what it reported about its framework.
    """
    ctx = multiprocessing.get_context("spawn")
    reader, writer = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=worker_main, args=(writer, job), daemon=True)
    with _child_start_conditions(job.threads):
        proc.start()
    writer.close()  # only the child writes now: its exit closes the pipe, which we see as EOF
    done = 0
    current: int | None = None  # None while the framework is loading
    deadline = time.monotonic() + max(plan.timeout_s, LOAD_TIMEOUT_S)
    try:
        while True:
            if not reader.poll(max(deadline - time.monotonic(), 0.0)):
                _stop(proc)
                if current is None:
                    what = f"starting the {job.backend} worker took longer than"
                    limit = max(plan.timeout_s, LOAD_TIMEOUT_S)
                    return done, ("timeout", f"{what} {limit:g} s", True), info
                return (
                    done,
                    ("timeout", f"no result within --timeout {plan.timeout_s:g} s", False),
                    info,
                )
            try:
                msg = reader.recv()
            except (EOFError, OSError):
                proc.join(5)
                why = _death(proc, job.log_path)
                if current is None:
                    return (
                        done,
                        ("error", f"{job.backend} worker died while loading: {why}", True),
                        info,
                    )
                return done, ("error", f"worker died during this cell: {why}", False), info
            kind = msg[0]
            if kind == "ready":
                info = msg[1]
                current = 0
                deadline = time.monotonic() + plan.timeout_s
            elif kind == "start":
                current = msg[1]
                cell = job.cells[current]
                deadline = time.monotonic() + plan.timeout_s
                if on_stage:
                    size = "" if cell.size is None else f" n={cell.size}"
                    on_stage(
                        f"{_label(cell.backend, cell.mode)} {cell.target}{size} {cell.quantity}"
                    )
            elif kind == "record":
                index, fields = msg[1], msg[2]
                emit(TimeRecord(**fields), job.cells[index])
                done = index + 1
            elif kind == "done":
                proc.join(5)
                return done, None, info
    finally:
        reader.close()
        _stop(proc)


def _stop(proc: Any) -> None:
    """Terminate a worker (then kill it if it ignores that) and reap it."""
    if proc.is_alive():
        proc.terminate()
        proc.join(2)
        if proc.is_alive():
            proc.kill()
            proc.join(2)


def _death(proc: Any, log_path: str) -> str:
    """How a worker died, with the last line it wrote (a faulthandler note, a C++ abort)."""
    code = proc.exitcode
    if code is None:
        how = "it stopped answering"
    elif code < 0:
        try:
            how = f"killed by {signal.Signals(-code).name}"
        except ValueError:
            how = f"killed by signal {-code}"
    else:
        how = f"exit code {code}"
    tail = ""
    with contextlib.suppress(OSError):
        lines = [ln.strip() for ln in Path(log_path).read_text(errors="replace").splitlines()]
        lines = [ln for ln in lines if ln]
        # faulthandler's headline says more than the last frame of its stack dump.
        fatal = [ln for ln in lines if ln.startswith("Fatal Python error")]
        if fatal or lines:
            tail = f"; last output: {(fatal or lines)[-1][:200]}"
    return how + tail


# ---- the worker ------------------------------------------------------------------------------


def sample_point(target: Target, size: int | None, seed: int) -> Point:
    """The point a cell is timed at: the canonical one for a scalar target, else a seeded
    random one of ``size``, the same in every worker."""
    if size is None:
        if target.canonical:
            return target.canonical[0]
        return target.sample(np.random.default_rng(seed), 1)
    # crc32, not hash(): string hashes differ between processes.
    rng = np.random.default_rng([seed, size, zlib.crc32(target.name.encode())])
    return target.sample(rng, size)


def worker_main(conn: Any, job: WorkerJob) -> None:
    """A worker process: load one framework, time its cells, send each record back."""
    # Ctrl-C is the parent's to handle (it is ignored here from birth; this is belt and braces).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if not job.show_logs:
        # Framework chatter (and any crash report) goes to a log the parent reads on a crash.
        log = os.open(job.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
    faulthandler.enable()  # a segfault leaves its Python stack in the log
    try:
        for path in job.targets_files:
            load_targets_file(path)
        for mod in job.target_modules:
            with contextlib.suppress(ImportError):
                __import__(mod)
        if job.backend not in all_backends():
            register_backend(job.backend_class)
        modes = list(dict.fromkeys(c.mode for c in job.cells))
        backends: dict[str, Backend] = {}
        load_errors: dict[str, tuple[str, str]] = {}
        for mode in modes:
            b = BackendSpec(job.backend, mode).create(job.dtype, job.device, job.threads)
            try:
                b.ensure_loaded()
                backends[mode] = b
            except BackendUnavailable as exc:
                load_errors[mode] = ("unavailable", str(exc))
            except Exception as exc:  # an import that raises is this backend's problem only
                load_errors[mode] = ("error", f"{type(exc).__name__}: {exc}")
        conn.send(("ready", _worker_info(job, backends)))
        targets = all_targets()
        for i, cell in enumerate(job.cells):
            conn.send(("start", i))
            base: dict[str, Any] = dict(
                target=cell.target,
                size=cell.size,
                quantity=cell.quantity,
                backend=cell.backend,
                mode=cell.mode,
                dtype=job.dtype,
                device=job.device,
                threads=job.threads,
            )
            if cell.mode in load_errors:
                status, message = load_errors[cell.mode]
                rec = TimeRecord(**base, status=status, message=message)
            elif cell.target not in targets:
                rec = TimeRecord(
                    **base,
                    status="error",
                    message=f"target '{cell.target}' is unknown in the worker",
                )
            else:
                rec = time_cell(backends[cell.mode], targets[cell.target], cell, job, base)
            conn.send(("record", i, asdict(rec)))
        conn.send(("done",))
    except (BrokenPipeError, EOFError):  # the parent is gone: nothing left to report to
        return
    finally:
        conn.close()


def time_cell(
    backend: Backend, target: Target, cell: Cell, job: WorkerJob, base: dict[str, Any]
) -> TimeRecord:
    """Prepare one cell (inputs converted before any clock) and measure it."""
    point = sample_point(target, cell.size, job.seed)
    v = direction(job.seed, target.name, 0, point.x.shape) if cell.quantity == "hvp" else None
    try:
        call = backend.prepare(target, cell.quantity, point, v)
    except QuantityUnsupported as exc:
        return TimeRecord(**base, status="unsupported", message=str(exc))
    except Exception as exc:
        return TimeRecord(**base, status="error", message=f"{type(exc).__name__}: {exc}")
    # The base class's synchronize does nothing: skip the call rather than time it.
    no_sync = type(backend).synchronize is Backend.synchronize
    try:
        m = measure(call, None if no_sync else backend.synchronize, job.harness)
    except Exception as exc:
        tb = traceback.extract_tb(exc.__traceback__)
        where = f" at {Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""
        return TimeRecord(**base, status="error", message=f"{type(exc).__name__}: {exc}{where}")
    return TimeRecord(
        **base,
        status="pass",
        cold_s=m.cold_s,
        median_s=m.median_s,
        iqr_s=m.iqr_s,
        min_s=m.min_s,
        max_s=m.max_s,
        samples=m.samples,
        loops=m.loops,
        times_s=m.times_s,
        noisy=m.noisy,
    )


def _worker_info(job: WorkerJob, backends: dict[str, Backend]) -> dict[str, Any]:
    """What this worker's framework reports about its threads (recorded in the JSON)."""
    env = {k: os.environ[k] for k in (*THREAD_ENV, "XLA_FLAGS") if k in os.environ}
    info: dict[str, Any] = {
        "pid": os.getpid(),
        "version": job.backend_class.version(),
        "threads_requested": job.threads,
        "env": env,
    }
    # The adapters keep their framework module as an attribute once loaded.
    b = next(iter(backends.values()), None)
    with contextlib.suppress(Exception):
        torch = getattr(b, "torch", None)
        if torch is not None:
            info["torch_num_threads"] = torch.get_num_threads()
            info["torch_num_interop_threads"] = torch.get_num_interop_threads()
        tf = getattr(b, "tf", None)
        if tf is not None:
            info["tf_intra_op_threads"] = tf.config.threading.get_intra_op_parallelism_threads()
            info["tf_inter_op_threads"] = tf.config.threading.get_inter_op_parallelism_threads()
    return info


__all__ = [
    "DEFAULT_HARNESS",
    "DEFAULT_SIZES",
    "Cell",
    "GrowthFit",
    "Highlight",
    "TimePlan",
    "TimeReport",
    "add_ratios",
    "default_backends",
    "fit_growth",
    "label_of",
    "parse_sizes",
    "resolve_time_plan",
    "run_time",
    "sample_point",
    "time_cell",
    "worker_main",
]
