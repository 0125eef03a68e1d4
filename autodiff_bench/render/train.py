"""Renderers for ``train``: one table per optimizer (a row per backend), the canonical
numbers, the closing line, Markdown, CSV, JSON and the loss plot.  They read a
:class:`~autodiff_bench.train.report.TrainReport`; every figure was computed by the engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from autodiff_bench.model import TrainRecord
from autodiff_bench.render.base import Renderer
from autodiff_bench.render.common import markdown_table, ratio_text, sci, seconds_text
from autodiff_bench.train.report import TrainReport

_STYLE = {
    "pass": "green",
    "fail": "bold red",
    "diverged": "bold magenta",
    "error": "bold red",
    "timeout": "bold red",
    "unsupported": "dim",
    "unavailable": "dim",
}
HEADER = [
    "backend",
    "final loss",
    "metric",
    "params",
    "time/step",
    "cold",
    "× manual",
    "max deviation",
    "parts at",
    "status",
]


def _number(value: Any) -> str:
    if isinstance(value, list):
        shown = ", ".join(_number(v) for v in value[:3])
        return f"[{shown}{', …' if len(value) > 3 else ''}]"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _dict_text(values: dict[str, Any] | None) -> str:
    if not values:
        return ""
    return "  ".join(f"{k} {_number(v)}" for k, v in values.items() if k != "mse_per_epoch")


def row(record: TrainRecord) -> list[str]:
    """The cells of one record's row, as text."""
    ratio = ""
    if record.ratio_to_manual:
        ratio = ratio_text(record.ratio_to_manual, 2)
    status = record.status
    if record.float64_deviation is not None:
        status = "pass (float32 round-off)"
    elif status == "diverged":
        status = f"diverged ({record.message})"
    elif status in ("error", "timeout", "unavailable", "unsupported"):
        status = f"{status}: {record.message}"[:80]
    return [
        record.label,
        "" if record.final_loss is None else f"{record.final_loss:.6g}",
        _dict_text(record.metric),
        _dict_text(record.params),
        seconds_text(record.seconds_per_step, 3) if record.seconds_per_step else "",
        seconds_text(record.cold_s, 2) if record.cold_s else "",
        ratio,
        "" if record.max_deviation is None else sci(record.max_deviation),
        "" if record.parted_at is None else f"step {record.parted_at}",
        status,
    ]


def _groups(report: TrainReport) -> list[tuple[str, list[TrainRecord]]]:
    out = []
    for opt in report.plan.optimizers:
        records = [r for r in report.records if r.optimizer == opt.kind and r.lr == opt.lr]
        if records:
            out.append((opt.label, records))
    return out


def _title(report: TrainReport, label: str) -> str:
    plan = report.plan
    batch = "full batch" if plan.batch_size is None else f"batch {plan.batch_size}"
    return f"{plan.workload.name} · {label} · {plan.steps} steps · {batch} · {plan.dtype}"


def _canonical_lines(report: TrainReport) -> list[str]:
    if not report.canonical_checked:
        return []
    lines = []
    for c in report.plan.workload.canonical:
        got = [r.canonical[c.label] for r in report.records if c.label in r.canonical]
        if not got:
            continue
        holding = sum(1 for g in got if g["holds"])
        values = sorted({f"{g['got']:.6f}" for g in got})
        lines.append(
            f"{c.label}: lesson {c.expected}, got {' / '.join(values)} "
            f"({holding}/{len(got)} runs agree)"
        )
    return lines


#: The table shows parameters up to this many values (the JSON always has them).
SHOWN_PARAMS = 4


def _columns(report: TrainReport) -> list[int]:
    """Indices of the columns shown: ``params`` only for small workloads."""
    small = any(
        r.params
        and sum(len(v) if isinstance(v, list) else 1 for v in r.params.values()) <= SHOWN_PARAMS
        for r in report.records
    )
    return [i for i, name in enumerate(HEADER) if small or name != "params"]


def render_train_tables(report: TrainReport, console: Console) -> None:
    """Draw each optimizer's table, the canonical numbers and the closing line."""
    shown = _columns(report)
    for label, records in _groups(report):
        table = Table(title=_title(report, label), title_justify="left")
        for i in shown:
            name = HEADER[i]
            table.add_column(name, justify="left" if name in ("backend", "status") else "right")
        for r in records:
            cells = [row(r)[i] for i in shown]
            style = _STYLE.get(r.status, "")
            table.add_row(*cells[:-1], Text(cells[-1], style=style))
        console.print(table)
    for line in _canonical_lines(report):
        console.print(f"  {line}")
    console.print(
        "time/step: warm median over every step (after untimed warm-up calls); cold: the first "
        "call (trace, compile); × manual: over the "
        "closed-form step in the same framework; deviation: max|Δθ|/max(1,|θ|) from the "
        "reference trajectory",
        style="dim",
    )
    for finding in report.findings:
        style = "bold red" if finding.severity == "error" else "bold"
        console.print(Text(finding.text, style=style))


class TrainRenderer(Renderer):
    """``train``'s renderer: tables, Markdown, CSV and the JSON document."""

    command = "train"

    def __init__(self, report: TrainReport) -> None:
        self.report = report

    def table(self, console: Console) -> None:
        render_train_tables(self.report, console)

    def markdown(self) -> str:
        parts = []
        for label, records in _groups(self.report):
            parts.append(f"**{_title(self.report, label)}**\n\n")
            shown = _columns(self.report)
            parts.append(
                markdown_table(
                    [HEADER[i] for i in shown], [[row(r)[i] for i in shown] for r in records]
                )
            )
        parts += [f"\n{line}\n" for line in _canonical_lines(self.report)]
        parts.append(f"\n{self.report.summary()}\n")
        return "".join(parts)

    def records(self) -> list[Any]:
        return list(self.report.records)

    def config(self) -> dict[str, Any]:
        return self.report.plan.as_dict()

    def threads(self) -> int | None:
        return self.report.plan.threads

    def device_environment(self) -> dict[str, Any]:
        return {"device": self.report.plan.device}

    def extra(self) -> dict[str, Any]:
        report = self.report
        return {
            "interrupted": report.interrupted,
            "seconds": report.seconds,
            "workers": report.workers,
            "summary": report.summary(),
        }

    def summary(self) -> str | None:
        return self.report.summary()


def plot_losses(report: TrainReport, path: str | Path) -> Path:
    """Loss against step, one line per backend and optimizer (log scale when the losses
    span decades), written atomically to ``path``."""
    from autodiff_bench.model import replace_atomically
    from autodiff_bench.render.plot import _matplotlib, check_plot_path

    _matplotlib()
    import matplotlib.pyplot as plt

    p = check_plot_path(path)
    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    styles = ["-", "--", "-.", ":"]
    positive = True
    for i, (label, losses) in enumerate(report.trajectories().items()):
        steps = range(1, len(losses) + 1)
        ax.plot(steps, losses, styles[i % len(styles)], label=label, linewidth=1.4)
        positive = positive and all(v > 0 for v in losses)
    if positive:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (on the step's batch)")
    ax.set_title(f"adbench train {report.plan.workload.name}")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()

    def write(tmp: str) -> None:
        fig.savefig(tmp, format=p.suffix.lstrip(".").lower() or "png")

    try:
        replace_atomically(p, write)
    finally:
        plt.close(fig)
    return p


__all__ = ["HEADER", "TrainRenderer", "plot_losses", "render_train_tables", "row"]
