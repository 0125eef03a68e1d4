"""What ``train`` found: records from the workers' trajectories, the reference each
trajectory is compared with, where they part, times per step and their ratios, and the
closing line.  It computes; renderers only show.

The reference of each optimizer's runs is the closed-form trajectory (NumPy ``manual``
first).  When every autodiff trajectory parts from it while they agree with each other, the
closed form is the suspect (as in ``check``): the first autodiff run becomes the reference and the
closed form's runs fail.  Without a closed form the first backend that finished is it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from autodiff_bench.backends import all_backends, version_of
from autodiff_bench.correctness import AD_TOLERANCES
from autodiff_bench.model import FAILING, TrainRecord, backend_label
from autodiff_bench.train.plan import REFERENCE, TrainCell, TrainPlan, manual_mode_for
from autodiff_bench.train.run import TrainOutcome
from autodiff_bench.train.workloads import RunView

if TYPE_CHECKING:
    import numpy as np
else:
    from autodiff_bench.lazy import numpy as np

#: Largest relative parameter deviation that still counts as the same trajectory, by dtype
#: and tolerance class (finite differences carry truncation error too).
TRAJECTORY_TOLERANCE = {
    ("float64", "ad"): 1e-8,
    ("float64", "finite"): 1e-5,
    ("float32", "ad"): 1e-3,
    ("float32", "finite"): 1e-3,
}


def tolerance_for(dtype: str, backend: str) -> float:
    """The trajectory tolerance of ``backend`` in ``dtype``."""
    cls = all_backends().get(backend)
    kind = getattr(cls, "tolerance_class", "ad")
    return TRAJECTORY_TOLERANCE.get((dtype, kind), TRAJECTORY_TOLERANCE[(dtype, "ad")])


@dataclass
class Finding:
    """A line worth a person's attention, with the record it is about."""

    text: str
    severity: str = "info"


@dataclass
class TrainReport:
    """Every run's record, in plan order, and the closing findings."""

    plan: TrainPlan
    records: list[TrainRecord]
    findings: list[Finding] = field(default_factory=list)
    interrupted: bool = False
    seconds: float = 0.0
    workers: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Steps checked against the canonical numbers (none when settings differ).
    canonical_checked: bool = False

    @property
    def exit_code(self) -> int:
        """0 all agree, 1 a trajectory parts, fails, diverges or errs, or nothing could be
        trained (every backend unavailable: as check's "nothing was checked"), 130
        interrupted."""
        if self.interrupted:
            return 130
        if any(r.status in FAILING for r in self.records):
            return 1
        return 0 if any(r.status == "pass" for r in self.records) else 1

    def trajectories(self) -> dict[str, list[float]]:
        """Loss against step by record label and optimizer (for the plot)."""
        return {f"{r.label} {r.optimizer}": r.losses for r in self.records if r.losses}

    def summary(self) -> str:
        """The closing line."""
        return "; ".join(f.text for f in self.findings) or "nothing was trained"


def _view(plan: TrainPlan, raw: dict[str, Any], dataset: Any) -> RunView:
    params = {int(k): np.asarray(v) for k, v in raw["checkpoints"].items()}
    final = np.asarray(raw["final"])
    from autodiff_bench.backends.namespace import numpy_namespace

    with np.errstate(all="ignore"):  # a diverged run's loss is inf: that is the finding
        final_loss = float(plan.workload.loss(numpy_namespace("float64"), final, dataset.train))
    return RunView(
        params=params,
        final=final,
        first_grad=np.asarray(raw["first_grad"]),
        losses=list(raw["losses"]),
        final_loss=final_loss,
        dataset=dataset,
        epoch_steps=tuple(raw.get("epoch_steps", ())),
    )


def _deviation(run: RunView, ref: RunView, tol: float) -> tuple[float, int | None]:
    """Largest relative deviation over the steps both kept, and the first step past ``tol``."""
    worst, parted = 0.0, None
    for k in sorted(set(run.params) & set(ref.params)):
        r = ref.params[k]
        d = float(np.max(np.abs(run.params[k] - r))) / max(1.0, float(np.max(np.abs(r))))
        if not math.isfinite(d):
            d = math.inf
        worst = max(worst, d)
        if parted is None and d > tol:
            parted = k
    return worst, parted


def _first_grad_error(run: RunView, ref: RunView) -> float | None:
    """max|g − g_ref| / max|g_ref| of the gradients at the initial parameters (first batch)."""
    g, r = run.first_grad, ref.first_grad
    if g.shape != r.shape or r.size == 0:
        return None
    scale = float(np.max(np.abs(r))) or 1.0
    err = float(np.max(np.abs(g - r))) / scale
    return err if math.isfinite(err) else math.inf


