"""Renderers for ``time``: one table per target, each cell in its own unit with the digits its
noise supports, noisy cells marked, a line per target × size × quantity that names a winner
only beyond the noise and says what autodiff costs over the hand-written derivative,
hyperfine-style warnings and the summary line, Markdown and JSON.

They read a :class:`~autodiff_bench.timing.TimeReport`; every figure they show was
measured or derived by the engine.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, NamedTuple

from rich.console import Console
from rich.table import Table
from rich.text import Text

from autodiff_bench.model import TimeRecord
from autodiff_bench.model.records import NOISY_IQR
from autodiff_bench.render.base import Renderer
from autodiff_bench.render.common import markdown_table, plural, ratio_text, seconds_text, trim
from autodiff_bench.timing import REFERENCE, Highlight, TimeReport

_STATUS_TEXT = {"unsupported": "—", "unavailable": "n/a", "error": "error", "timeout": "timeout"}
_STATUS_STYLE = {
    "error": "bold red",
    "timeout": "bold red",
    "unsupported": "dim",
    "unavailable": "dim",
}


def human_seconds(seconds: float | None, digits: int = 2) -> str:
    """A duration in its own unit: ``52 ms``, ``3.1 µs``."""
    return seconds_text(seconds, digits)


class CellText(NamedTuple):
    """The text of one table cell, line by line."""

    #: The median in its own unit (``±p%`` when noisy), or the status.
    median: str
    #: ``×k f`` (k times the same backend's f) and ``×m manual`` (m times the closed form
    #: the record was compared with), each at the digits both medians' noise supports.
    ratios: str
    #: ``cold 52 ms``: the first call.
    cold: str
    #: The rich style of the median.
    style: str


def cell_parts(record: TimeRecord | None, report: TimeReport | None = None) -> CellText:
    """The text of one cell.  With the report, a ratio's digits account for the noise of
    the median it was taken against too; without it, for the cell's own."""
    if record is None:
        return CellText("", "", "", "")
    if record.status != "pass" or record.median_s is None:
        text = _STATUS_TEXT.get(record.status, record.status)
        return CellText(text, "", "", _STATUS_STYLE.get(record.status, ""))
    median = seconds_text(record.median_s, record.significant_figures)
    if record.noisy:
        median += f" ±{record.relative_iqr:.0%}"
    ratios = []
    if record.quantity != "primal":
        for name, short in (("ratio_to_primal", "f"), ("ratio_to_manual", "manual")):
            value = getattr(record, name)
            if not value or (short == "manual" and record.backend == REFERENCE):
                continue
            digits = report.ratio_figures(record, name) if report else record.significant_figures
            ratios.append(f"{ratio_text(value, digits)} {short}")
    cold = f"cold {human_seconds(record.cold_s)}" if record.cold_s is not None else ""
    return CellText(median, "  ".join(ratios), cold, "yellow" if record.noisy else "")


def _rows(report: TimeReport, target: Any) -> list[tuple[int | None, str]]:
    return [(n, q) for n in report.plan.sizes_of(target) for q in report.plan.quantities_of(target)]


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
    """``least_squares grad at n=1000: jax ran 3.1× faster than torch; autodiff costs 3.8×
    the hand-written derivative in torch, 1.1× in jax`` — a winner only beyond the noise
    (``jax and torch were about as fast`` otherwise); empty when there is nothing to say."""
    where = f"{h.target} {h.quantity}" + ("" if h.size is None else f" at n={h.size}")
    parts = []
    if h.fastest_autodiff and h.runner_up and h.speedup is not None:
        if h.separated:
            # A named winner is ≥ MIN_SPEEDUP ahead beyond the noise: "1×" would contradict it.
            digits = h.speedup_figures if h.speedup >= 1.5 else max(h.speedup_figures, 2)
            parts.append(
                f"{h.fastest_autodiff} ran {trim(h.speedup, digits)}× faster than {h.runner_up}"
            )
        else:
            pair = [x for x in h.autodiff if x in (h.fastest_autodiff, h.runner_up)]
            parts.append(f"{' and '.join(pair)} were about as fast")
    elif h.fastest_autodiff and not h.to_manual:
        parts.append(f"{h.fastest_autodiff} was the only autodiff backend measured")
    if h.to_manual:
        costs = [f"{trim(ratio, digits)}× in {label}" for label, ratio, digits in h.to_manual]
        costs[0] = costs[0].replace(" in ", " the hand-written derivative in ", 1)
        parts.append("autodiff costs " + ", ".join(costs))
    return f"{where}: " + "; ".join(parts) if parts else ""


