"""The ``train`` engine: the workloads (``workloads``, built-ins in ``lessons``), the one
optimizer implementation (``optim``), the plan (``plan``), running it in supervised workers
(``run``) and what it found (``report``)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autodiff_bench.train.optim import OPTIMIZERS, Optimizer, make_optimizer
    from autodiff_bench.train.plan import TrainCell, TrainPlan, resolve_train_plan
    from autodiff_bench.train.report import (
        TrainReport,
        build_report,
        build_settled_report,
        float64_plan,
        settle_in_float64,
    )
    from autodiff_bench.train.run import TrainOutcome, run_train, train_cell
    from autodiff_bench.train.workloads import (
        Canonical,
        Dataset,
        RunView,
        Workload,
        all_workloads,
        get_workload,
        load_workloads_file,
        register_workload,
    )

#: Where each public name lives: imported on first use, so that ``adbench list`` (which
#: needs only the workloads) does not load the engine.
_HOME = {
    "optim": ("OPTIMIZERS", "Optimizer", "make_optimizer"),
    "plan": ("TrainCell", "TrainPlan", "resolve_train_plan"),
    "report": (
        "TrainReport",
        "build_report",
        "build_settled_report",
        "float64_plan",
        "settle_in_float64",
    ),
    "run": ("TrainOutcome", "run_train", "train_cell"),
    "workloads": (
        "Canonical",
        "Dataset",
        "RunView",
        "Workload",
        "all_workloads",
        "get_workload",
        "load_workloads_file",
        "register_workload",
    ),
}


def __getattr__(name: str) -> Any:
    for module, names in _HOME.items():
        if name in names:
            return getattr(importlib.import_module(f"autodiff_bench.train.{module}"), name)
    raise AttributeError(f"module 'autodiff_bench.train' has no attribute '{name}'")


__all__ = [
    "OPTIMIZERS",
    "Canonical",
    "Dataset",
    "Optimizer",
    "RunView",
    "TrainCell",
    "TrainOutcome",
    "TrainPlan",
    "TrainReport",
    "Workload",
    "all_workloads",
    "build_report",
    "build_settled_report",
    "float64_plan",
    "get_workload",
    "load_workloads_file",
    "make_optimizer",
    "register_workload",
    "resolve_train_plan",
    "run_train",
    "settle_in_float64",
    "train_cell",
]
