"""What ``time`` measured: records in plan order, ratios, growth fits and the sentence a
person wants per target, size and quantity (a winner named only beyond the noise)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from autodiff_bench.backends import all_backends
from autodiff_bench.compare.stats import run_measurement, slowdown_test
from autodiff_bench.model import TimeRecord
from autodiff_bench.model.records import ratio_figures
from autodiff_bench.timing.plan import REFERENCE, TimePlan, manual_reference


@dataclass(frozen=True)
class GrowthFit:
    """time ∝ sizeᵏ fitted by least squares on log-log for one backend and quantity."""

    target: str
    quantity: str
    backend: str
    mode: str
    exponent: float
    sizes: list[int]
    label: str = ""


#: A winner is named only when the runner-up is slower than it by more than this factor,
#: beyond the noise: differences under 10% are within the drift of one median between two
#: runs of the same suite on one machine (README, "Fidelity": 92% of cells moved < 10%).
MIN_SPEEDUP = 1.10
#: Significance level of the one-sided Mann-Whitney U test behind a named winner.
WINNER_ALPHA = 0.01


@dataclass(frozen=True)
class Verdict:
    """Whether one cell ran faster than another beyond the noise, and how that was decided."""

    #: The slower cell's median over the faster cell's.
    speedup: float
    #: Digits of ``speedup`` the two medians' noise supports (1 to 4).
    figures: int
    #: Whether the faster cell won beyond the noise (every condition of :func:`compare_cells`).
    separated: bool
    #: Whether the middle halves of the two cells' samples overlap.
    iqr_overlap: bool
    #: The rank test's one-sided p-value (None when too few samples for it to decide).
    p_value: float | None
    #: ``mann-whitney exact``, ``mann-whitney normal`` or ``iqr bands``.
    test: str


def quartiles(record: TimeRecord) -> tuple[float, float]:
    """The 25th and 75th percentiles of a cell's samples (median ∓ IQR/2 without samples)."""
    samples = [t for t in record.times_s if isinstance(t, (int, float)) and math.isfinite(t)]
    if len(samples) >= 2:
        q25, q75 = np.percentile(samples, [25, 75])
        return float(q25), float(q75)
    median, half = float(record.median_s or 0.0), float(record.iqr_s or 0.0) / 2
    return median - half, median + half


def compare_cells(
    fast: TimeRecord,
    slow: TimeRecord,
    factor: float = MIN_SPEEDUP,
    alpha: float = WINNER_ALPHA,
) -> Verdict:
    """Whether ``fast`` (the lower median) beat ``slow`` beyond the noise.  Both must hold:

    - the middle halves of their samples do not overlap (``fast``'s 75th percentile below
      ``slow``'s 25th), and
    - ``slow`` is slower than ``fast`` by more than ``factor``, beyond the noise: a
      one-sided Mann-Whitney U test of ``slow``'s samples against ``fast``'s scaled by
      ``factor`` at ``alpha`` (the ``compare`` gate's test), or, with too few samples for
      the test to reach ``alpha``, bands median ± IQR that do not overlap once scaled."""
    speedup = float(slow.median_s or 0.0) / float(fast.median_s or 1.0)
    figures = ratio_figures(fast, slow)
    base, new = run_measurement(fast, "median_s"), run_measurement(slow, "median_s")
    overlap = quartiles(fast)[1] >= quartiles(slow)[0]
    if base is None or new is None:
        return Verdict(speedup, figures, False, overlap, None, "")
    test = slowdown_test(base, new, factor, slower=True, alpha=alpha)
    separated = test.significant and not overlap and speedup > factor
    return Verdict(speedup, figures, separated, overlap, test.p_value, test.test)


