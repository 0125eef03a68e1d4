"""The ``compare`` engine: the CI regression gate between two result files.

Two files of one command (``check`` or ``time``) are matched cell by cell on (command,
target, quantity, backend, mode, dtype, size, device), plus the point for ``check``.  Then:

* **correctness** — a cell that passed in BASE and does not pass in NEW is *broken*, always a
  regression (whatever NEW's status: fail, NaN, error, timeout, even unavailable);
* **timing** — a cell is *slower* only when NEW/BASE of the chosen metric is at least
  ``max_slowdown`` **and** a one-sided test on both cells' samples says NEW is slower than
  BASE × ``max_slowdown`` beyond the noise (:func:`slowdown_test`).  A change past the factor
  that the noise can explain is *noisy*: listed, never failed.  Faster cells are judged the
  same way, mirrored.

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
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from autodiff_bench.errors import UsageError, unknown_name
from autodiff_bench.model import FAILING, STATUSES, load_document, worst_status

#: What ``--metric`` may name: absolute seconds, or the machine-independent ratios.
METRICS = ("median_s", "ratio_to_primal", "ratio_to_manual")
#: The commands whose results can be compared.
COMMANDS = ("check", "time")
DEFAULT_MAX_SLOWDOWN = 1.25
#: One-sided significance level of the slowdown test.  With tens of timed cells per CI run,
#: 1 % keeps chance hits rare; the threshold is part of the test as well.
DEFAULT_ALPHA = 0.01
#: Kinds of change, in the order a reader wants them (regressions first).
KINDS = ("broken", "slower", "fixed", "faster", "noisy", "changed", "unchanged")
#: The exact U distribution is used up to this many sample pairs (without ties); beyond it
#: the normal approximation is accurate to well under 1 % of the p-value that matters.
EXACT_PAIRS = 1600
#: Environment keys that describe the machine: when they differ, seconds are not comparable.
MACHINE_KEYS = ("platform", "machine", "cpu", "cpu_count", "threads")


@dataclass(frozen=True)
class CellKey:
    """What identifies one measured cell across two files."""

    command: str
    target: str
    quantity: str
    backend: str
    mode: str
    dtype: str
    size: int | None
    device: str
    point: str | None = None  # check records only

    @property
    def label(self) -> str:
        """``least_squares grad [jax:nojit] float64 n=10 at random#1``."""
        parts = [self.target, self.quantity, f"[{backend_label(self.backend, self.mode)}]"]
        parts.append(self.dtype)
        if self.device != "cpu":
            parts.append(self.device)
        if self.size is not None:
            parts.append(f"n={self.size}")
        if self.point is not None:
            parts.append(f"at {self.point}")
        return " ".join(parts)

    def sort_key(self) -> tuple[Any, ...]:
        """A total order (None sorts first)."""
        return (
            self.target,
            self.quantity,
            self.backend,
            self.mode,
            self.dtype,
            self.device,
            -1 if self.size is None else self.size,
            self.point or "",
        )


def backend_label(backend: str, mode: str) -> str:
    """``jax`` for a backend's default mode, ``jax:nojit`` otherwise (as ``check`` shows)."""
    from autodiff_bench.backends import all_backends

    cls = all_backends().get(backend)
    default = cls.modes[0] if cls is not None and cls.modes else "default"
    return backend if mode in (default, "default", "") else f"{backend}:{mode}"


@dataclass
class CellChange:
    """One cell present in both files: its statuses, and for timing its metric values, the
    factor NEW/BASE, the noise and the significance test's outcome."""

    target: str
    quantity: str
    backend: str
    mode: str
    dtype: str
    size: int | None
    device: str
    point: str | None
    kind: str  # one of KINDS
    regression: bool
    base_status: str
    new_status: str
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
    #: max relative (else absolute) error of check cells, BASE and NEW.
    base_error: float | None = None
    new_error: float | None = None
    message: str = ""
    command: str = "check"

    @property
    def key(self) -> CellKey:
        """The cell's identity."""
        return CellKey(
            self.command,
            self.target,
            self.quantity,
            self.backend,
            self.mode,
            self.dtype,
            self.size,
            self.device,
            self.point,
        )


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


# ---- the significance test ---------------------------------------------------------------


@dataclass(frozen=True)
class RankTest:
    """A one-sided Mann-Whitney U test of NEW against BASE."""

    u: float  # pairs (b, n) with n > b, ties counting one half
    p_slower: float  # P(U ≥ u) when nothing changed: small means NEW is slower
    p_faster: float  # P(U ≤ u): small means NEW is faster
    exact: bool


