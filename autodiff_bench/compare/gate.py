"""The ``compare`` engine: the CI regression gate between two result files.

Two files of one command (``check``, ``time`` or ``train``) are matched cell by cell on
(command, target, quantity, backend, mode, dtype, size, device), plus the point for
``check``; a ``train`` run's cell is its workload (target), optimizer (quantity) and backend.
Then:

* **correctness** — a cell that passed in BASE and does not pass in NEW is *broken*, always a
  regression (whatever NEW's status: fail, NaN, error, timeout, even unavailable); for
  ``train`` that is a trajectory that stops agreeing with the reference, or diverges;
* **timing** (``time``, and ``train``'s warm time per step, its cold call left out)
  — a cell is *slower* only when NEW/BASE of the chosen metric is at least ``max_slowdown``
  **and** a one-sided test on both cells' samples says NEW is slower than BASE ×
  ``max_slowdown`` beyond the noise (:func:`slowdown_test`).  A change past the factor that
  the noise can explain is *noisy*: listed, never failed.  Faster cells are judged the same
  way, mirrored.

Each side may be several runs (files) of one command: a cell's samples are pooled, its value
is the median of its runs' values, and a slowdown must also hold in every run — samples
within one run cannot show how much a whole run moves on a shared machine.

Cells present in only one side are listed, not failed.  Differences in environment
(versions, threads, CPU) and configuration are reported.  This module computes; it never
prints (``autodiff_bench.render.compare`` does).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autodiff_bench.compare.load import Run, index_runs, load_runs, pair_cells
from autodiff_bench.compare.stats import measurement, slowdown_test
from autodiff_bench.errors import UsageError, unknown_name
from autodiff_bench.model import FAILING, Cell, CellKey, Record, key_of, worst_status

#: What ``--metric`` may name: absolute seconds, or the machine-independent ratios.
METRICS = ("median_s", "ratio_to_primal", "ratio_to_manual")
#: The commands whose results can be compared.
COMMANDS = ("check", "time", "train")
#: The commands whose cells are timed too (``train``: the warm seconds per step).
TIMED_COMMANDS = ("time", "train")
#: Metrics a command's records lack (``train`` has no primal to divide by).
MISSING_METRICS = {"train": ("ratio_to_primal",)}
DEFAULT_MAX_SLOWDOWN = 1.25
#: One-sided significance level of the slowdown test.  With tens of timed cells per CI run,
#: 1 % keeps chance hits rare; the threshold is part of the test as well.
DEFAULT_ALPHA = 0.01
#: Kinds of change, in the order a reader wants them (regressions first).
KINDS = ("broken", "slower", "fixed", "faster", "noisy", "changed", "unchanged")
#: Environment keys that describe the machine and its settings: when they differ, seconds
#: are not comparable (a GPU's name, TF32 on or off).
MACHINE_KEYS = ("platform", "machine", "cpu", "cpu_count", "threads", "gpu", "precision")


def _finite(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


@dataclass(kw_only=True)
class CellChange(Cell):
    """One cell present in both files: its statuses, and for timing its metric values, the
    factor NEW/BASE, the noise and the significance test's outcome."""

    point: str | None = None
    kind: str = "unchanged"  # one of KINDS
    regression: bool = False
    base_status: str = ""
    new_status: str = ""
    metric: str | None = None
    base_value: float | None = None
    new_value: float | None = None
    #: NEW / BASE of the metric (> 1 is slower).
    factor: float | None = None
    #: Relative spread of the two measurements: their IQR/median combined in quadrature.
    noise: float | None = None
    #: One-sided p-value of the rank test in the direction of the change (None: not run).
    p_value: float | None = None
    #: ``mann-whitney exact``, ``mann-whitney normal`` or ``iqr bands``.
    test: str | None = None
    #: With several runs: whether the change held in every run (None: not tested).
    every_run: bool | None = None
    #: Samples pooled over the runs of each side, and how many runs each side had.
    base_samples: int = 0
    new_samples: int = 0
    base_runs: int = 1
    new_runs: int = 1
    #: max relative (else absolute) error of check cells, or the largest deviation of a
    #: train run's trajectory, BASE and NEW.
    base_error: float | None = None
    new_error: float | None = None
    message: str = ""
    command: str = "check"

    #: The column heading of the backend (``jax:nojit``).
    label: str = ""

    @property
    def key(self) -> CellKey:
        """The cell's identity."""
        return key_of(self, point=self.point, label=self.label)