@dataclass(frozen=True)
class Highlight:
    """The sentence a person wants for one target, size and quantity: which autodiff
    backend was fastest, whether beyond the noise, and what autodiff costs over the
    hand-written derivative in each framework."""

    target: str
    quantity: str
    size: int | None
    #: (label, median seconds, noisy) fastest first, every backend that was measured.
    ranking: list[tuple[str, float, bool]]
    #: The measured autodiff backends, in column order.
    autodiff: list[str] = field(default_factory=list)
    fastest_autodiff: str | None = None
    runner_up: str | None = None
    #: runner_up median / fastest_autodiff median.
    speedup: float | None = None
    #: Digits of ``speedup`` the two medians' noise supports.
    speedup_figures: int = 1
    #: Whether fastest_autodiff beat runner_up beyond the noise (:func:`compare_cells`).
    separated: bool = False
    #: The rank test's p-value behind ``separated`` (None: decided by the IQR bands).
    p_value: float | None = None
    #: (label, ratio_to_manual, digits it supports) of each autodiff backend whose record
    #: carries the ratio, in column order.
    to_manual: list[tuple[str, float, int]] = field(default_factory=list)


@dataclass
class TimeReport:
    """Everything ``time`` measured, in plan order, with ratios and growth fits."""

    plan: TimePlan
    records: list[TimeRecord]
    growth: list[GrowthFit] = field(default_factory=list)
    #: What each framework's worker honoured (thread settings, version), by backend name.
    workers: dict[str, dict[str, Any]] = field(default_factory=dict)
    interrupted: bool = False
    seconds: float = 0.0
    #: Where the run computed: device, GPU name, precision flags (the JSON environment).
    environment: dict[str, Any] = field(default_factory=dict)

    @property
    def planned(self) -> int:
        """How many cells the plan had (more than ``len(records)`` when interrupted)."""
        return len(self.plan.cells())

    def columns(self) -> list[str]:
        """Backend labels in selection order."""
        return [b.label for b in self.plan.backends]

    def get(self, target: str, size: int | None, quantity: str, label: str) -> TimeRecord | None:
        """The record of one cell, if it was measured."""
        for r in self.records:
            if (r.target, r.size, r.quantity) == (target, size, quantity) and r.label == label:
                return r
        return None

    def counts(self) -> dict[str, int]:
        """How many cells ended in each status."""
        out: dict[str, int] = {}
        for r in self.records:
            out[r.status] = out.get(r.status, 0) + 1
        return out

    def noisy(self) -> list[TimeRecord]:
        """Measured cells whose spread makes the median doubtful."""
        return [r for r in self.records if r.status == "pass" and r.noisy]

    def fit(self, target: str, quantity: str, label: str) -> GrowthFit | None:
        """The growth fit of one backend and quantity, if there is one."""
        for g in self.growth:
            if (g.target, g.quantity) == (target, quantity) and g.label == label:
                return g
        return None

    def reference_of(self, record: TimeRecord, ratio: str) -> TimeRecord | None:
        """The record a ratio of ``record`` was taken against: for ``ratio_to_primal`` the
        same backend's f; for ``ratio_to_manual`` the closed form (a ``manual`` record of the
        same cell, in whichever framework) whose median the ratio divides by."""
        if ratio == "ratio_to_primal":
            return self.get(record.target, record.size, "primal", record.label)
        value, median = getattr(record, ratio), record.median_s
        if not value or not median:
            return None
        if record.manual_reference:  # the label add_ratios divided by
            found = self.get(record.target, record.size, record.quantity, record.manual_reference)
            if found is not None:
                return found
        for r in self.records:
            if (
                r.backend == REFERENCE
                and (r.target, r.size, r.quantity) == (record.target, record.size, record.quantity)
                and r.status == "pass"
                and r.median_s
                and math.isclose(median / r.median_s, value, rel_tol=1e-9)
            ):
                return r
        return None

    def ratio_figures(self, record: TimeRecord, ratio: str) -> int:
        """How many digits of ``record``'s ``ratio`` (``ratio_to_primal`` or
        ``ratio_to_manual``) the noise of both medians supports."""
        reference = self.reference_of(record, ratio)
        return ratio_figures(record, reference) if reference else record.significant_figures

    def highlights(self) -> list[Highlight]:
        """One :class:`Highlight` per target × size × derivative quantity with a measured
        cell, in table order."""
        out = []
        autodiff = {b.label for b in self.plan.backends if all_backends()[b.name].is_autodiff}
        for t in self.plan.targets:
            for size in self.plan.sizes_of(t):
                for q in self.plan.quantities_of(t):
                    if q == "primal":
                        continue
                    h = self._highlight(t.name, size, q, autodiff)
                    if h is not None:
                        out.append(h)
        return out

    def _highlight(
        self, target: str, size: int | None, quantity: str, autodiff: set[str]
    ) -> Highlight | None:
        measured = [
            r
            for label in self.columns()
            if (r := self.get(target, size, quantity, label)) is not None
            and r.status == "pass"
            and r.median_s
        ]
        if not measured:
            return None
        ranked = sorted(measured, key=lambda r: float(r.median_s or 0.0))
        ad = [r for r in measured if r.label in autodiff]
        h = Highlight(
            target,
            quantity,
            size,
            [(r.label, float(r.median_s or 0.0), r.noisy) for r in ranked],
            autodiff=[r.label for r in ad],
            to_manual=[
                (r.label, float(r.ratio_to_manual), self.ratio_figures(r, "ratio_to_manual"))
                for r in ad
                if r.ratio_to_manual
            ],
        )
        ad_ranked = sorted(ad, key=lambda r: float(r.median_s or 0.0))
        if ad_ranked:
            h = replace(h, fastest_autodiff=ad_ranked[0].label)
        if len(ad_ranked) > 1:
            v = compare_cells(ad_ranked[0], ad_ranked[1])
            h = replace(
                h,
                runner_up=ad_ranked[1].label,
                speedup=v.speedup,
                speedup_figures=v.figures,
                separated=v.separated,
                p_value=v.p_value,
            )
        return h

    @property
    def failed(self) -> bool:
        """Whether a cell errored or timed out."""
        return any(r.status in ("error", "timeout") for r in self.records)

    @property
    def exit_code(self) -> int:
        """130 when interrupted, 1 when a cell errored or timed out, else 0."""
        if self.interrupted:
            return 130
        return 1 if self.failed else 0