def average_ranks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """1-based ranks with ties given their average rank, and the size of each tie group."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts_group = np.r_[True, ordered[1:] != ordered[:-1]]
    starts = np.flatnonzero(starts_group)
    ends = np.r_[starts[1:], len(values)]
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = ((starts + 1 + ends) / 2.0)[np.cumsum(starts_group) - 1]
    return ranks, ends - starts


@lru_cache(maxsize=64)
def u_distribution(m: int, n: int) -> np.ndarray:
    """P(U = u), u = 0..m·n, for samples of m and n values without ties.

    Recursion on the largest of the m + n values: it belongs to the second sample with
    probability n/(m+n), and then beats all m values of the first (U grows by m)."""
    # prev[j] is the distribution for (i - 1, j); built row by row to bound the memory.
    prev = [np.ones(1) for _ in range(n + 1)]  # i = 0: U is always 0
    for i in range(1, m + 1):
        row = [np.ones(1)]  # j = 0: U is always 0
        for j in range(1, n + 1):
            dist = np.zeros(i * j + 1)
            dist[i:] += j / (i + j) * row[j - 1]
            dist[: len(prev[j])] += i / (i + j) * prev[j]
            row.append(dist)
        prev = row
    return prev[n]


def mann_whitney(base: np.ndarray, new: np.ndarray) -> RankTest:
    """One-sided Mann-Whitney U tests that NEW's values tend to be larger (or smaller) than
    BASE's.  Exact without ties and for up to :data:`EXACT_PAIRS` pairs; otherwise the
    normal approximation with the tie correction and a continuity correction."""
    m, n = len(base), len(new)
    if m == 0 or n == 0:
        raise ValueError("both samples need at least one value")
    ranks, ties = average_ranks(np.concatenate([base, new]).astype(np.float64))
    u = float(ranks[m:].sum() - n * (n + 1) / 2.0)
    if np.all(ties == 1) and m * n <= EXACT_PAIRS:
        dist = u_distribution(m, n)
        k = round(u)
        p_slower, p_faster = float(dist[k:].sum()), float(dist[: k + 1].sum())
        return RankTest(u, min(1.0, p_slower), min(1.0, p_faster), True)
    total = m + n
    tie_term = float((ties**3 - ties).sum()) / (total * (total - 1))
    variance = m * n / 12.0 * ((total + 1) - tie_term)
    if variance <= 0:  # every value equal: no evidence either way
        return RankTest(u, 1.0, 1.0, False)
    sd = math.sqrt(variance)
    mean = m * n / 2.0
    return RankTest(u, _normal_sf((u - mean - 0.5) / sd), _normal_sf((mean - u - 0.5) / sd), False)


def _normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return min(1.0, 0.5 * math.erfc(z / math.sqrt(2.0)))


def rank_test_can_decide(m: int, n: int, alpha: float) -> bool:
    """Whether m and n samples can give a one-sided p-value below ``alpha`` at all: the
    smallest possible one is 1/C(m+n, m) (every NEW value above every BASE value)."""
    return m > 0 and n > 0 and 1.0 / math.comb(m + n, m) < alpha


@dataclass(frozen=True)
class Measurement:
    """A cell's metric over one or several runs: its value (the median of the runs'
    values), every run's samples pooled in the metric's unit, their IQR, and each run's
    value."""

    value: float
    samples: np.ndarray
    iqr: float | None
    runs: tuple[float, ...] = ()


@dataclass(frozen=True)
class Verdict:
    """Whether a change is beyond the noise, and how that was decided."""

    significant: bool
    p_value: float | None
    test: str
    #: Whether the change held run by run (False: some BASE run was as far off).
    every_run: bool = True


def slowdown_test(
    base: Measurement, new: Measurement, factor: float, slower: bool, alpha: float
) -> Verdict:
    """Is NEW slower than BASE by more than ``factor`` (``slower=True``), or faster by more
    than ``factor``, beyond the noise of both?

    The threshold is built into the test: NEW's samples are tested against BASE's samples
    scaled by ``factor`` (× for slower, ÷ for faster), so a BASE whose samples are spread
    wide cannot make a change just past the factor look certain.  With enough samples for
    the rank test to reach ``alpha`` (5 and 5 suffice at 1 %): a one-sided Mann-Whitney U
    test.  With fewer (or none recorded): the bands median ± IQR must not overlap once
    BASE's is scaled; with no spread information at all the factor alone decides.

    Samples within one run cannot show how much a whole run moves (a busy moment can slow
    a cell evenly for all of its measurement), so when a side has several runs the change
    must also hold run by run: every NEW run beyond every BASE run by the factor."""
    scale = factor if slower else 1.0 / factor
    if base.runs and new.runs:
        if slower:
            every_run = min(new.runs) > scale * max(base.runs)
        else:
            every_run = max(new.runs) < scale * min(base.runs)
    else:
        every_run = True
    m, n = len(base.samples), len(new.samples)
    if rank_test_can_decide(m, n, alpha):
        result = mann_whitney(base.samples * scale, new.samples)
        p = result.p_slower if slower else result.p_faster
        name = "mann-whitney exact" if result.exact else "mann-whitney normal"
        return Verdict(p < alpha and every_run, p, name, every_run)
    b_iqr, n_iqr = base.iqr or 0.0, new.iqr or 0.0
    if slower:
        apart = new.value - n_iqr > scale * (base.value + b_iqr)
    else:
        apart = new.value + n_iqr < scale * (base.value - b_iqr)
    return Verdict(apart and every_run, None, "iqr bands", every_run)


# ---- reading the two files ---------------------------------------------------------------


def _finite(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def run_measurement(record: dict[str, Any], metric: str) -> Measurement | None:
    """One time record's metric with its samples, or None when it has no usable value.

    A ratio's samples are the cell's own samples scaled by ratio/median (the reference's
    median is one number per run); the reference's own noise is not added, which is fair
    because its median over many samples is far steadier than one sample."""
    value = _finite(record.get(metric))
    if value is None or value <= 0:
        return None
    if metric == "median_s":
        scale = 1.0
    else:
        median = _finite(record.get("median_s"))
        if not median:  # without the median the ratio came from, samples cannot be converted
            return Measurement(value, np.empty(0), None, (value,))
        scale = value / median
    raw = record.get("times_s") or []
    samples = scale * np.array([t for t in raw if _finite(t) is not None], dtype=np.float64)
    stored = _finite(record.get("iqr_s"))
    if len(samples) >= 2:
        iqr: float | None = float(np.percentile(samples, 75) - np.percentile(samples, 25))
    else:
        iqr = None if stored is None else stored * scale
    return Measurement(value, samples, iqr, (value,))


def measurement(records: list[dict[str, Any]], metric: str) -> Measurement | None:
    """A cell's metric over its runs (one record each): the median of the runs' values,
    their samples pooled, or None when no run has a usable value."""
    runs = [m for m in (run_measurement(r, metric) for r in records) if m is not None]
    if not runs:
        return None
    if len(runs) == 1:
        return runs[0]
    samples = np.concatenate([m.samples for m in runs])
    if len(samples) >= 2:
        iqr: float | None = float(np.percentile(samples, 75) - np.percentile(samples, 25))
    else:
        iqrs = [m.iqr for m in runs if m.iqr is not None]
        iqr = max(iqrs) if iqrs else None
    values = tuple(m.value for m in runs)
    return Measurement(float(np.median(values)), samples, iqr, values)


_REQUIRED = ("target", "quantity", "backend", "status")


def _key(command: str, record: dict[str, Any]) -> CellKey:
    size = record.get("size")
    return CellKey(
        command=command,
        target=str(record["target"]),
        quantity=str(record["quantity"]),
        backend=str(record["backend"]),
        mode=str(record.get("mode") or "default"),
        dtype=str(record.get("dtype") or "float64"),
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        device=str(record.get("device") or "cpu"),
        point=str(record.get("point", "")) if command == "check" else None,
    )


#: A run: the name of its file and its document.
Run = tuple[str, dict[str, Any]]
#: Each cell's records, one per run that has it.
Cells = dict[CellKey, list[dict[str, Any]]]


def index_records(doc: dict[str, Any], name: str) -> dict[CellKey, dict[str, Any]]:
    """A file's records by cell; a record without the fields of a cell, or two records of
    one cell, make the file unusable (UsageError)."""
    command = doc["command"]
    results = doc.get("results")
    if not isinstance(results, list):
        raise UsageError(f"'{name}' has no list of results", "pass a file written by adbench")
    out: dict[CellKey, dict[str, Any]] = {}
    for i, record in enumerate(results):
        if not isinstance(record, dict):
            raise UsageError(f"'{name}': result #{i + 1} is not an object")
        missing = [k for k in _REQUIRED if k not in record]
        if missing:
            raise UsageError(
                f"'{name}': result #{i + 1} is not a {command} record (no '{missing[0]}')",
                "pass a file written by adbench",
            )
        if record.get("status") not in STATUSES:
            raise UsageError(
                f"'{name}': result #{i + 1} has an unknown status {record.get('status')!r}",
                f"statuses are {', '.join(STATUSES)}",
            )
        key = _key(command, record)
        if key in out:
            raise UsageError(f"'{name}' has two results for the cell {key.label}")
        out[key] = record
    return out


def index_runs(runs: list[Run]) -> Cells:
    """Every cell of several runs of one command, with one record per run that has it."""
    out: Cells = {}
    for name, doc in runs:
        for key, record in index_records(doc, name).items():
            out.setdefault(key, []).append(record)
    return out


def _wildcard(key: CellKey) -> tuple[Any, ...]:
    # check writes one record with point '*' (and no size) for a backend that could not
    # load at all; it stands for every point of that (target, quantity, backend) cell.
    return (key.target, key.quantity, key.backend, key.mode, key.dtype, key.device)


#: One common cell: its key, its records in BASE's runs and in NEW's.
Pair = tuple[CellKey, list[dict[str, Any]], list[dict[str, Any]]]


def pair_cells(base: Cells, new: Cells) -> tuple[list[Pair], list[CellKey], list[CellKey]]:
    """(key, BASE records, NEW records) for every common cell, then the keys only in BASE
    and only in NEW.  A check record at point ``*`` pairs with every point of its cell."""
    pairs = [(k, base[k], new[k]) for k in base if k in new]
    only_base = [k for k in base if k not in new]
    only_new = [k for k in new if k not in base]
    for stars_in_new in (True, False):
        own, other = (only_new, only_base) if stars_in_new else (only_base, only_new)
        stars = {_wildcard(k): k for k in own if k.point == "*"}
        used: set[CellKey] = set()
        for k in [k for k in other if k.point != "*" and _wildcard(k) in stars]:
            star = stars[_wildcard(k)]
            used.add(star)
            other.remove(k)
            pairs.append((k, base[k], new[star]) if stars_in_new else (k, base[star], new[k]))
        own[:] = [k for k in own if k not in used]
    return pairs, only_base, only_new


# ---- the comparison ----------------------------------------------------------------------


def _error(record: dict[str, Any]) -> float | None:
    rel = _finite(record.get("max_rel_error"))
    return rel if rel is not None else _finite(record.get("max_abs_error"))


def _worst(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The record with the worst status (over the runs of one side)."""
    status = worst_status([str(r["status"]) for r in records])
    return next(r for r in records if r["status"] == status)