@dataclass(frozen=True)
class Difference:
    """One environment or configuration entry that differs between the two files."""

    key: str
    base: Any
    new: Any


@dataclass
class Comparison:
    """Everything ``compare`` found."""

    command: str
    metric: str | None  # None for check files
    max_slowdown: float
    alpha: float
    base: str
    new: str
    cells: list[CellChange]
    #: How many runs (files) each side pooled.
    base_runs: int = 1
    new_runs: int = 1
    only_in_base: list[CellKey] = field(default_factory=list)
    only_in_new: list[CellKey] = field(default_factory=list)
    environment: list[Difference] = field(default_factory=list)
    config: list[Difference] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Passing cells compared by status only, because a side lacks the metric.
    without_metric: int = 0

    def changed(self) -> list[CellChange]:
        """Every cell whose kind is not ``unchanged``, regressions first."""
        out = [c for c in self.cells if c.kind != "unchanged"]
        return sorted(out, key=lambda c: (KINDS.index(c.kind), c.key.sort_key()))

    def regressions(self) -> list[CellChange]:
        """The cells that fail the gate."""
        return [c for c in self.changed() if c.regression]

    def counts(self) -> dict[str, int]:
        """How many common cells are of each kind (kinds with none left out)."""
        out = {k: 0 for k in KINDS}
        for c in self.cells:
            out[c.kind] += 1
        return {k: n for k, n in out.items() if n}

    def machine_differs(self) -> bool:
        """Whether BASE and NEW ran on different hardware or thread settings."""
        return any(d.key.split(".")[0] in MACHINE_KEYS for d in self.environment)

    @property
    def exit_code(self) -> int:
        """0 when nothing regressed, 1 otherwise."""
        return 1 if self.regressions() else 0


def _error(record: Record) -> float | None:
    if record.command == "train":
        return _finite(getattr(record, "max_deviation", None))
    rel = _finite(getattr(record, "max_rel_error", None))
    return rel if rel is not None else _finite(getattr(record, "max_abs_error", None))


def _worst(records: list[Record]) -> Record:
    """The record with the worst status (over the runs of one side)."""
    status = worst_status([r.status for r in records])
    return next(r for r in records if r.status == status)


