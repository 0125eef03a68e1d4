"""Renderers for ``time``: one table per target in one unit, digits trimmed to what the noise
supports, noisy cells marked, hyperfine-style warnings and summary lines, Markdown and JSON.

They read a :class:`~autodiff_bench.timing.TimeReport`; every figure they show was
measured or derived by the engine.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from autodiff_bench.model import TimeRecord
from autodiff_bench.model.records import NOISY_IQR
from autodiff_bench.render.base import Renderer
from autodiff_bench.render.common import markdown_table, pick_unit, plural, trim
from autodiff_bench.timing import Highlight, TimeReport

_STATUS_TEXT = {"unsupported": "—", "unavailable": "n/a", "error": "error", "timeout": "timeout"}
_STATUS_STYLE = {
    "error": "bold red",
    "timeout": "bold red",
    "unsupported": "dim",
    "unavailable": "dim",
}


def human_seconds(seconds: float | None, digits: int = 2) -> str:
    """A duration in its own unit: ``52 ms``, ``3.1 µs``."""
    if seconds is None:
        return "—"
    name, scale = pick_unit([seconds])
    return f"{trim(seconds / scale, digits)} {name}"


def _ratio(value: float | None) -> str:
    if value is None:
        return ""
    return f"×{trim(value, 2)}" if value < 100 else f"×{value:.0f}"


def cell_parts(record: TimeRecord | None, scale: float) -> tuple[str, str, str, str]:
    """(median, ratio to the backend's f, cold, style) of one table cell."""
    if record is None:
        return "", "", "", ""
    if record.status != "pass" or record.median_s is None:
        text = _STATUS_TEXT.get(record.status, record.status)
        return text, "", "", _STATUS_STYLE.get(record.status, "")
    digits = record.significant_figures
    median = trim(record.median_s / scale, digits)
    if record.noisy:
        median += f" ±{record.relative_iqr:.0%}"
    ratio = "" if record.quantity == "primal" else _ratio(record.ratio_to_primal)
    cold = f"cold {human_seconds(record.cold_s)}"
    return median, ratio, cold, "yellow" if record.noisy else ""


def _rows(report: TimeReport, target: Any) -> list[tuple[int | None, str]]:
    return [(n, q) for n in report.plan.sizes_of(target) for q in report.plan.quantities_of(target)]


def _target_unit(report: TimeReport, name: str) -> tuple[str, float]:
    return pick_unit(
        [r.median_s for r in report.records if r.target == name and r.median_s is not None]
    )


def _size_text(size: int | None) -> str:
    return "—" if size is None else str(size)


def _growth_rows(report: TimeReport, target: Any) -> list[tuple[str, list[str]]]:
    """(quantity, one ``n^k`` per column) for every quantity with a fit."""
    out = []
    for q in report.plan.quantities_of(target):
        cells = []
        for label in report.columns():
            g = report.fit(target.name, q, label)
            cells.append("" if g is None else _exponent(g.exponent))
        if any(cells):
            out.append((q, cells))
    return out


def highlight_line(h: Highlight) -> str:
    """``least_squares grad at n=1000: jax ran 3.1× faster than torch; manual was fastest``."""
    where = f"{h.target} {h.quantity}" + ("" if h.size is None else f" at n={h.size}")
    parts = []
    if h.fastest_autodiff and h.runner_up and h.speedup is not None:
        parts.append(f"{h.fastest_autodiff} ran {trim(h.speedup, 2)}× faster than {h.runner_up}")
    elif h.fastest_autodiff:
        parts.append(f"{h.fastest_autodiff} was the only autodiff backend measured")
    fastest = h.ranking[0][0]
    if h.autodiff_over_manual is not None:
        r = h.autodiff_over_manual
        if abs(r - 1) < 0.05:  # closer than the noise of most cells: no winner to name
            parts.append(f"{h.fastest_autodiff} and manual were about as fast")
        elif fastest == "manual":
            parts.append(f"manual was fastest ({trim(r, 2)}× faster than {h.fastest_autodiff})")
        else:
            parts.append(f"{fastest} was fastest, {trim(1 / r, 2)}× faster than manual")
    elif not parts:
        parts.append(f"{fastest} was fastest")
    noisy = [label for label, _, is_noisy in h.ranking[:3] if is_noisy]
    tail = f" (noisy: {', '.join(noisy)})" if noisy else ""
    return f"{where}: " + "; ".join(parts) + tail


def summary_line(report: TimeReport) -> str:
    """The closing line: how much was timed, how long it took, what went wrong."""
    counts = report.counts()
    n_targets = len(report.plan.targets)
    threads = report.plan.threads
    shape = (
        f"{plural(len(report.records), 'cell')} ({plural(n_targets, 'target')}, "
        f"{plural(len(report.columns()), 'backend')}) in {report.seconds:.1f} s, "
        f"{plural(threads, 'thread')}, {report.plan.dtype}"
    )
    problems = [f"{counts[s]} {s}" for s in ("error", "timeout") if counts.get(s)]
    skipped = [f"{counts[s]} {s}" for s in ("unsupported", "unavailable") if counts.get(s)]
    noisy = len(report.noisy())
    if noisy:
        skipped.append(f"{noisy} noisy")
    head = "Timed" if not problems else "FAILED: " + ", ".join(problems) + " —"
    line = f"{head} {shape}" + (f" ({', '.join(skipped)})" if skipped else "")
    if report.interrupted:
        line = f"INTERRUPTED after {len(report.records)} of {report.planned} cells — " + line
    return line


def warnings(report: TimeReport) -> list[str]:
    """Honest notes: noisy cells, failed cells, unavailable backends."""
    lines = []
    noisy = report.noisy()
    if noisy:
        lines.append(
            f"Warning: {len(noisy)} cell(s) are noisy (IQR > {NOISY_IQR:.0%} of the median, "
            "shown ±IQR/median): their medians are doubtful. A larger --budget, fewer "
            "threads or a quieter machine helps."
        )
    seen = set()
    for r in report.records:
        size = "" if r.size is None else f" n={r.size}"
        if r.status in ("error", "timeout"):
            lines.append(f"{r.target}{size} {r.quantity} [{r.label}]: {r.status}: {r.message}")
        elif r.status == "unavailable" and r.label not in seen:
            seen.add(r.label)
            lines.append(f"{r.label}: unavailable — {r.message}")
    return lines


#: What a cell shows, printed once under the tables.
LEGEND = (
    "Cells: warm median per call in the table's unit; ×k: k times the same backend's f; "
    "cold: the first call (trace, compile, cache fill), not in the median; ±p%: noisy "
    "(IQR/median); growth: time ∝ nᵏ fitted over the sizes."
)


def _title(report: TimeReport, target: Any, unit: str) -> str:
    return f"{target.name}: {target.formula}  ({unit} per call)"


def _exponent(k: float) -> str:
    # -0.001 would print as "-0.00": a flat line is a flat line.
    return f"n^{0.0 if abs(k) < 0.005 else k:.2f}"


def render_time_tables(report: TimeReport, console: Console) -> None:
    """One table per target, its highlight line, then warnings and the summary line."""
    highlights = {h.target: h for h in report.highlights()}
    for target in report.plan.targets:
        if not any(r.target == target.name for r in report.records):
            continue
        unit, scale = _target_unit(report, target.name)
        table = Table(title=_title(report, target, unit), title_justify="left")
        table.add_column("size", justify="right")
        table.add_column("quantity")
        for label in report.columns():
            table.add_column(label, justify="right", no_wrap=True)
        previous = object()
        for size, quantity in _rows(report, target):
            cells = []
            for label in report.columns():
                median, ratio, cold, style = cell_parts(
                    report.get(target.name, size, quantity, label), scale
                )
                text = Text(median, style=style)
                if ratio:
                    text.append(f" {ratio}", style="cyan")
                if cold:
                    text.append(f"\n{cold}", style="dim")
                cells.append(text)
            shown = _size_text(size) if size != previous else ""
            previous = size
            table.add_row(shown, quantity, *cells)
        growth = _growth_rows(report, target)
        for i, (quantity, exponents) in enumerate(growth):
            table.add_row("growth" if i == 0 else "", quantity, *exponents, end_section=False)
        console.print(table)
        if target.name in highlights:
            console.print(Text(highlight_line(highlights[target.name]), style="bold"))
        console.print()
    if report.records:
        console.print(Text(LEGEND, style="dim"))
    for line in warnings(report):
        console.print(Text(line, style="yellow" if line.startswith("Warning") else "red"))
    bad = report.failed or report.interrupted
    console.print(Text(summary_line(report), style="bold red" if bad else "bold green"))


def time_markdown(report: TimeReport) -> str:
    """Every table as Markdown (cells: median ×ratio · cold), highlights and the summary."""
    out = []
    for target in report.plan.targets:
        if not any(r.target == target.name for r in report.records):
            continue
        unit, scale = _target_unit(report, target.name)
        header = ["size", "quantity", *report.columns()]
        rows = []
        for size, quantity in _rows(report, target):
            row = [_size_text(size), quantity]
            for label in report.columns():
                median, ratio, cold, _ = cell_parts(
                    report.get(target.name, size, quantity, label), scale
                )
                row.append(
                    " ".join(p for p in (median, ratio) if p) + (f" · {cold}" if cold else "")
                )
            rows.append(row)
        for quantity, cells in _growth_rows(report, target):
            rows.append(["growth", quantity, *cells])
        out.append(f"### {_title(report, target, unit)}\n\n" + markdown_table(header, rows))
    lines = [highlight_line(h) for h in report.highlights()] + warnings(report)
    text = "\n".join(out) + (f"\n{LEGEND}\n" if out else "")
    if lines:
        text += "\n" + "\n".join(f"- {line}" for line in lines) + "\n"
    return text + f"\n**{summary_line(report)}**\n"


class TimeRenderer(Renderer):
    """Every format of a time run (partial when interrupted)."""

    command = "time"

    def __init__(self, report: TimeReport) -> None:
        self.report = report

    def table(self, console: Console) -> None:
        render_time_tables(self.report, console)

    def markdown(self) -> str:
        return time_markdown(self.report)

    def records(self) -> list[Any]:
        return list(self.report.records)

    def config(self) -> dict[str, Any]:
        return self.report.plan.as_dict()

    def threads(self) -> int | None:
        return self.report.plan.threads

    def device_environment(self) -> dict[str, Any]:
        return self.report.environment

    def extra(self) -> dict[str, Any]:
        report = self.report
        return {
            "interrupted": report.interrupted,
            "cells_planned": report.planned,
            "seconds": report.seconds,
            "workers": report.workers,
            "growth": [asdict(g) for g in report.growth],
            "highlights": [asdict(h) for h in report.highlights()],
        }

    def summary(self) -> str | None:
        return summary_line(self.report)


__all__ = [
    "TimeRenderer",
    "cell_parts",
    "highlight_line",
    "human_seconds",
    "render_time_tables",
    "summary_line",
    "time_markdown",
    "warnings",
]
