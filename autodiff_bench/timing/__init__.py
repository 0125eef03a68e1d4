"""The ``time`` engine: the harness that measures one call (``harness``), the plan
(``plan``), running it in supervised workers (``run``) and what it measured (``report``)."""

from autodiff_bench.timing.harness import HarnessSettings, Measurement, measure
from autodiff_bench.timing.plan import (
    DEFAULT_HARNESS,
    DEFAULT_SIZES,
    DEFAULT_THREADS,
    DEFAULT_TIMEOUT_S,
    REFERENCE,
    TimeCell,
    TimePlan,
    default_backends,
    parse_sizes,
    resolve_time_plan,
)
from autodiff_bench.timing.report import GrowthFit, Highlight, TimeReport, add_ratios, fit_growth
from autodiff_bench.timing.run import TimeJob, run_time, sample_point, time_cell

__all__ = [
    "DEFAULT_HARNESS",
    "DEFAULT_SIZES",
    "DEFAULT_THREADS",
    "DEFAULT_TIMEOUT_S",
    "REFERENCE",
    "GrowthFit",
    "HarnessSettings",
    "Highlight",
    "Measurement",
    "TimeCell",
    "TimeJob",
    "TimePlan",
    "TimeReport",
    "add_ratios",
    "default_backends",
    "fit_growth",
    "measure",
    "parse_sizes",
    "resolve_time_plan",
    "run_time",
    "sample_point",
    "time_cell",
]
