"""Running ``train``: each backend's training run in a supervised worker process, one
framework at a time.  It computes raw trajectories; :mod:`autodiff_bench.train.report` turns
them into records.  Nothing here prints.

A training step is one function — loss, gradient (the backend's, or the closed form for
``manual``), optimizer update — compiled the way the backend compiles (``jax.jit``,
``tf.function``, eager torch), so the whole step runs in the backend's framework and on its
device.  Batches are converted and moved before the clock; the first call (trace, compile)
is timed apart as the cold one and followed by a few untimed warm-up calls, then each step is
timed alone and synchronised.
"""

from __future__ import annotations

import gc
import math
import os
import time
import traceback
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autodiff_bench.backends import (
    Backend,
    BackendSpec,
    QuantityUnsupported,
    all_backends,
    load_backend,
    quiet_native_stderr,
)
from autodiff_bench.backends.namespace import numpy_namespace
from autodiff_bench.train.plan import REFERENCE, TrainCell, TrainPlan
from autodiff_bench.train.workloads import get_workload, load_workloads_file
from autodiff_bench.workers import Lane, supervise

if TYPE_CHECKING:
    import numpy as np
else:
    from autodiff_bench.lazy import numpy as np

#: Untimed calls of the step after the cold one, before the timed steps: at most
#: WARMUP_CALLS, and none started after WARMUP_S.  A framework's first calls after a trace
#: are slower (TensorFlow's first five to ten: 1–5 ms against 0.3–0.5 ms for linreg), and
#: a 20-step lesson has too few steps for its median to shrug that off — whichever run went
#: first in a worker looked 1.1–2.3× slower (``manual:tensorflow`` against ``tensorflow``).
WARMUP_CALLS = 10
WARMUP_S = 0.25

#: Parameters are kept at every step while parameters × steps stays below this (so the
#: step where trajectories part is exact); above it, at the end of every epoch.
EVERY_STEP_BUDGET = 200_000

Hook = Callable[[TrainCell, dict[str, Any]], None]
StageHook = Callable[[str], None]


def _plan_fields(plan: TrainPlan) -> dict[str, Any]:
    return {
        "steps": plan.steps,
        "batch_size": plan.batch_size,
        "seed": plan.seed,
        "dtype": plan.dtype,
        "device": plan.device,
        "threads": plan.threads,
    }


@dataclass
class TrainJob:
    """What a worker process trains (picklable: the workload travels by name)."""

    workload: str
    cells: list[TrainCell]
    plan_fields: dict[str, Any]
    workload_files: tuple[str, ...] = ()
    workload_module: str = ""
    _backends: dict[tuple[str, str], Backend] = field(default_factory=dict)
    _load_errors: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)

    def plan(self) -> TrainPlan:
        """The plan rebuilt in the worker from the workload registry."""
        return TrainPlan(get_workload(self.workload), [], [], **self.plan_fields)

    def load(self) -> dict[str, Any]:
        """Load the user's workload files and every backend the cells use."""
        for path in self.workload_files:
            load_workloads_file(path)
        if self.workload_module and not self.workload_module.startswith("adbench_user_"):
            __import__(self.workload_module)
        p = self.plan_fields
        for key in dict.fromkeys((c.backend, c.mode) for c in self.cells):
            loaded = load_backend(BackendSpec(*key), p["dtype"], p["device"], p["threads"])
            if isinstance(loaded, tuple):
                self._load_errors[key] = loaded
            else:
                self._backends[key] = loaded
        first = next(iter(self._backends.values()), None)
        info: dict[str, Any] = {"pid": os.getpid()}
        if first is not None:
            info["version"] = type(first).runtime(first.mode).version()
        return info

    def run(self, index: int) -> dict[str, Any]:
        """Train one cell; its raw trajectory as a dict."""
        cell = self.cells[index]
        key = (cell.backend, cell.mode)
        if key in self._load_errors:
            status, message = self._load_errors[key]
            return {"status": status, "message": message}
        return train_cell(self._backends[key], self.plan(), cell)


