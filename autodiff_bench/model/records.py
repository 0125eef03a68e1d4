"""Result records and what identifies a cell: the model every engine writes and every
renderer and the gate read.  It imports nothing from the engines or the registries: a record
carries its own column label and backend version."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from autodiff_bench.errors import UsageError
from autodiff_bench.labels import DEFAULT_MODES, backend_label

#: Statuses in order of how bad they are (worst last) — used to summarise several points.
STATUSES = (
    "pass",
    # The reference's own column (``check --reference jax``): not a verdict on itself.
    "reference",
    "unsupported",
    "unavailable",
    "fail",
    "nonfinite",
    "diverged",
    "timeout",
    "error",
)
#: Statuses that fail a run (exit 1).
FAILING = frozenset({"fail", "nonfinite", "diverged", "timeout", "error"})


def worst_status(statuses: list[str]) -> str:
    """The worst of several statuses (``pass`` if empty)."""
    return max(statuses, key=STATUSES.index, default="pass")


#: IQR/median above which a measurement is flagged noisy (``torch.utils.benchmark`` uses 10%).
NOISY_IQR = 0.10

#: z·1.25/1.349 ≈ 1.57: the box-plot notch, a ~95% confidence half-width of the median per
#: unit of IQR/√n (McGill, Tukey & Larsen 1978) — robust to the slow outliers timings have.
NOTCH = 1.57


def relative_iqr(iqr: float | None, median: float | None) -> float:
    """IQR/median (0 when either is missing or the median is 0)."""
    if not iqr or not median:
        return 0.0
    return iqr / median


def median_halfwidth(iqr: float, samples: int) -> float:
    """~95% confidence half-width of a median from the IQR of ``samples`` values (the notch)."""
    return NOTCH * iqr / math.sqrt(max(samples, 1))


#: The smallest relative uncertainty a median is credited with: the timer and the loop
#: overhead never allow more than 4 digits.
UNCERTAINTY_FLOOR = 1e-4


def relative_uncertainty(median: float | None, iqr: float | None, samples: int) -> float:
    """The ~95% confidence half-width of a median over the median (at least
    :data:`UNCERTAINTY_FLOOR`; 1 when the median is unknown)."""
    if not median or median <= 0:
        return 1.0
    return max(median_halfwidth(iqr or 0.0, samples) / median, UNCERTAINTY_FLOOR)


def figures_for(uncertainty: float) -> int:
    """How many significant digits a value with this relative uncertainty supports (1 to
    4): the order of magnitude of 1 / uncertainty."""
    if not uncertainty > 0:
        return 4
    return min(max(math.floor(math.log10(1.0 / uncertainty)), 1), 4)


def significant_figures(median: float | None, iqr: float | None, samples: int) -> int:
    """How many digits of ``median`` the noise supports (1 to 4), as in torch's
    ``Measurement.significant_figures``: the order of magnitude of median / its uncertainty."""
    return figures_for(relative_uncertainty(median, iqr, samples))


def ratio_figures(*records: TimeRecord) -> int:
    """How many digits a ratio of these records' medians supports (1 to 4): the relative
    uncertainties of independent medians add in quadrature, so a ratio is never more
    precise than the noisier of its two medians."""
    squares = sum(r.relative_uncertainty**2 for r in records)
    return figures_for(math.sqrt(squares))


@dataclass(kw_only=True)
class Cell:
    """The fields that identify a cell: the one place they are declared.  Records, cell
    keys and the gate's verdicts all extend it."""

    target: str
    quantity: str
    backend: str
    mode: str = "default"
    dtype: str = "float64"
    size: int | None = None
    device: str = "cpu"

    def cell_fields(self) -> dict[str, Any]:
        """The identifying fields as a dict (to build another kind of cell from this one)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(Cell)}


@dataclass(kw_only=True, unsafe_hash=True)
class CellKey(Cell):
    """What identifies one cell across runs and files (hashable: a dict key)."""

    #: Check records only: the point's label (``*`` for a backend that could not load).
    point: str | None = None
    #: The column heading (not part of the identity).
    label: str = field(default="", compare=False, hash=False)

    @property
    def where(self) -> str:
        """``float64 cuda n=10 at random#1``: the dtype, device, size and point."""
        parts = [self.dtype]
        if self.device != "cpu":
            parts.append(self.device)
        if self.size is not None:
            parts.append(f"n={self.size}")
        if self.point is not None:
            parts.append(f"at {self.point}")
        return " ".join(parts)

    @property
    def text(self) -> str:
        """``least_squares grad [jax:nojit] float64 n=10 at random#1``."""
        label = self.label or f"{self.backend}:{self.mode}"
        return f"{self.target} {self.quantity} [{label}] {self.where}"

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