def compare_cell(
    key: CellKey,
    base: list[Record],
    new: list[Record],
    metric: str | None,
    max_slowdown: float,
    alpha: float,
    command: str = "check",
) -> CellChange:
    """The verdict on one common cell, given its records in each run of BASE and NEW.  A
    side's status is its worst over its runs."""
    b_worst, n_worst = _worst(base), _worst(new)
    b_status, n_status = b_worst.status, n_worst.status
    change = CellChange(
        **key.cell_fields(),
        point=key.point,
        label=key.label,
        command=command,
        kind="unchanged",
        regression=False,
        base_status=b_status,
        new_status=n_status,
        metric=metric,
        base_runs=len(base),
        new_runs=len(new),
        base_error=_error(b_worst) if command in ("check", "train") else None,
        new_error=_error(n_worst) if command in ("check", "train") else None,
    )
    if b_status == "pass" and n_status != "pass":
        change.kind, change.regression = "broken", True
        change.message = n_worst.message or ""
        return change
    if n_status == "pass" and b_status in FAILING:
        change.kind = "fixed"
        return change
    if b_status != n_status:
        change.kind = "changed"
        change.message = n_worst.message or ""
        return change
    if command not in TIMED_COMMANDS or n_status != "pass" or metric is None:
        return change
    before = measurement(base, metric)  # type: ignore[arg-type]
    after = measurement(new, metric)  # type: ignore[arg-type]
    if before is None or after is None:
        change.message = f"no {metric} to compare"
        return change
    change.base_value, change.new_value = before.value, after.value
    change.base_samples, change.new_samples = len(before.samples), len(after.samples)
    change.factor = after.value / before.value
    spreads = [m.iqr / m.value for m in (before, after) if m.iqr is not None]
    change.noise = math.hypot(*spreads) if spreads else None
    slower = change.factor >= max_slowdown
    if not slower and change.factor > 1.0 / max_slowdown:
        return change
    verdict = slowdown_test(before, after, max_slowdown, slower, alpha)
    change.p_value, change.test = verdict.p_value, verdict.test
    if before.runs and after.runs and len(before.runs) + len(after.runs) > 2:
        change.every_run = verdict.every_run
    if verdict.significant:
        change.kind = "slower" if slower else "faster"
        change.regression = slower
    elif not verdict.every_run:
        change.kind = "noisy"
        change.message = "past the factor, but not in every run: a BASE run was as far off"
    else:
        change.kind = "noisy"
        change.message = "past the factor, but within the noise of the two measurements"
    return change


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: value}


def differences(base: Any, new: Any) -> list[Difference]:
    """Entries of two nested dicts that differ (keys joined by dots), BASE's order first."""
    a, b = _flatten(base or {}), _flatten(new or {})
    keys = [*a, *(k for k in b if k not in a)]
    return [Difference(k, a.get(k), b.get(k)) for k in keys if a.get(k) != b.get(k)]


def validate_options(metric: str, max_slowdown: float, alpha: float) -> None:
    """Refuse an unknown metric, a threshold that is not > 1, an alpha outside (0, 1)."""
    if metric not in METRICS:
        raise unknown_name("metric", metric, METRICS)
    if not math.isfinite(max_slowdown) or max_slowdown <= 1.0:
        raise UsageError(
            f"--max-slowdown must be a factor above 1, not {max_slowdown:g}", "e.g. 1.25"
        )
    if not 0.0 < alpha < 1.0:
        raise UsageError(f"--alpha must be between 0 and 1, not {alpha:g}", "e.g. 0.01")


def _command_of(runs: list[Run], side: str) -> str:
    """The one command of a side's runs (UsageError when they mix commands)."""
    commands = list(dict.fromkeys(str(doc.get("command")) for _, doc in runs))
    if len(commands) > 1:
        raise UsageError(
            f"{side} mixes '{commands[0]}' and '{commands[1]}' results",
            "a folder of runs must hold runs of one command",
        )
    return commands[0]