def add_ratios(records: list[TimeRecord]) -> None:
    """Fill ``ratio_to_primal`` (the same backend's f) and ``ratio_to_manual`` (the closed form
    of the same quantity in the backend's own framework, see :func:`manual_reference`; its
    label goes in ``manual_reference``) on every measured record."""
    medians = {
        (r.target, r.size, r.quantity, r.label): r.median_s
        for r in records
        if r.status == "pass" and r.median_s
    }
    for r in records:
        if r.status != "pass" or not r.median_s:
            continue
        primal = medians.get((r.target, r.size, "primal", r.label))
        reference = manual_reference(r.backend, r.mode).label
        manual = medians.get((r.target, r.size, r.quantity, reference))
        r.ratio_to_primal = r.median_s / primal if primal else None
        r.ratio_to_manual = r.median_s / manual if manual else None
        r.manual_reference = reference if manual else None


def fit_growth(records: list[TimeRecord]) -> list[GrowthFit]:
    """The exponent k of time ∝ sizeᵏ per target × quantity × backend with ≥ 2 sizes."""
    groups: dict[tuple[str, str, str, str, str], list[tuple[int, float]]] = {}
    for r in records:
        if r.status == "pass" and r.size is not None and r.median_s and r.median_s > 0:
            groups.setdefault((r.target, r.quantity, r.backend, r.mode, r.label), []).append(
                (r.size, r.median_s)
            )
    out = []
    for (target, quantity, backend, mode, label), pts in groups.items():
        sizes = sorted({n for n, _ in pts})
        if len(sizes) < 2:
            continue
        x = np.log([n for n, _ in pts])
        y = np.log([s for _, s in pts])
        k = float(np.polyfit(x, y, 1)[0])
        out.append(GrowthFit(target, quantity, backend, mode, k, sizes, label))
    return out