def _params_text(plan: TrainPlan, theta: np.ndarray) -> str:
    """``w = 1.200`` / ``m = -0.4681, b = 1.754`` (or the first values of a big vector)."""
    named = plan.workload.params
    if named is None:
        return "θ[:3] = " + ", ".join(f"{v:.4g}" for v in theta[:3])
    parts = []
    for name, value in named(theta).items():
        if isinstance(value, list):
            parts.append(f"{name} = [{', '.join(f'{v:.4g}' for v in value[:3])}…]")
        else:
            parts.append(f"{name} = {value:.3f}" if abs(value) < 1e4 else f"{name} = {value:.4g}")
    return ", ".join(parts)


def _warm_stats(times: list[float]) -> tuple[float | None, float | None, float | None, int]:
    """(cold, warm median, warm IQR, warm samples) of per-step seconds: the cold call first,
    then every step."""
    if not times:
        return None, None, None, 0
    warm = times[1:] or times
    q1, med, q3 = np.percentile(warm, [25, 50, 75])
    return times[0], float(med), float(q3 - q1), len(warm)


def build_report(plan: TrainPlan, outcome: TrainOutcome) -> TrainReport:
    """Records and findings from the workers' raw results."""
    dataset = plan.dataset()
    classes = all_backends()
    records: list[TrainRecord] = []
    views: dict[TrainCell, RunView] = {}
    for cell in plan.cells():
        raw = outcome.results.get(cell)
        if raw is None:
            continue
        cold, median, iqr, samples = _warm_stats(raw.get("times_s", []))
        record = TrainRecord(
            workload=cell.workload,
            optimizer=cell.optimizer.kind,
            lr=cell.optimizer.lr,
            backend=cell.backend,
            mode=cell.mode,
            dtype=cell.dtype,
            device=cell.device,
            status=raw["status"],
            message=raw.get("message", ""),
            label=backend_label(cell.backend, cell.mode, classes[cell.backend].modes[0]),
            backend_version=version_of(cell.backend, cell.mode),
            steps=len(raw.get("losses", [])),
            losses=list(raw.get("losses", [])),
            times_s=list(raw.get("times_s", [])),
            cold_s=cold,
            seconds_per_step=median,
            iqr_s=iqr,
            samples=samples,
            threads=plan.threads,
        )
        if "final" in raw:
            view = _view(plan, raw, dataset)
            views[cell] = view
            record.final_loss = view.final_loss
            if plan.workload.params is not None:
                record.params = plan.workload.params(view.final)
            if plan.workload.metric is not None and record.status == "pass":
                record.metric = plan.workload.metric(view)
            if plan.canonical_settings and plan.dtype == "float64":
                _check_canonical(plan, record, view)
        records.append(record)
    report = TrainReport(plan, records, interrupted=outcome.interrupted, seconds=outcome.seconds)
    report.workers = outcome.info
    report.canonical_checked = bool(plan.canonical_settings and plan.workload.canonical)
    by_cell = dict(zip([c for c in plan.cells() if c in outcome.results], records, strict=True))
    for opt in plan.optimizers:
        group = {c: r for c, r in by_cell.items() if c.optimizer == opt}
        _compare_trajectories(plan, group, views, report)
        _add_ratios(group)
    _closing(report)
    return report


def _check_canonical(plan: TrainPlan, record: TrainRecord, view: RunView) -> None:
    wrong = []
    for c in plan.workload.canonical:
        try:
            got = float(c.read(view))
        except (IndexError, KeyError):
            got = math.nan
        record.canonical[c.label] = {"expected": c.expected, "got": got, "holds": c.holds(got)}
        if not c.holds(got):
            wrong.append(f"{c.label} = {got:.6g}, the lesson's is {c.expected}")
    if wrong and record.status == "pass":
        record.status = "fail"
        record.message = "; ".join(wrong)


