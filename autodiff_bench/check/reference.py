"""The reference of a target without closed forms: a backend the user names, or the AD
backends' agreement, cross-checked by finite differences.

Such a target's cells cannot be judged inside a worker (the reference is another worker's
value), so the workers send every value back (:func:`collect_values`: records ``pending``)
and the parent judges them once all are in (:func:`judge_pending`):

- ``--reference jax``: every backend against jax's value at the same point; jax's own column
  is the reference (status ``reference``), and where jax has no value the cells say so.
- otherwise, the **consensus**: the value that more than half of the AD frameworks (at least
  two; the modes of one framework count once) agree with within tolerance.  A backend that
  disagrees fails; ``finite`` is judged against it with its own error estimate, which
  confirms it (or not, said in the report).  Without a majority the cells are ``error``,
  saying who disagrees: no verdict is guessed.

Targets with closed forms never come here: their workers judge them as before.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from autodiff_bench.backends import QuantityUnsupported, all_backends
from autodiff_bench.correctness import arrays_agree, compare_arrays, estimated_allowance
from autodiff_bench.model import CheckRecord
from autodiff_bench.quantities import derivative_order
from autodiff_bench.targets import Point, Target, quantity_direction

if TYPE_CHECKING:
    import numpy as np

    from autodiff_bench.check.plan import CheckPlan
else:
    from autodiff_bench.lazy import numpy as np

#: A record computed by a worker and not judged yet (never leaves :func:`judge_pending`).
PENDING = "pending"
#: The ``reference`` of a record judged against the target's closed form.
CLOSED_FORM = "closed form"
#: The ``reference`` of a record judged against the AD backends' agreement.
CONSENSUS = "consensus"

#: A computed value by (target, quantity, point label, backend label).
ValueKey = tuple[str, str, str, str]


@dataclass(frozen=True)
class ReferenceNote:
    """What one row (target × quantity) without closed forms was judged against."""

    target: str
    quantity: str
    #: A backend label, ``consensus``, or None where no reference could be formed.
    reference: str | None
    text: str


def collect_values(
    plan: CheckPlan,
    backend: Any,
    target: Target,
    quantity: str,
    points: list[Point],
    base: dict[str, Any],
) -> tuple[list[CheckRecord], dict[ValueKey, np.ndarray], dict[ValueKey, np.ndarray]]:
    """One backend's ``quantity`` of a target without closed forms at every point: records
    ``pending`` (or ``unsupported``/``error``), the values and the backend's own error
    estimates, for the parent to judge."""
    records: list[CheckRecord] = []
    values: dict[ValueKey, np.ndarray] = {}
    estimates: dict[ValueKey, np.ndarray] = {}
    for index, point in enumerate(points):
        size = None if target.is_scalar else point.size
        ref_point = point.astype(plan.dtype).astype(np.float64)
        rtol, atol = plan.tolerance(target, quantity, backend)
        common = dict(base, point=point.label, size=size, rtol=rtol, atol=atol)
        try:  # the cotangent of vjp is shaped like f(x): f runs here
            v = quantity_direction(target, quantity, ref_point, plan.seed, index)
        except Exception as exc:
            message = f"f raised {type(exc).__name__}: {exc}"
            records.append(CheckRecord(**common, status="error", message=message))
            continue
        t0 = time.perf_counter()
        try:
            got = backend.evaluate(target, quantity, point, v)
            layout = None if quantity == "primal" else point.layout
            # Several variables: the values travel and are judged as flat arrays.
            got = np.asarray(got if layout is None else layout.flat(quantity, got, backend.label))
        except QuantityUnsupported as exc:
            records.append(CheckRecord(**common, status="unsupported", message=str(exc)))
            continue
        except Exception as exc:  # any backend failure is this cell's error, never the run's
            records.append(
                CheckRecord(
                    **common,
                    status="error",
                    message=f"{type(exc).__name__}: {exc}",
                    seconds=time.perf_counter() - t0,
                )
            )
            continue
        key = (target.name, quantity, point.label, backend.label)
        values[key] = got
        estimate = backend.error_estimate()
        if estimate is not None:
            estimates[key] = np.asarray(estimate)
        records.append(CheckRecord(**common, status=PENDING, seconds=time.perf_counter() - t0))
    return records, values, estimates


def judge_pending(
    plan: CheckPlan,
    records: list[CheckRecord],
    values: Mapping[ValueKey, np.ndarray],
    estimates: Mapping[ValueKey, np.ndarray],
) -> tuple[list[CheckRecord], list[ReferenceNote]]:
    """Every record with its verdict and the reference it used: ``closed form`` for the
    targets that have them (already judged), the named backend or the consensus for the
    rest (judged here); with one note per row without closed forms."""
    judge = _Judge(plan, records, values, estimates)
    out = []
    for r in records:
        if r.status == PENDING:
            out.append(judge.verdict(r))
        elif r.status in ("pass", "fail", "nonfinite") and r.reference is None:
            out.append(replace(r, reference=CLOSED_FORM))
        else:
            out.append(r)
    return out, judge.notes(out)


class _Judge:
    """The verdicts of one run's pending records, group by group (target, quantity, point)."""

    def __init__(
        self,
        plan: CheckPlan,
        records: list[CheckRecord],
        values: Mapping[ValueKey, np.ndarray],
        estimates: Mapping[ValueKey, np.ndarray],
    ) -> None:
        self.plan = plan
        self.values = values
        self.estimates = estimates
        classes = all_backends()
        self.autodiff = {b.label for b in plan.backends if classes[b.name].is_autodiff}
        self.groups: dict[tuple[str, str, str], list[CheckRecord]] = {}
        self.loaded_failures: dict[tuple[str, str, str], CheckRecord] = {}
        for r in records:
            if r.point == "*":  # a backend (or sampler) that failed before any point
                self.loaded_failures[(r.target, r.quantity, r.label)] = r
            else:
                self.groups.setdefault((r.target, r.quantity, r.point), []).append(r)
        #: The consensus per group: (the value, the frameworks that agree) or a reason.
        self._consensus: dict[tuple[str, str, str], tuple[np.ndarray, list[str]] | str] = {}

    def value(self, r: CheckRecord) -> np.ndarray:
        return self.values[(r.target, r.quantity, r.point, r.label)]

    def estimate(self, r: CheckRecord) -> np.ndarray | None:
        return self.estimates.get((r.target, r.quantity, r.point, r.label))

    def verdict(self, r: CheckRecord) -> CheckRecord:
        """One pending record judged against the run's reference."""
        if self.plan.reference is not None:
            return self._against_backend(r, self.plan.reference)
        found = self.consensus((r.target, r.quantity, r.point))
        if isinstance(found, str):
            return replace(r, status="error", message=f"no reference: {found}")
        ref, _ = found
        return self._compare(r, ref, None, CONSENSUS)

    def _against_backend(self, r: CheckRecord, label: str) -> CheckRecord:
        if r.label == label:
            return replace(r, status="reference", reference=label, message="the reference")
        group = self.groups.get((r.target, r.quantity, r.point), [])
        ref_rec = next((g for g in group if g.label == label), None)
        if ref_rec is None:
            ref_rec = self.loaded_failures.get((r.target, r.quantity, label))
        if ref_rec is None or ref_rec.status != PENDING:
            why = "did not run" if ref_rec is None else ref_rec.status
            detail = "" if ref_rec is None else (ref_rec.message.splitlines() or [""])[0]
            return replace(
                r,
                status="error",
                reference=label,
                message=f"the reference {label} has no value here ({why}"
                + (f": {detail})" if detail else ")"),
            )
        ref = self.value(ref_rec)
        if not np.all(np.isfinite(ref)):
            return replace(
                r,
                status="error",
                reference=label,
                message=f"the reference {label} is NaN or Inf at this point",
            )
        return self._compare(r, ref, self.estimate(ref_rec), label)

    def _compare(
        self, r: CheckRecord, ref: np.ndarray, ref_estimate: np.ndarray | None, name: str
    ) -> CheckRecord:
        """``r``'s value against ``ref`` under ``r``'s tolerance, widened by either side's
        own error estimate (finite differences), as check does against a closed form."""
        got = self.value(r)
        ref = np.asarray(ref, dtype=np.float64)
        rtol, atol = r.rtol or 0.0, r.atol or 0.0
        order = derivative_order(r.quantity)
        floor = self.plan.tolerances.lookup(self.plan.dtype, order, finite=False)
        own = self.estimate(r)
        allowed = None
        if own is not None:
            allowed = estimated_allowance(ref, own, (rtol, atol), floor)
        elif ref_estimate is not None:  # an approximate reference: its error is allowed
            table = self.plan.tolerances.lookup(self.plan.dtype, order, finite=True)
            allowed = estimated_allowance(ref, ref_estimate, table, (rtol, atol))
        v = compare_arrays(got, ref, rtol, atol, self.plan.dtype, allowed=allowed)
        return replace(
            r,
            status=v.status,
            reference=name,
            max_abs_error=v.max_abs_error,
            max_rel_error=v.max_rel_error,
            worst_index=None if v.worst_index is None else list(v.worst_index),
            got=v.got,
            ref=v.ref,
            mismatched=v.mismatched,
            total=v.total,
            message=v.message,
        )

    def consensus(self, key: tuple[str, str, str]) -> tuple[np.ndarray, list[str]] | str:
        """The value more than half of the AD frameworks (at least two) agree with, and
        those frameworks; or why there is none."""
        if key in self._consensus:
            return self._consensus[key]
        voters = [
            r for r in self.groups.get(key, []) if r.status == PENDING and r.label in self.autodiff
        ]
        frameworks = list(dict.fromkeys(r.backend for r in voters))
        best: tuple[CheckRecord, list[str]] | None = None
        for c in voters:
            if not np.all(np.isfinite(self.value(c))):
                continue
            support = list(dict.fromkeys(r.backend for r in voters if self._agree(r, c)))
            if best is None or len(support) > len(best[1]):
                best = (c, support)
        found: tuple[np.ndarray, list[str]] | str
        if best is not None and len(best[1]) >= 2 and 2 * len(best[1]) > len(frameworks):
            found = (np.asarray(self.value(best[0]), dtype=np.float64), best[1])
        else:
            found = self._no_consensus(voters, frameworks)
        self._consensus[key] = found
        return found

    def _agree(self, a: CheckRecord, b: CheckRecord) -> bool:
        rtol = max(a.rtol or 0.0, b.rtol or 0.0)
        atol = max(a.atol or 0.0, b.atol or 0.0)
        return arrays_agree(self.value(a), self.value(b), rtol, atol)

    def _no_consensus(self, voters: list[CheckRecord], frameworks: list[str]) -> str:
        hint = "name a reference with --reference BACKEND"
        if not frameworks:
            return f"no AD backend computed it; {hint}"
        if len(frameworks) == 1:
            return (
                f"only {frameworks[0]} computed it, and one AD backend is no consensus; "
                f"add another AD backend, or pass --reference {voters[0].label}"
            )
        return (
            f"the AD backends disagree ({', '.join(frameworks)}: no value has more than "
            f"half of them){self._finite_opinion(voters)}; {hint}"
        )

    def _finite_opinion(self, voters: list[CheckRecord]) -> str:
        """Which AD backends a finite-difference value agrees with, within its estimate."""
        if not voters:
            return ""
        r0 = voters[0]
        group = self.groups.get((r0.target, r0.quantity, r0.point), [])
        approx = [g for g in group if g.status == PENDING and self.estimate(g) is not None]
        for f in approx:
            agreeing = []
            for c in voters:
                ref = np.asarray(self.value(c), dtype=np.float64)
                if not np.all(np.isfinite(ref)) or ref.shape != self.value(f).shape:
                    continue
                floor = (c.rtol or 0.0, c.atol or 0.0)
                est = self.estimate(f)
                assert est is not None
                allowed = estimated_allowance(ref, est, (f.rtol or 0.0, f.atol or 0.0), floor)
                diff = np.abs(np.asarray(self.value(f), dtype=np.float64) - ref)
                if np.all(diff <= allowed):
                    agreeing.append(c.label)
            said = ", ".join(agreeing) if agreeing else "none of them"
            return f"; {f.label} agrees with {said} within its error estimate"
        return ""

    def notes(self, judged: list[CheckRecord]) -> list[ReferenceNote]:
        """One line per row without closed forms: its reference and what finite said."""
        rows: dict[tuple[str, str], list[CheckRecord]] = {}
        for r in judged:
            if r.reference not in (None, CLOSED_FORM) or (
                r.status == "error" and r.message.startswith("no reference:")
            ):
                rows.setdefault((r.target, r.quantity), []).append(r)
        out = []
        for (target, quantity), recs in rows.items():
            if self.plan.reference is not None:
                label = self.plan.reference
                added = " (added to the backends)" if self.plan.reference_added else ""
                out.append(
                    ReferenceNote(
                        target,
                        quantity,
                        label,
                        f"{target} {quantity}: no closed form; judged against {label}{added}, "
                        "as --reference asks",
                    )
                )
                continue
            points = list(dict.fromkeys(r.point for r in recs))
            members: list[str] = []
            missing = []
            for p in points:
                found = self.consensus((target, quantity, p))
                if isinstance(found, str):
                    missing.append(p)
                else:
                    members += [m for m in found[1] if m not in members]
            if not members:
                out.append(
                    ReferenceNote(
                        target,
                        quantity,
                        None,
                        f"{target} {quantity}: no closed form and no consensus of the AD "
                        "backends; name a reference with --reference BACKEND",
                    )
                )
                continue
            text = f"{target} {quantity}: no closed form; judged against the consensus of "
            text += ", ".join(members)
            if missing:
                text += f" (none at {', '.join(missing)})"
            text += self._cross_check(recs)
            out.append(ReferenceNote(target, quantity, CONSENSUS, text))
        return out

    def _cross_check(self, recs: list[CheckRecord]) -> str:
        """What the backends with an error estimate (finite differences) said of it."""
        approx: dict[str, list[CheckRecord]] = {}
        for r in recs:
            if (
                r.reference == CONSENSUS
                and self.estimates.get((r.target, r.quantity, r.point, r.label)) is not None
            ):
                approx.setdefault(r.label, []).append(r)
        parts = []
        for label, rs in approx.items():
            bad = [r.point for r in rs if r.status != "pass"]
            if bad:
                parts.append(f"{label} disagrees at {', '.join(bad)}")
            else:
                parts.append(f"{label} agrees within its error estimate")
        return "; " + "; ".join(parts) if parts else "; no finite-difference cross-check"


__all__ = [
    "CLOSED_FORM",
    "CONSENSUS",
    "PENDING",
    "ReferenceNote",
    "collect_values",
    "judge_pending",
]
