"""The ``check`` engine: the plan (``plan``), running it in supervised workers (``run``)
and what it found (``report``).  It computes records; it never prints."""

from autodiff_bench.check.plan import (
    DEFAULT_TIMEOUT_S,
    CheckPlan,
    resolve_check_plan,
    resolve_tolerances,
)
from autodiff_bench.check.report import CheckReport, Suspect
from autodiff_bench.check.run import (
    HANG_FANOUT,
    CellResult,
    CheckCell,
    CheckJob,
    check_cell,
    plan_cells,
    run_check,
)

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "HANG_FANOUT",
    "CellResult",
    "CheckCell",
    "CheckJob",
    "CheckPlan",
    "CheckReport",
    "Suspect",
    "check_cell",
    "plan_cells",
    "resolve_check_plan",
    "resolve_tolerances",
    "run_check",
]