def _compare_trajectories(
    plan: TrainPlan,
    group: dict[TrainCell, TrainRecord],
    views: dict[TrainCell, RunView],
    report: TrainReport,
) -> None:
    done = [c for c in group if c in views]
    if not done:
        return
    classes = all_backends()
    closed = [c for c in done if c.backend == REFERENCE]
    autodiff = [c for c in done if c.backend != REFERENCE and classes[c.backend].is_autodiff]
    ref = closed[0] if closed else done[0]
    ref_view = views[ref]

    def part(cell: TrainCell, against: TrainCell) -> tuple[float, int | None]:
        return _deviation(views[cell], views[against], tolerance_for(plan.dtype, cell.backend))

    suspect_closed = False
    if closed and autodiff:
        apart = [part(c, ref)[1] is not None for c in autodiff]
        agree = all(part(c, autodiff[0])[1] is None for c in autodiff)
        suspect_closed = all(apart) and agree
    if suspect_closed:
        ref = autodiff[0]
        ref_view = views[ref]
    ref_label = group[ref].label
    for cell in done:
        record = group[cell]
        tol = tolerance_for(plan.dtype, cell.backend)
        record.tolerance = tol
        record.deviation_reference = ref_label
        if cell == ref:
            record.max_deviation = 0.0
            continue
        worst, parted = part(cell, ref)
        record.max_deviation, record.parted_at = worst, parted
        record.first_grad_error = _first_grad_error(views[cell], ref_view)
        if parted is None or record.status != "pass":
            continue
        k = parted
        mine, theirs = views[cell].params[k], ref_view.params[k]
        if plan.workload.params is None:  # a big vector: where it differs most
            i = int(np.argmax(np.abs(mine - theirs)))
            here, there = f"θ[{i}] = {mine[i]:.6g}", f"{theirs[i]:.6g}"
        else:
            here, there = _params_text(plan, mine), _params_text(plan, theirs)
        whose = "the closed form" if cell.backend == REFERENCE else record.label
        record.status = "fail"
        record.message = f"{whose} parts from {ref_label} at step {k}: {here} against {there}" + (
            " (autodiff backends agree with each other)" if suspect_closed else ""
        )


def _add_ratios(group: dict[TrainCell, TrainRecord]) -> None:
    classes = all_backends()
    manual_time = {
        r.mode: r.seconds_per_step
        for c, r in group.items()
        if c.backend == REFERENCE and r.seconds_per_step
    }
    for cell, record in group.items():
        if cell.backend == REFERENCE or not record.seconds_per_step:
            continue
        mode = manual_mode_for(classes[cell.backend].framework_of(cell.mode))
        base = manual_time.get(mode)
        if base:
            record.ratio_to_manual = record.seconds_per_step / base
            record.manual_reference = backend_label(REFERENCE, mode, classes[REFERENCE].modes[0])


def _closing(report: TrainReport) -> None:
    plan = report.plan
    classes = all_backends()
    for opt in plan.optimizers:
        group = [r for r in report.records if r.optimizer == opt.kind and r.lr == opt.lr]
        if not group:
            continue
        prefix = f"{opt.label}: " if len(plan.optimizers) > 1 else ""
        ref = next((r.deviation_reference for r in group if r.deviation_reference), None)
        agreeing = [
            r
            for r in group
            if r.status == "pass"
            and r.max_deviation is not None
            and r.label != ref
            and r.float64_deviation is None
        ]
        rounded = [r for r in group if r.status == "pass" and r.float64_deviation is not None]
        apart = [r for r in group if r.status == "fail" and r.parted_at is not None]
        bad = [r for r in group if r.status in FAILING and r not in apart]
        absent = [r for r in group if r.status in ("unavailable", "unsupported")]
        trained = [r for r in group if r.status == "pass"]
        whose = "the closed form's" if ref and ref.startswith(REFERENCE) else f"{ref}'s"
        parts = []
        if not trained and not apart and not bad:
            parts.append("nothing was trained")
        elif len(trained) == 1 and not (agreeing or rounded or apart or bad):
            parts.append(f"{trained[0].label} trained alone: no other trajectory to compare")
        if agreeing:
            worst = max(r.max_deviation or 0.0 for r in agreeing)
            n = len(agreeing)
            everyone = n == len(group) - 1
            if n == 1:
                who = "the other" if everyone else "1"
            else:
                who = ("both" if n == 2 else f"all {n}") if everyone else f"{n}"
            noun = "backend follows" if n == 1 else "backends follow"
            parts.append(f"{who} {noun} {whose} trajectory within {worst:.1g}")
        if rounded:
            names = ", ".join(r.label for r in rounded)
            one = len(rounded) == 1
            worst32 = max(r.max_deviation or 0.0 for r in rounded)
            worst64 = max(r.float64_deviation or 0.0 for r in rounded)
            parts.append(
                f"{names} {'parts' if one else 'part'} from {whose} trajectory in float32 "
                f"(up to {worst32:.1e}) and {'follows' if one else 'follow'} it in float64 "
                f"(within {worst64:.1e}): float32 round-off, amplified by the training"
            )
        for r in apart:
            parts.append(r.message)
        for r in bad:
            parts.append(f"{r.label}: {r.status}{' (' + r.message + ')' if r.message else ''}")
        for r in absent:
            parts.append(f"{r.label}: {r.status}{' (' + r.message + ')' if r.message else ''}")
        ratios = [r for r in group if r.ratio_to_manual and classes[r.backend].is_autodiff]
        if ratios:
            slow = max(ratios, key=lambda r: r.ratio_to_manual or 0.0)
            ratio = slow.ratio_to_manual or 0.0
            times = f"{ratio:.2g}" if ratio < 100 else f"{ratio:.0f}"  # 150, not 1.5e+02
            parts.append(
                f"{slow.label}'s step is {times}× the hand-written one ({slow.manual_reference})"
            )
        severity = "error" if apart or bad or not trained else "info"
        report.findings.append(Finding(prefix + "; ".join(parts), severity))


