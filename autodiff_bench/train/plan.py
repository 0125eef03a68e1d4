"""What ``train`` will do: the workload, the backends, the optimizers and the schedule,
resolved and validated before any worker starts."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autodiff_bench.backends import BackendSpec, all_backends, parse_backends
from autodiff_bench.correctness import DTYPES
from autodiff_bench.errors import UsageError, unknown_name
from autodiff_bench.selection import DEVICES, split_names
from autodiff_bench.train.optim import OPTIMIZERS, Optimizer, make_optimizer
from autodiff_bench.train.workloads import Dataset, Workload, get_workload, load_workloads_file

if TYPE_CHECKING:
    import numpy as np
else:
    from autodiff_bench.lazy import numpy as np

#: The closed form every trajectory is compared with (when the workload has one).
REFERENCE = "manual"
#: Backends a bare ``adbench train`` runs: the closed form and every autodiff framework.
DEFAULT_BACKENDS = ("manual", "torch", "tensorflow", "jax", "autograd", "minigrad")
#: Seconds one backend's whole training run may take before it is a timeout: long enough
#: for ``finite`` on ``parabola_mlp`` (3·1153 losses a step, 6–9 minutes on 2 cores).
DEFAULT_TIMEOUT_S = 1800.0
DEFAULT_THREADS = 1


@dataclass(frozen=True)
class TrainCell:
    """One training run: a workload trained by one backend (in one mode) with one optimizer."""

    workload: str
    backend: str
    mode: str
    optimizer: Optimizer
    dtype: str = "float64"
    device: str = "cpu"


@dataclass(frozen=True)
class TrainPlan:
    """A resolved, validated ``train`` selection."""

    workload: Workload
    backends: list[BackendSpec]
    optimizers: list[Optimizer]
    #: Updates in all (every epoch's steps, or ``--steps``).
    steps: int
    #: Samples per step (None: the whole training set).
    batch_size: int | None
    seed: int
    dtype: str = "float64"
    device: str = "cpu"
    threads: int = DEFAULT_THREADS
    timeout_s: float = DEFAULT_TIMEOUT_S
    workload_files: tuple[str, ...] = ()
    #: Whether the lesson's own settings are used (its canonical numbers then apply).
    canonical_settings: bool = True

    def cells(self) -> list[TrainCell]:
        """Every run, optimizer by optimizer, backends in the order given."""
        return [
            TrainCell(self.workload.name, b.name, b.mode, o, self.dtype, self.device)
            for o in self.optimizers
            for b in self.backends
        ]

    def dataset(self) -> Dataset:
        """The workload's data for this seed (the same in every worker)."""
        return self.workload.data(np.random.default_rng([self.seed, 1]))

    def initial_parameters(self, dataset: Dataset) -> np.ndarray:
        """The parameters every backend starts from (float64; cast per run)."""
        theta = self.workload.init(np.random.default_rng([self.seed, 2]), dataset)
        return np.asarray(theta, dtype=np.float64).reshape(-1)

    def batches(self, n: int) -> tuple[list[np.ndarray | None], tuple[int, ...]]:
        """The sample indices of every step (None: the whole training set) and the step at
        the end of each epoch.  Seeded, so every backend sees the same batches."""
        size = self.batch_size
        if size is None or size >= n:
            return [None] * self.steps, tuple(range(1, self.steps + 1))
        rng = np.random.default_rng([self.seed, 3])
        out: list[np.ndarray | None] = []
        ends: list[int] = []
        while len(out) < self.steps:
            order = rng.permutation(n) if self.workload.shuffle else np.arange(n)
            for start in range(0, n, size):
                if len(out) == self.steps:
                    break
                out.append(order[start : start + size])
            ends.append(len(out))
        return out, tuple(ends)

    def as_dict(self) -> dict[str, Any]:
        """The resolved selection, for the JSON ``config`` field."""
        return {
            "workload": self.workload.name,
            "backends": [b.label for b in self.backends],
            "optimizers": [
                {"optimizer": o.kind, "lr": o.lr, "momentum": o.momentum} for o in self.optimizers
            ],
            "steps": self.steps,
            "batch_size": self.batch_size,
            "seed": self.seed,
            "dtype": self.dtype,
            "device": self.device,
            "threads": self.threads,
            "timeout_s": self.timeout_s,
        }


def training_spec(spec: BackendSpec) -> BackendSpec:
    """The mode a backend in its default mode trains in: its class's ``training_mode``
    (``finite`` trains with one central difference per coordinate, ``finite:central``)."""
    cls = all_backends()[spec.name]
    if cls.training_mode is None or spec.mode != cls.modes[0]:
        return spec
    return BackendSpec(spec.name, cls.training_mode)


def manual_mode_for(framework: str) -> str:
    """The mode of ``manual`` that computes in ``framework`` (NumPy's when none does)."""
    manual = all_backends()[REFERENCE]
    return next((m for m in manual.modes if manual.framework_of(m) == framework), manual.modes[0])


def with_closed_forms(specs: list[BackendSpec]) -> list[BackendSpec]:
    """``specs`` with NumPy ``manual`` first and, before the first backend of each framework,
    the closed form in that framework: the step each backend's time is compared with."""
    classes = all_backends()
    numpy_manual = BackendSpec(REFERENCE, classes[REFERENCE].modes[0])
    out = [] if numpy_manual in specs else [numpy_manual]
    for s in specs:
        if s.name != REFERENCE:
            ref = BackendSpec(REFERENCE, manual_mode_for(classes[s.name].framework_of(s.mode)))
            if ref not in specs and ref not in out:
                out.append(ref)
        if s not in out:
            out.append(s)
    return out