def _where(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    return f" at {Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""


def train_cell(backend: Backend, plan: TrainPlan, cell: TrainCell) -> dict[str, Any]:
    """Train ``plan.workload`` with ``backend`` and ``cell.optimizer``; never raises: a
    failure is the cell's ``error`` (or ``unsupported``)."""
    try:
        with quiet_native_stderr():
            return _train(backend, plan, cell)
    except QuantityUnsupported as exc:
        return {"status": "unsupported", "message": str(exc)}
    except Exception as exc:
        return {"status": "error", "message": f"{type(exc).__name__}: {exc}{_where(exc)}"}


def training_step(backend: Backend, plan: TrainPlan, cell: TrainCell) -> tuple[Any, Any]:
    """``(step, gradient)``: the compiled ``step(theta, state, batch) -> (theta, state,
    loss)`` of this backend, and its uncompiled gradient ``gradient(theta, batch)``."""
    w = plan.workload
    xp = backend.xp
    numpy_based = type(backend).framework_of(backend.mode) == "numpy"
    # NumPy-based engines (autograd, minigrad, finite) hand back their own arrays: the
    # optimizer then runs in NumPy, the framework they compute in.
    opt_xp = numpy_namespace(plan.dtype) if numpy_based else xp
    opt = cell.optimizer

    def loss(theta: Any, batch: Any) -> Any:
        return w.loss(xp, theta, batch)

    if backend.name == REFERENCE:
        closed = w.grad
        if closed is None:
            raise QuantityUnsupported(f"workload '{w.name}' has no closed-form gradient")

        def gradient(theta: Any, batch: Any) -> Any:
            return closed(xp, theta, batch)

    else:
        gradient = backend.grad(loss, create_graph=False)

    def step(theta: Any, state: Any, batch: Any) -> tuple[Any, Any, Any]:
        value = loss(theta, batch)
        g = gradient(theta, batch)
        if numpy_based:
            g, value = backend.to_numpy(g), backend.to_numpy(value)
        theta, state = opt.update(opt_xp, theta, g, state)
        return theta, state, value

    return backend.compile(step), gradient


def _warm_up(backend: Backend, step: Any, theta: Any, state: Any, batch: Any) -> float:
    """The cold call's seconds, then untimed calls up to :data:`WARMUP_CALLS` or
    :data:`WARMUP_S`.  Every call starts from the initial parameters and its result is
    dropped (a step is pure), so the trajectory is the one the timed steps take."""
    began = time.perf_counter_ns()
    backend.synchronize(step(theta, state, batch)[0])
    warm = time.perf_counter_ns()
    cold = (warm - began) * 1e-9
    for _ in range(WARMUP_CALLS):
        if (time.perf_counter_ns() - warm) * 1e-9 > WARMUP_S:
            break
        backend.synchronize(step(theta, state, batch)[0])
    return cold


def _train(backend: Backend, plan: TrainPlan, cell: TrainCell) -> dict[str, Any]:
    backend.ensure_loaded()
    data = plan.dataset()
    theta0 = plan.initial_parameters(data)
    order, epoch_ends = plan.batches(data.size)
    dtype = np.dtype(plan.dtype)

    def batch_of(idx: np.ndarray | None) -> dict[str, Any]:
        return {
            k: backend.asarray((v if idx is None else v[idx]).astype(dtype))
            for k, v in data.train.items()
        }

    # Every batch converted and on the device before any clock starts.
    full = batch_of(None) if any(i is None for i in order) else None
    batches = [full if i is None else batch_of(i) for i in order]
    step, gradient = training_step(backend, plan, cell)
    opt_xp = backend.xp if type(backend).framework_of(backend.mode) != "numpy" else None
    theta = backend.asarray(theta0.astype(dtype))
    state = cell.optimizer.init(opt_xp or numpy_namespace(plan.dtype), theta)
    first_grad = np.asarray(backend.to_numpy(gradient(theta, batches[0])), dtype=np.float64)
    times = [_warm_up(backend, step, theta, state, batches[0])]
    every_step = theta0.size * plan.steps <= EVERY_STEP_BUDGET
    keep = set(epoch_ends)
    checkpoints: dict[int, list[float]] = {0: theta0.tolist()}
    losses: list[float] = []
    status, message = "pass", ""
    enabled = gc.isenabled()
    gc.disable()
    try:
        for k, batch in enumerate(batches, start=1):
            start = time.perf_counter_ns()
            theta, state, value = step(theta, state, batch)
            backend.synchronize(theta)
            times.append((time.perf_counter_ns() - start) * 1e-9)
            loss = float(np.asarray(backend.to_numpy(value)).reshape(-1)[0])
            losses.append(loss)
            if not math.isfinite(loss):
                status, message = "diverged", f"the loss is {loss} at step {k}"
                break
            if every_step or k in keep:
                checkpoints[k] = np.asarray(backend.to_numpy(theta), dtype=np.float64).tolist()
    finally:
        if enabled:
            gc.enable()
    final = np.asarray(backend.to_numpy(theta), dtype=np.float64)
    if status == "pass" and not np.all(np.isfinite(final)):
        status, message = "diverged", f"the parameters are not finite after step {len(losses)}"
    return {
        "status": status,
        "message": message,
        "losses": losses,
        "times_s": times,  # the cold call, then every step
        "checkpoints": checkpoints,
        "final": final.tolist(),
        "first_grad": first_grad.reshape(-1).tolist(),
        "epoch_steps": [k for k in epoch_ends if k <= len(losses)],
    }


class _Collector:
    """The supervisor's handler: raw results in, failures as raw results too."""

    def __init__(self, on_result: Hook | None, on_stage: StageHook | None) -> None:
        self.got: dict[TrainCell, dict[str, Any]] = {}
        self.on_result = on_result
        self.on_stage = on_stage

    def started(self, cell: Any) -> None:
        if self.on_stage:
            self.on_stage(f"{cell.backend}:{cell.mode} {cell.optimizer.kind}")

    def result(self, cell: Any, value: Any) -> None:
        self.got[cell] = value
        if self.on_result:
            self.on_result(cell, value)

    def failure(self, cell: Any, status: str, message: str) -> None:
        self.result(cell, {"status": status, "message": message})

    def surely_fails(self, failed: Any, other: Any) -> bool:
        """Only the same run: another optimizer or backend may well work."""
        return bool(failed == other)

    def group(self, cell: Any) -> Hashable:
        return cell

    def skip_note(self, failed: Any, status: str) -> str:
        return "not run"


@dataclass
class TrainOutcome:
    """What the workers returned, before the report reads it."""

    results: dict[TrainCell, dict[str, Any]]
    info: dict[str, dict[str, Any]]
    interrupted: bool
    seconds: float


def run_train(
    plan: TrainPlan, on_result: Hook | None = None, on_stage: StageHook | None = None
) -> TrainOutcome:
    """Train every cell of ``plan``: one worker per framework, one at a time (no two
    timings share the CPU).  A crash, hang or divergence costs only that run."""
    start = time.perf_counter()
    classes = all_backends()
    by_lane: dict[type[Backend], list[TrainCell]] = {}
    for c in plan.cells():
        by_lane.setdefault(classes[c.backend].runtime(c.mode), []).append(c)
    lanes = []
    for runtime, todo in by_lane.items():

        def make_job(subset: list[Any]) -> TrainJob:
            return TrainJob(
                workload=plan.workload.name,
                cells=list(subset),
                plan_fields=_plan_fields(plan),
                workload_files=plan.workload_files,
                workload_module=plan.workload.module,
            )

        env = runtime.worker_environment(plan.threads, plan.device)
        lanes.append(Lane(runtime.name, todo, make_job, env))
    collector = _Collector(on_result, on_stage)
    outcome = supervise(lanes, collector, cell_timeout_s=plan.timeout_s, parallel=1, fanout=0)
    return TrainOutcome(
        collector.got, outcome.info, outcome.interrupted, time.perf_counter() - start
    )


__all__ = ["TrainJob", "TrainOutcome", "run_train", "train_cell", "training_step"]