# ---- float32 partings settled in float64 ----------------------------------------------------

#: The dtype a float32 parting is settled in.
WIDE = "float64"
#: How far a float32 run's first gradient may be from the reference's (relative to its
#: largest element) for its parting to count as round-off: check's float32 tolerance for
#: first derivatives.
FIRST_GRAD_TOLERANCE = AD_TOLERANCES["float32"][1][0]


def _parted(report: TrainReport) -> list[TrainRecord]:
    return [r for r in report.records if r.status == "fail" and r.parted_at is not None]


def float64_plan(report: TrainReport) -> TrainPlan | None:
    """The runs to train again in float64 when float32 trajectories parted: those backends
    and the references they parted from, same data, seeds and schedule.  None when nothing
    parted, the run was not float32, or it was interrupted.

    In float32 the frameworks' forward passes differ by ~1e-7; a sample that close to a
    ReLU's kink falls on a different side in each, and Adam turns the difference in a
    near-zero gradient component into a whole step, so a correct gradient can part from the
    closed form's trajectory (``parabola_mlp``).  A run that follows it in float64 is not
    wrong: its float32 parting is round-off, as ``check`` settles a float32 mismatch."""
    plan = report.plan
    parted = _parted(report)
    if plan.dtype != "float32" or not parted or report.interrupted:
        return None
    wanted = {r.label for r in parted} | {r.deviation_reference for r in parted}
    specs = [s for s in plan.backends if s.label in wanted]
    return replace(plan, dtype=WIDE, backends=specs, canonical_settings=False)


def settle_in_float64(report: TrainReport, wide: TrainReport) -> None:
    """Pass each float32 run that parted but follows in ``wide`` (its float64 re-run), with
    ``float64_deviation`` and a message that says so; the closing line is written again.
    Its first gradient must agree with the reference's to float32's tolerance: a gradient
    that is wrong in float32 from the first step is no rounding of a parting."""
    by_key = {(r.label, r.optimizer, r.lr): r for r in wide.records}
    for r in _parted(report):
        again = by_key.get((r.label, r.optimizer, r.lr))
        if again is None or again.status != "pass" or again.max_deviation is None:
            continue
        if again.deviation_reference is None or again.parted_at is not None:
            continue
        # A float32 gradient wrong from the first step is not round-off, whatever float64 does.
        if r.first_grad_error is None or r.first_grad_error > FIRST_GRAD_TOLERANCE:
            continue
        r.status = "pass"
        r.float64_deviation = again.max_deviation
        r.message = (
            f"float32 round-off: parts from {r.deviation_reference} at step {r.parted_at} in "
            f"float32 ({r.max_deviation:.1e}); in float64 it follows "
            f"{again.deviation_reference} within {again.max_deviation:.1e}"
        )
    report.findings.clear()
    _closing(report)


def build_settled_report(
    plan: TrainPlan, outcome: TrainOutcome, rerun: Callable[[TrainPlan], TrainOutcome]
) -> TrainReport:
    """:func:`build_report`, with float32 partings settled in float64: ``rerun`` trains
    :func:`float64_plan`'s runs (the caller's supervisor and progress display)."""
    report = build_report(plan, outcome)
    wide = float64_plan(report)
    if wide is not None:
        wide_outcome = rerun(wide)
        if not wide_outcome.interrupted:
            settle_in_float64(report, build_report(wide, wide_outcome))
    return report


__all__ = [
    "TRAJECTORY_TOLERANCE",
    "WIDE",
    "Finding",
    "TrainReport",
    "build_report",
    "build_settled_report",
    "float64_plan",
    "settle_in_float64",
    "tolerance_for",
]