def compare_runs(
    base: list[Run],
    new: list[Run],
    *,
    metric: str = "median_s",
    max_slowdown: float = DEFAULT_MAX_SLOWDOWN,
    alpha: float = DEFAULT_ALPHA,
    base_name: str = "BASE",
    new_name: str = "NEW",
) -> Comparison:
    """Compare BASE with NEW, each one run or several runs of one command whose cells are
    pooled (see the module docstring for the rules)."""
    validate_options(metric, max_slowdown, alpha)
    if not base or not new:
        raise ValueError("each side needs at least one run")
    command = _command_of(base, f"'{base_name}'")
    if command != _command_of(new, f"'{new_name}'"):
        raise UsageError(
            f"'{base_name}' holds '{command}' results but '{new_name}' holds "
            f"'{new[0][1].get('command')}' results",
            "compare two files of the same command",
        )
    if command not in COMMANDS:
        raise UsageError(
            f"'{base_name}' holds '{command}' results; compare reads "
            f"{', '.join(COMMANDS[:-1])} and {COMMANDS[-1]} results",
            "pass files written by adbench check, time or train --format json",
        )
    if metric in MISSING_METRICS.get(command, ()):
        raise UsageError(
            f"{command} results have no {metric}",
            "use --metric median_s (seconds per step) or ratio_to_manual",
        )
    pairs, only_base, only_new = pair_cells(index_runs(base), index_runs(new))
    if not pairs:
        raise UsageError(
            f"'{base_name}' and '{new_name}' have no cell in common",
            "were they run with the same targets, backends, dtype and sizes?",
        )
    used_metric = metric if command in TIMED_COMMANDS else None
    cells = [compare_cell(k, b, n, used_metric, max_slowdown, alpha, command) for k, b, n in pairs]
    cells.sort(key=lambda c: c.key.sort_key())
    base_doc, new_doc = base[0][1], new[0][1]
    result = Comparison(
        command=command,
        metric=used_metric,
        max_slowdown=max_slowdown,
        alpha=alpha,
        base=base_name,
        new=new_name,
        cells=cells,
        base_runs=len(base),
        new_runs=len(new),
        only_in_base=sorted(only_base, key=CellKey.sort_key),
        only_in_new=sorted(only_new, key=CellKey.sort_key),
        # Each side is described by its first run (the runs of a side share a machine).
        environment=differences(base_doc.get("environment"), new_doc.get("environment")),
        config=differences(base_doc.get("config"), new_doc.get("config")),
        without_metric=sum(
            1
            for c in cells
            if c.command in TIMED_COMMANDS
            and c.kind == "unchanged"
            and c.new_status == "pass"
            and c.factor is None
        ),
    )
    result.warnings = _warnings(result, base, new)
    return result


def compare_documents(
    base: dict[str, Any],
    new: dict[str, Any],
    *,
    metric: str = "median_s",
    max_slowdown: float = DEFAULT_MAX_SLOWDOWN,
    alpha: float = DEFAULT_ALPHA,
    base_name: str = "BASE",
    new_name: str = "NEW",
) -> Comparison:
    """Compare two loaded result documents, one run each."""
    return compare_runs(
        [(base_name, base)],
        [(new_name, new)],
        metric=metric,
        max_slowdown=max_slowdown,
        alpha=alpha,
        base_name=base_name,
        new_name=new_name,
    )


def _warnings(result: Comparison, base: list[Run], new: list[Run]) -> list[str]:
    out = []
    for name, doc in (*base, *new):
        if doc.get("interrupted"):
            out.append(f"'{name}' is a partial run (it was interrupted); cells may be missing")
    if result.metric == "median_s" and result.machine_differs():
        keys = sorted({d.key.split(".")[0] for d in result.environment} & set(MACHINE_KEYS))
        out.append(
            f"BASE and NEW ran on different machines or settings ({', '.join(keys)}); "
            "absolute seconds are not comparable — try --metric ratio_to_primal"
        )
    return out


def compare_files(
    base: str | Path,
    new: str | Path,
    *,
    metric: str = "median_s",
    max_slowdown: float = DEFAULT_MAX_SLOWDOWN,
    alpha: float = DEFAULT_ALPHA,
) -> Comparison:
    """Read BASE and NEW (each a result file or a folder of runs) and compare them
    (UsageError on bad input)."""
    validate_options(metric, max_slowdown, alpha)
    return compare_runs(
        load_runs(base),
        load_runs(new),
        metric=metric,
        max_slowdown=max_slowdown,
        alpha=alpha,
        base_name=str(base),
        new_name=str(new),
    )


__all__ = [
    "COMMANDS",
    "DEFAULT_ALPHA",
    "DEFAULT_MAX_SLOWDOWN",
    "KINDS",
    "METRICS",
    "MISSING_METRICS",
    "TIMED_COMMANDS",
    "CellChange",
    "Comparison",
    "Difference",
    "compare_cell",
    "compare_documents",
    "compare_files",
    "compare_runs",
    "differences",
    "validate_options",
]