def _positive_int(name: str, value: int | None, hint: str) -> int | None:
    if value is not None and value <= 0:
        raise UsageError(f"{name} must be 1 or more, not {value}", hint)
    return value


def parse_lr(text: str | float | None) -> float | None:
    """``--lr`` as a finite positive number (UsageError otherwise)."""
    if text is None:
        return None
    try:
        lr = float(text)
    except ValueError:
        raise UsageError(f"--lr must be a number, not '{text}'", "e.g. --lr 0.01") from None
    if not (math.isfinite(lr) and lr > 0):
        raise UsageError(f"--lr must be a positive number, not {text}", "e.g. --lr 0.01")
    return lr


def resolve_train_plan(
    workload: str,
    *,
    backends: list[str] | None = None,
    optimizers: list[str] | None = None,
    lr: str | float | None = None,
    steps: int | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    seed: int | None = None,
    dtype: str | None = None,
    device: str | None = None,
    timeout: float | None = None,
    workload_files: list[str] | None = None,
) -> TrainPlan:
    """Validate the command line against the workload's own settings."""
    for path in workload_files or []:
        load_workloads_file(path)
    w = get_workload(workload)
    plan_lr = parse_lr(lr)
    _positive_int("--steps", steps, "e.g. --steps 20")
    _positive_int("--epochs", epochs, "e.g. --epochs 10")
    if steps is not None and epochs is not None:
        raise UsageError("give --steps or --epochs, not both")
    _positive_int("--batch-size", batch_size, "e.g. --batch-size 32")
    names = split_names(optimizers)
    if names:
        for name in names:
            if name not in OPTIMIZERS:
                raise unknown_name("optimizer", name, OPTIMIZERS)
        lessons = {o.kind: o for o in w.optimizers}
        # --lr sets every rate; otherwise the lesson's own (its first for a new optimizer).
        chosen = [
            make_optimizer(n, plan_lr)
            if plan_lr is not None
            else lessons.get(n) or make_optimizer(n, w.optimizers[0].lr)
            for n in dict.fromkeys(names)
        ]
    elif plan_lr is not None:
        chosen = [make_optimizer(o.kind, plan_lr) for o in w.optimizers]
    else:
        chosen = list(w.optimizers)
    plan_seed = w.seed if seed is None else seed
    if plan_seed < 0:
        raise UsageError(f"--seed must be 0 or more, not {plan_seed}", "try --seed 0")
    plan_dtype = dtype or "float64"
    if plan_dtype not in DTYPES:
        raise unknown_name("dtype", plan_dtype, DTYPES)
    plan_device = device or "cpu"
    if plan_device not in DEVICES:
        raise unknown_name("device", plan_device, DEVICES)
    probe = TrainPlan(w, [], chosen, 1, None, plan_seed)
    n = probe.dataset().size
    plan_batch = batch_size if batch_size is not None else w.batch_size
    if plan_batch is not None and plan_batch > n:
        raise UsageError(
            f"--batch-size {plan_batch} is larger than the data ({n} samples)",
            f"use at most {n}",
        )
    per_epoch = 1 if plan_batch is None else math.ceil(n / plan_batch)
    if steps is not None:
        plan_steps = steps
    elif epochs is not None:
        plan_steps = epochs * per_epoch
    else:
        plan_steps = w.steps if w.steps is not None else (w.epochs or 1) * per_epoch
    named = split_names(backends) or []
    # A backend named without a mode trains in its training mode (finite: finite:central).
    explicit = {n.partition(":")[0] for n in named if ":" in n}
    specs = [
        s if s.name in explicit else training_spec(s)
        for s in parse_backends(named or list(DEFAULT_BACKENDS))
    ]
    specs = list(dict.fromkeys(specs))
    if w.has_closed_form:
        specs = with_closed_forms(specs)
    elif not named:
        specs = [s for s in specs if s.name != REFERENCE]
    else:
        refused = [s.label for s in specs if s.name == REFERENCE]
        if refused:
            raise UsageError(
                f"workload '{w.name}' has no closed-form gradient, so '{refused[0]}' cannot "
                "train it",
                "leave manual out of --backends",
            )
    plan_timeout = DEFAULT_TIMEOUT_S if timeout is None else timeout
    if not (math.isfinite(plan_timeout) and plan_timeout > 0):
        raise UsageError(f"--timeout must be a positive number, not {timeout}", "try --timeout 600")
    default = (
        not names
        and plan_lr is None
        and steps is None
        and epochs is None
        and batch_size is None
        and seed is None
        and plan_dtype == "float64"
    )
    return TrainPlan(
        workload=w,
        backends=specs,
        optimizers=chosen,
        steps=plan_steps,
        batch_size=plan_batch,
        seed=plan_seed,
        dtype=plan_dtype,
        device=plan_device,
        timeout_s=float(plan_timeout),
        workload_files=tuple(str(Path(p).resolve()) for p in workload_files or ()),
        canonical_settings=default,
    )


__all__ = [
    "DEFAULT_BACKENDS",
    "DEFAULT_TIMEOUT_S",
    "REFERENCE",
    "TrainCell",
    "TrainPlan",
    "manual_mode_for",
    "parse_lr",
    "resolve_train_plan",
    "with_closed_forms",
]
