"""What ``time`` measured: records in plan order, ratios, growth fits and the sentence a
person wants per target."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from autodiff_bench.backends import all_backends
from autodiff_bench.model import TimeRecord
from autodiff_bench.timing.plan import REFERENCE, TimePlan


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


@dataclass(frozen=True)
class Highlight:
    """The sentence a person wants for one target: who was fastest on its main derivative at
    its largest size, by how much, and how the closed form compares."""

    target: str
    quantity: str
    size: int | None
    #: (label, median seconds, noisy) fastest first, every backend that was measured.
    ranking: list[tuple[str, float, bool]]
    fastest_autodiff: str | None = None
    runner_up: str | None = None
    #: runner_up median / fastest_autodiff median.
    speedup: float | None = None
    #: fastest_autodiff median / manual median (> 1: the closed form is faster).
    autodiff_over_manual: float | None = None


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

    def highlights(self) -> list[Highlight]:
        """One :class:`Highlight` per target that has a measured derivative."""
        out = []
        autodiff = {b.label for b in self.plan.backends if all_backends()[b.name].is_autodiff}
        for t in self.plan.targets:
            quantities = [q for q in self.plan.quantities_of(t) if q != "primal"]
            if not quantities:
                continue
            # The first-order derivative is the headline: what training loops pay for.
            q = next((x for x in ("grad", "d1") if x in quantities), quantities[0])
            size = self.plan.sizes_of(t)[-1]
            ranked = sorted(
                (
                    (r.label, r.median_s, r.noisy)
                    for r in self.records
                    if (r.target, r.size, r.quantity) == (t.name, size, q)
                    and r.status == "pass"
                    and r.median_s
                ),
                key=lambda item: item[1],
            )
            if not ranked:
                continue
            ad = [item for item in ranked if item[0] in autodiff]
            manual = next((item for item in ranked if item[0] == REFERENCE), None)
            h = Highlight(t.name, q, size, [(a, float(b), c) for a, b, c in ranked])
            if ad:
                h = replace(h, fastest_autodiff=ad[0][0])
                if len(ad) > 1:
                    h = replace(h, runner_up=ad[1][0], speedup=ad[1][1] / ad[0][1])
                if manual is not None:
                    h = replace(h, autodiff_over_manual=ad[0][1] / manual[1])
            out.append(h)
        return out

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
    of the same quantity) on every measured record."""
    medians = {
        (r.target, r.size, r.quantity, r.label): r.median_s
        for r in records
        if r.status == "pass" and r.median_s
    }
    for r in records:
        if r.status != "pass" or not r.median_s:
            continue
        primal = medians.get((r.target, r.size, "primal", r.label))
        manual = medians.get((r.target, r.size, r.quantity, REFERENCE))
        r.ratio_to_primal = r.median_s / primal if primal else None
        r.ratio_to_manual = r.median_s / manual if manual else None


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