def key_of(cell: Cell, point: str | None = None, label: str = "") -> CellKey:
    """The key of any cell (a record, a verdict)."""
    return CellKey(**cell.cell_fields(), point=point, label=label)


R = TypeVar("R", bound="Record")


@dataclass(kw_only=True)
class Record(Cell):
    """What every record has besides its cell: how it ended, its column heading and the
    version of the backend that produced it.  Fields are keyword-only."""

    #: The ``command`` of the documents that hold this kind of record.
    command: ClassVar[str] = ""
    #: Fields a record read from a file must have.
    required: ClassVar[tuple[str, ...]] = ("target", "quantity", "backend", "status")

    status: str = "pass"
    message: str = ""
    #: The column heading (``jax`` or ``jax:nojit``); derived from the mode when not given.
    label: str = ""
    backend_version: str | None = None

    def __post_init__(self) -> None:
        if not self.label:
            self.label = backend_label(self.backend, self.mode)

    @property
    def key(self) -> CellKey:
        """This record's cell."""
        return key_of(self, label=self.label)

    @classmethod
    def from_dict(cls: type[R], data: dict[str, Any], where: str = "") -> R:
        """A record read from a result file: unknown fields ignored, missing cell fields and
        unknown statuses refused (UsageError naming ``where``)."""
        missing = [k for k in cls.required if k not in data]
        if missing:
            raise UsageError(
                f"{where}is not a {cls.command} record (no '{missing[0]}')",
                "pass a file written by adbench",
            )
        if data.get("status") not in STATUSES:
            raise UsageError(
                f"{where}has an unknown status {data.get('status')!r}",
                f"statuses are {', '.join(STATUSES)}",
            )
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names and v is not None}
        size = data.get("size")
        values["size"] = size if isinstance(size, int) and not isinstance(size, bool) else None
        return cls(**values)


@dataclass(kw_only=True)
class CheckRecord(Record):
    """One derivative at one point from one backend, compared with the closed form."""

    command: ClassVar[str] = "check"

    point: str = ""
    max_abs_error: float | None = None
    max_rel_error: float | None = None
    worst_index: list[int] | None = None
    got: float | None = None
    ref: float | None = None
    mismatched: int = 0
    total: int = 0
    rtol: float | None = None
    atol: float | None = None
    #: ``c`` with expected = c × got at every element, when one constant explains a
    #: mismatch (4: the closed form is 4 times the value; −1: the sign).
    factor: float | None = None
    #: The record is the closed form itself (``manual``): the reference, not a verdict.
    is_reference: bool = False
    seconds: float | None = None
    #: What the verdict was judged against: ``closed form``, a backend's label (``check
    #: --reference jax``) or ``consensus`` (the AD backends' agreement); None without one.
    reference: str | None = None

    @property
    def key(self) -> CellKey:
        """This record's cell, its point included."""
        return key_of(self, point=str(self.point), label=self.label)


