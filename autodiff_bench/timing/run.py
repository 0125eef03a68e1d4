"""Running ``time``: f, the closed-form derivative and every backend's derivative, timed
per target × size in a supervised worker process per framework.  It computes records; it
never prints.

Why workers: thread pools, allocators and JIT caches of one framework must not slow another,
and a backend that crashes or hangs must cost only its own cell.  Workers run one at a time,
so no two measurements share the CPU, and each starts with its thread settings in its
environment (``Backend.worker_environment``) before anything is imported.  A cell that
crashes or times out skips only what would surely fail again: the same backend, target and
quantity at the same or larger sizes.
"""

from __future__ import annotations

import contextlib
import os
import time
import traceback
import zlib
from collections.abc import Callable, Hashable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autodiff_bench.backends import (
    Backend,
    BackendSpec,
    QuantityUnsupported,
    all_backends,
    load_backend,
    load_backends_file,
    register_backend,
    shippable,
    version_of,
)
from autodiff_bench.device_info import FRAMEWORK_DEFAULT, loaded_report, run_environment
from autodiff_bench.model import TimeRecord
from autodiff_bench.targets import (
    Point,
    Target,
    all_targets,
    load_targets_file,
    quantity_direction,
    registering_modules,
)
from autodiff_bench.timing.harness import HarnessSettings, measure
from autodiff_bench.timing.plan import TimeCell, TimePlan
from autodiff_bench.timing.report import TimeReport, add_ratios, fit_growth
from autodiff_bench.workers import Lane, supervise

Hook = Callable[[TimeRecord], None]
StageHook = Callable[[str], None]


@dataclass
class TimeJob:
    """What a worker process times (picklable; classes travel by reference)."""

    backend: str
    backend_class: type[Backend] | None
    cells: list[TimeCell]
    labels: dict[str, str]
    dtype: str
    device: str
    threads: int
    seed: int
    harness: HarnessSettings
    targets_files: tuple[str, ...]
    #: Modules to import so that targets registered outside the built-ins exist there too.
    target_modules: tuple[str, ...]
    #: Users' backends files (``--backends-file``), re-imported here.
    backends_files: tuple[str, ...] = ()
    _backends: dict[str, Backend] = field(default_factory=dict)
    _load_errors: dict[str, tuple[str, str]] = field(default_factory=dict)

    def load(self) -> dict[str, Any]:
        """Load the user's targets and the framework in each mode the cells use."""
        for path in self.backends_files:
            load_backends_file(path)
        for path in self.targets_files:
            load_targets_file(path)
        for module in self.target_modules:
            __import__(module)
        if self.backend_class is not None and self.backend not in all_backends():
            register_backend(self.backend_class)
        for mode in dict.fromkeys(c.mode for c in self.cells):
            spec = BackendSpec(self.backend, mode)
            loaded = load_backend(spec, self.dtype, self.device, self.threads)
            if isinstance(loaded, tuple):
                self._load_errors[mode] = loaded
            else:
                self._backends[mode] = loaded
        # The framework the cells' modes run in (manual:torch runs in torch's).
        cls = all_backends()[self.backend].runtime(self.cells[0].mode)
        info: dict[str, Any] = {
            # Each framework's own precision settings (the framework at its best), recorded.
            **loaded_report(self._backends.values()),
            "pid": os.getpid(),
            "version": cls.version(),
            "threads_requested": self.threads,
            "env": {k: os.environ[k] for k in cls.worker_environment(self.threads, self.device)},
        }
        first = next(iter(self._backends.values()), None)
        # What a framework says about its threads is an extra: never a failure.
        with contextlib.suppress(Exception):
            info.update({} if first is None else first.thread_info())
        return info

    def run(self, index: int) -> dict[str, Any]:
        """Time one cell; its record as a dict (it pickles smaller and safer)."""
        cell = self.cells[index]
        base = record_fields(cell, self.labels, self.threads)
        if cell.mode in self._load_errors:
            status, message = self._load_errors[cell.mode]
            return asdict(TimeRecord(**base, status=status, message=message))
        targets = all_targets()
        if cell.target not in targets:
            message = f"target '{cell.target}' is unknown in the worker"
            return asdict(TimeRecord(**base, status="error", message=message))
        backend = self._backends[cell.mode]
        return asdict(time_cell(backend, targets[cell.target], cell, self, base))


def record_fields(cell: TimeCell, labels: dict[str, str], threads: int) -> dict[str, Any]:
    """The fields every record of a cell has."""
    return dict(
        **cell.cell_fields(),
        label=labels.get(cell.mode, ""),
        backend_version=version_of(cell.backend, cell.mode),
        threads=threads,
    )


