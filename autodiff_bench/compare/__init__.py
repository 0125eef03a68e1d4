"""The ``compare`` engine, the CI regression gate: reading result files as typed records
(``load``), the statistics (``stats``) and the verdict per cell (``gate``).  It computes;
it never prints (``autodiff_bench.render.compare`` does)."""

from autodiff_bench.compare.gate import (
    COMMANDS,
    DEFAULT_ALPHA,
    DEFAULT_MAX_SLOWDOWN,
    KINDS,
    METRICS,
    CellChange,
    Comparison,
    Difference,
    compare_cell,
    compare_documents,
    compare_files,
    compare_runs,
    differences,
    validate_options,
)
from autodiff_bench.compare.load import index_records, index_runs, load_runs, pair_cells
from autodiff_bench.compare.stats import (
    PooledMetric,
    RankTest,
    SlowdownVerdict,
    mann_whitney,
    measurement,
    rank_test_can_decide,
    run_measurement,
    slowdown_test,
)

__all__ = [
    "COMMANDS",
    "DEFAULT_ALPHA",
    "DEFAULT_MAX_SLOWDOWN",
    "KINDS",
    "METRICS",
    "CellChange",
    "Comparison",
    "Difference",
    "PooledMetric",
    "RankTest",
    "SlowdownVerdict",
    "compare_cell",
    "compare_documents",
    "compare_files",
    "compare_runs",
    "differences",
    "index_records",
    "index_runs",
    "load_runs",
    "mann_whitney",
    "measurement",
    "pair_cells",
    "rank_test_can_decide",
    "run_measurement",
    "slowdown_test",
    "validate_options",
]