def highlight_lines(report: TimeReport, target: str | None = None) -> list[str]:
    """Every non-empty highlight line (of one target, or of all)."""
    lines = _lines_by_target(report)
    return [line for name, found in lines.items() if target in (None, name) for line in found]


def _lines_by_target(report: TimeReport) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for h in report.highlights():
        line = highlight_line(h)
        if line:
            out.setdefault(h.target, []).append(line)
    return out


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
    "Cells: warm median per call, each in its own unit, with the digits its noise supports; "
    "×k f: k times the same backend's f; ×m manual: m times the hand-written derivative "
    "(the closed form) it was compared with; cold: the first call (trace, compile, cache "
    "fill), not in the median; ±p%: noisy (IQR/median); growth: time ∝ nᵏ fitted over the "
    "sizes. A winner is named only beyond the noise (README: Timing)."
)


def _title(target: Any) -> str:
    return f"{target.name}: {target.formula}  (warm median per call)"


def _exponent(k: float) -> str:
    # -0.001 would print as "-0.00": a flat line is a flat line.
    return f"n^{0.0 if abs(k) < 0.005 else k:.2f}"


def _measured_targets(report: TimeReport) -> list[Any]:
    measured = {r.target for r in report.records}
    return [t for t in report.plan.targets if t.name in measured]


def render_time_tables(report: TimeReport, console: Console) -> None:
    """One table per target, its highlight lines, then warnings and the summary line."""
    highlights = _lines_by_target(report)
    for target in _measured_targets(report):
        table = Table(title=_title(target), title_justify="left")
        table.add_column("size", justify="right")
        table.add_column("quantity")
        for label in report.columns():
            table.add_column(label, justify="right", no_wrap=True)
        previous = object()
        for size, quantity in _rows(report, target):
            cells = []
            for label in report.columns():
                part = cell_parts(report.get(target.name, size, quantity, label), report)
                text = Text(part.median, style=part.style)
                if part.ratios:
                    text.append(f"\n{part.ratios}", style="cyan")
                if part.cold:
                    text.append(f"\n{part.cold}", style="dim")
                cells.append(text)
            shown = _size_text(size) if size != previous else ""
            previous = size
            table.add_row(shown, quantity, *cells)
        growth = _growth_rows(report, target)
        for i, (quantity, exponents) in enumerate(growth):
            table.add_row("growth" if i == 0 else "", quantity, *exponents, end_section=False)
        console.print(table)
        for line in highlights.get(target.name, []):
            console.print(Text(line, style="bold"))
        console.print()
    if report.records:
        console.print(Text(LEGEND, style="dim"))
    for line in warnings(report):
        console.print(Text(line, style="yellow" if line.startswith("Warning") else "red"))
    bad = report.failed or report.interrupted
    console.print(Text(summary_line(report), style="bold red" if bad else "bold green"))


def markdown_cell(part: CellText) -> str:
    """One cell as Markdown: the table's lines joined (``median ratios · cold``)."""
    head = " ".join(p for p in (part.median, part.ratios) if p)
    return head + (f" · {part.cold}" if part.cold else "")


def time_markdown(report: TimeReport) -> str:
    """Every table as Markdown with its highlight lines, then warnings and the summary."""
    highlights = _lines_by_target(report)
    out = []
    for target in _measured_targets(report):
        header = ["size", "quantity", *report.columns()]
        rows = []
        for size, quantity in _rows(report, target):
            row = [_size_text(size), quantity]
            for label in report.columns():
                part = cell_parts(report.get(target.name, size, quantity, label), report)
                row.append(markdown_cell(part))
            rows.append(row)
        for quantity, cells in _growth_rows(report, target):
            rows.append(["growth", quantity, *cells])
        section = f"### {_title(target)}\n\n" + markdown_table(header, rows)
        lines = highlights.get(target.name, [])
        if lines:
            section += "\n" + "\n".join(f"- {line}" for line in lines) + "\n"
        out.append(section)
    text = "\n".join(out) + (f"\n{LEGEND}\n" if out else "")
    notes = warnings(report)
    if notes:
        text += "\n" + "\n".join(f"- {line}" for line in notes) + "\n"
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
    "LEGEND",
    "CellText",
    "TimeRenderer",
    "cell_parts",
    "highlight_line",
    "highlight_lines",
    "human_seconds",
    "markdown_cell",
    "render_time_tables",
    "summary_line",
    "time_markdown",
    "warnings",
]
