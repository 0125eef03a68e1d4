"""What ``check`` found: per-point records, the closed-form suspects, and the roll-ups the
renderers and the exit code read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from autodiff_bench.check.plan import CheckPlan
from autodiff_bench.check.reference import ReferenceNote
from autodiff_bench.model import FAILING, CheckRecord, worst_status


@dataclass(frozen=True)
class Suspect:
    """A closed form every AD backend disagrees with, while they agree with each other."""

    target: str
    quantity: str
    point: str
    backends: list[str]


@dataclass
class CheckReport:
    """Everything ``check`` found: per-point records and the closed-form suspects."""

    plan: CheckPlan
    records: list[CheckRecord]
    suspects: list[Suspect]
    seconds: float = 0.0
    #: Ctrl-C stopped the run: the records are what was checked until then.
    interrupted: bool = False
    #: Where the run computed: device, GPU name, precision flags (the JSON environment).
    environment: dict[str, Any] = field(default_factory=dict)
    #: What each row without closed forms was judged against (a backend or the consensus).
    references: list[ReferenceNote] = field(default_factory=list)

    def rows(self) -> list[tuple[str, str]]:
        """(target, quantity) in registry order."""
        return [(t.name, q) for t in self.plan.targets for q in self.plan.quantities_of(t)]

    def columns(self) -> list[str]:
        """Backend labels in selection order."""
        return [b.label for b in self.plan.backends]

    def cell(self, target: str, quantity: str, label: str) -> list[CheckRecord]:
        """The records of one table cell (one per point)."""
        return [
            r
            for r in self.records
            if r.target == target and r.quantity == quantity and r.label == label
        ]

    def missing_required(self) -> list[str]:
        """Required backends that were unavailable or could not compute a quantity."""
        missing = []
        for name in self.plan.require:
            recs = [r for r in self.records if name in (r.backend, r.label)]
            if not recs or any(r.status in ("unavailable", "unsupported") for r in recs):
                missing.append(name)
        return missing

    @property
    def checked(self) -> int:
        """How many values were actually compared with a closed form."""
        return sum(r.status in ("pass", "fail", "nonfinite") for r in self.records)

    @property
    def failed(self) -> bool:
        """Whether anything failed, a required backend was missing, or nothing was checked
        at all (every backend unavailable): a gate must not pass on an empty run."""
        return (
            any(r.status in FAILING for r in self.records)
            or bool(self.missing_required())
            or self.checked == 0
        )

    @property
    def exit_code(self) -> int:
        """130 when interrupted, 0 when everything that ran passed, 1 otherwise."""
        if self.interrupted:
            return 130
        return 1 if self.failed else 0

    def counts(self) -> dict[str, int]:
        """How many table cells (target × quantity × backend) ended in each status."""
        out: dict[str, int] = {}
        for target, quantity in self.rows():
            for label in self.columns():
                recs = self.cell(target, quantity, label)
                if recs:
                    s = worst_status([r.status for r in recs])
                    out[s] = out.get(s, 0) + 1
        return out


__all__ = ["CheckReport", "Suspect"]