@dataclass(kw_only=True)
class TimeRecord(Record):
    """One timed cell: f itself (``quantity='primal'``), the manual derivative or a
    backend's derivative, at one size.  Times are seconds per call."""

    command: ClassVar[str] = "time"

    cold_s: float | None = None
    median_s: float | None = None
    iqr_s: float | None = None
    min_s: float | None = None
    max_s: float | None = None
    samples: int = 0
    loops: int = 0
    #: Every sample (seconds per call), so a later comparison can test significance.
    times_s: list[float] = field(default_factory=list)
    ratio_to_primal: float | None = None
    #: median_s over the closed form's median in the same framework (``manual:torch`` for
    #: torch, NumPy ``manual`` for NumPy-based backends and for manual's own modes).
    ratio_to_manual: float | None = None
    #: The label of the record ``ratio_to_manual`` divides by (None without a ratio).
    manual_reference: str | None = None
    threads: int | None = None
    noisy: bool = False

    @property
    def warm_times_s(self) -> list[float]:
        """The samples the median is taken over (the cold call is ``cold_s``, apart)."""
        return self.times_s

    @property
    def relative_iqr(self) -> float:
        """IQR/median of the samples (0 when unknown)."""
        return relative_iqr(self.iqr_s, self.median_s)

    @property
    def relative_uncertainty(self) -> float:
        """The ~95% confidence half-width of the median over the median."""
        return relative_uncertainty(self.median_s, self.iqr_s, self.samples)

    @property
    def significant_figures(self) -> int:
        """How many digits of the median its noise supports (1 to 4)."""
        return figures_for(self.relative_uncertainty)


@dataclass(kw_only=True)
class TrainRecord(Record):
    """One training run: a workload trained by one backend with one optimizer.

    Its cell is ``target`` = the workload and ``quantity`` = the optimizer (so the gate keys
    it like any other record); ``params`` are named as in the lesson."""

    command: ClassVar[str] = "train"
    required: ClassVar[tuple[str, ...]] = ("workload", "optimizer", "backend", "status")

    target: str = ""
    quantity: str = ""
    workload: str = ""
    optimizer: str = ""
    lr: float | None = None
    steps: int = 0
    final_loss: float | None = None
    params: dict[str, Any] | None = None
    metric: dict[str, Any] = field(default_factory=dict)
    #: Warm seconds per step (median over every step) and the first, cold call (``times_s``
    #: holds the cold call, then every step).
    seconds_per_step: float | None = None
    cold_s: float | None = None
    iqr_s: float | None = None
    samples: int = 0
    #: seconds_per_step over the closed-form step's in the same framework.
    ratio_to_manual: float | None = None
    manual_reference: str | None = None
    #: Largest deviation of the parameters from the reference trajectory, relative to their
    #: size (max|Δθ| / max(1, max|θ_ref|)), the step where it first passed the tolerance,
    #: the reference's label and the tolerance.
    max_deviation: float | None = None
    parted_at: int | None = None
    deviation_reference: str | None = None
    tolerance: float | None = None
    #: max|g − g_ref| / max|g_ref| of the gradient at the initial parameters on the first
    #: batch, against the reference run's.
    first_grad_error: float | None = None
    #: A float32 run that parted and was trained again in float64, where it followed: its
    #: deviation there (the float32 parting is float32's round-off, amplified).
    float64_deviation: float | None = None
    #: The lesson's printed numbers: label → {expected, got, holds}.
    canonical: dict[str, Any] = field(default_factory=dict)
    #: Loss on each step's batch, before the step.
    losses: list[float] = field(default_factory=list)
    times_s: list[float] = field(default_factory=list)
    threads: int | None = None

    def __post_init__(self) -> None:
        self.target = self.target or self.workload
        self.quantity = self.quantity or self.optimizer
        super().__post_init__()

    @property
    def median_s(self) -> float | None:
        """The warm time per step (the gate reads timings as ``median_s``)."""
        return self.seconds_per_step

    @property
    def warm_times_s(self) -> list[float]:
        """Every step's seconds without the cold call before them: the samples of
        ``seconds_per_step``."""
        return self.times_s[1:] or self.times_s

    @property
    def relative_uncertainty(self) -> float:
        """The ~95% confidence half-width of the median step time over the median."""
        return relative_uncertainty(self.seconds_per_step, self.iqr_s, self.samples)


#: Record classes by the command whose documents hold them.
RECORD_TYPES: dict[str, type[Record]] = {
    "check": CheckRecord,
    "time": TimeRecord,
    "train": TrainRecord,
}


__all__ = [
    "DEFAULT_MODES",
    "FAILING",
    "RECORD_TYPES",
    "STATUSES",
    "Cell",
    "CellKey",
    "CheckRecord",
    "Record",
    "TimeRecord",
    "TrainRecord",
    "backend_label",
    "figures_for",
    "key_of",
    "ratio_figures",
    "relative_uncertainty",
    "significant_figures",
    "worst_status",
]