def compare_cell(
    key: CellKey,
    base: list[dict[str, Any]],
    new: list[dict[str, Any]],
    metric: str | None,
    max_slowdown: float,
    alpha: float,
) -> CellChange:
    """The verdict on one common cell, given its records in each run of BASE and NEW.  A
    side's status is its worst over its runs."""
    b_worst, n_worst = _worst(base), _worst(new)
    b_status, n_status = str(b_worst["status"]), str(n_worst["status"])
    change = CellChange(
        target=key.target,
        quantity=key.quantity,
        backend=key.backend,
        mode=key.mode,
        dtype=key.dtype,
        size=key.size,
        device=key.device,
        point=key.point,
        command=key.command,
        kind="unchanged",
        regression=False,
        base_status=b_status,
        new_status=n_status,
        metric=metric,
        base_runs=len(base),
        new_runs=len(new),
        base_error=_error(b_worst) if key.command == "check" else None,
        new_error=_error(n_worst) if key.command == "check" else None,
    )
    if b_status == "pass" and n_status != "pass":
        change.kind, change.regression = "broken", True
        change.message = str(n_worst.get("message") or "")
        return change
    if n_status == "pass" and b_status in FAILING:
        change.kind = "fixed"
        return change
    if b_status != n_status:
        change.kind = "changed"
        change.message = str(n_worst.get("message") or "")
        return change
    if key.command != "time" or n_status != "pass" or metric is None:
        return change
    before, after = measurement(base, metric), measurement(new, metric)
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
            f"{' and '.join(COMMANDS)} results",
            "pass files written by adbench check or adbench time --format json",
        )
    pairs, only_base, only_new = pair_cells(index_runs(base), index_runs(new))
    if not pairs:
        raise UsageError(
            f"'{base_name}' and '{new_name}' have no cell in common",
            "were they run with the same targets, backends, dtype and sizes?",
        )
    used_metric = metric if command == "time" else None
    cells = [compare_cell(k, b, n, used_metric, max_slowdown, alpha) for k, b, n in pairs]
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
            if c.command == "time"
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
            f"BASE and NEW ran on different machines or thread settings ({', '.join(keys)}); "
            "absolute seconds are not comparable — try --metric ratio_to_primal"
        )
    return out


def load_runs(path: str | Path) -> list[Run]:
    """One result file, or every ``*.json`` in a folder (several runs of one command, to be
    pooled), each checked to be adbench JSON (UsageError otherwise)."""
    p = Path(path)
    if p.is_dir():
        files = sorted(p.glob("*.json"))
        if not files:
            raise UsageError(
                f"folder '{p}' holds no .json result files", "pass a file or a folder of runs"
            )
        return [(str(f), load_document(f)) for f in files]
    return [(str(p), load_document(p))]


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
    "CellChange",
    "CellKey",
    "Comparison",
    "Difference",
    "Measurement",
    "RankTest",
    "Verdict",
    "average_ranks",
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
    "u_distribution",
    "validate_options",
]