class _Collector:
    """The supervisor's handler for time: records in, failures and skips as records."""

    def __init__(
        self,
        plan: TimePlan,
        labels: dict[str, dict[str, str]],
        on_record: Hook | None,
        on_stage: StageHook | None,
    ) -> None:
        self.plan = plan
        self.labels = labels
        self.on_record = on_record
        self.on_stage = on_stage
        self.got: dict[TimeCell, TimeRecord] = {}

    def add(self, cell: TimeCell, record: TimeRecord) -> None:
        self.got[cell] = record
        if self.on_record:
            self.on_record(record)

    def started(self, cell: Any) -> None:
        if self.on_stage:
            size = "" if cell.size is None else f" n={cell.size}"
            label = self.labels[cell.backend].get(cell.mode, cell.backend)
            self.on_stage(f"{label} {cell.target}{size} {cell.quantity}")

    def result(self, cell: Any, value: Any) -> None:
        self.add(cell, TimeRecord(**value))

    def failure(self, cell: Any, status: str, message: str) -> None:
        plan = self.plan
        base = record_fields(cell, self.labels[cell.backend], plan.threads)
        self.add(cell, TimeRecord(**base, status=status, message=message))

    def surely_fails(self, failed: Any, other: Any) -> bool:
        """The same backend, mode, target and quantity at the same or a larger size."""
        same = (failed.backend, failed.mode, failed.target, failed.quantity) == (
            other.backend,
            other.mode,
            other.target,
            other.quantity,
        )
        return same and (other.size or 0) >= (failed.size or 0)

    def group(self, cell: Any) -> Hashable:
        return (cell.target, cell.quantity)

    def skip_note(self, failed: Any, status: str) -> str:
        what = "timed out" if status == "timeout" else "failed"
        where = "" if failed.size is None else f" at n={failed.size}"
        return f"not run: {failed.quantity} of {failed.target} {what}{where}"


def run_time(
    plan: TimePlan, on_record: Hook | None = None, on_stage: StageHook | None = None
) -> TimeReport:
    """Time every cell of ``plan``, one framework at a time, each in its own process.

    ``on_record`` sees each record as it arrives, ``on_stage`` a short description of what is
    happening (for a progress bar).  Ctrl-C returns the report so far, ``interrupted`` set.
    """
    start = time.perf_counter()
    cells = plan.cells()
    # One lane per backend and framework: manual:torch runs in a worker with torch's
    # environment, apart from NumPy manual's.
    by_lane: dict[tuple[str, type[Backend]], list[TimeCell]] = {}
    for c in cells:
        by_lane.setdefault((c.backend, all_backends()[c.backend].runtime(c.mode)), []).append(c)
    labels = {
        name: {s.mode: s.label for s in plan.backends if s.name == name} for name, _ in by_lane
    }
    modules = registering_modules(plan.targets)
    lanes = []
    for (name, runtime), todo in by_lane.items():
        cls = all_backends()[name]

        def make_job(subset: list[Any], name: str = name, cls: type[Backend] = cls) -> TimeJob:
            return TimeJob(
                backend=name,
                backend_class=cls if shippable(cls) else None,
                cells=list(subset),
                labels=labels[name],
                dtype=plan.dtype,
                device=plan.device,
                threads=plan.threads,
                seed=plan.seed,
                harness=plan.harness,
                targets_files=plan.targets_files,
                backends_files=plan.backends_files,
                target_modules=modules,
            )

        env = runtime.worker_environment(plan.threads, plan.device)
        lane = name if runtime is cls else f"{name}:{runtime.framework}"
        lanes.append(Lane(lane, todo, make_job, env))
    collector = _Collector(plan, labels, on_record, on_stage)
    if on_stage and lanes:
        on_stage(f"starting {lanes[0].name}")
    # One worker at a time, never fanned out: no two measurements share the CPU.
    outcome = supervise(lanes, collector, cell_timeout_s=plan.timeout_s, parallel=1, fanout=0)
    report = TimeReport(plan, [collector.got[c] for c in cells if c in collector.got])
    report.workers = outcome.info
    report.environment = run_environment(plan.device, FRAMEWORK_DEFAULT, outcome.info.values())
    report.interrupted = outcome.interrupted
    add_ratios(report.records)
    report.growth = fit_growth(report.records)
    report.seconds = time.perf_counter() - start
    return report


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


def time_cell(
    backend: Backend, target: Target, cell: TimeCell, job: Any, base: dict[str, Any]
) -> TimeRecord:
    """Prepare one cell (inputs converted before any clock) and measure it."""
    try:  # a user's sampler may raise: that is this cell's error, not the worker's death
        point = sample_point(target, cell.size, job.seed)
    except Exception as exc:
        message = f"the sampler raised {type(exc).__name__}: {exc}"
        return TimeRecord(**base, status="error", message=message)
    try:
        v = quantity_direction(target, cell.quantity, point, job.seed, 0)
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


__all__ = ["TimeJob", "run_time", "sample_point", "time_cell"]
