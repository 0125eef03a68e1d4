"""Renderers for ``check``: the correctness matrix, its details and its summary line."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from autodiff_bench.check import CheckReport
from autodiff_bench.model import CheckRecord, worst_status
from autodiff_bench.render.base import Renderer
from autodiff_bench.render.common import markdown_table, plural, sci

_STYLE = {
    "pass": "green",
    "reference": "cyan",
    "fail": "bold red",
    "nonfinite": "bold magenta",
    "error": "bold red",
    "timeout": "bold red",
    "unsupported": "dim",
    "unavailable": "dim",
}
_SYMBOL = {
    "pass": "✓",
    "reference": "ref",
    "fail": "✗",
    "nonfinite": "NaN",
    "error": "error",
    "timeout": "timeout",
    "unsupported": "—",
    "unavailable": "n/a",
}


def worst_record(records: list[CheckRecord]) -> CheckRecord | None:
    """The point a cell stands for: among the records of its worst status, the one with the
    largest relative error (a failure without one — a shape — first).  The cell's number
    and its detail line both come from it."""
    if not records:
        return None
    status = worst_status([r.status for r in records])
    return max(
        (r for r in records if r.status == status),
        key=lambda r: math.inf if r.max_rel_error is None else r.max_rel_error,
    )


def cell_summary(records: list[CheckRecord]) -> tuple[str, str]:
    """(status, text) for one matrix cell: the worst status over its points and the largest
    relative error (see :func:`autodiff_bench.correctness.relative_errors`); ``ref`` for the
    closed form's own column."""
    worst = worst_record(records)
    if worst is None:
        return "", ""
    status = worst.status
    if status == "pass" and all(r.is_reference for r in records):
        return "reference", "ref"
    if status == "fail":
        if worst.max_rel_error is None:  # a shape or a dtype: say which
            return status, f"✗ {worst.message.split(';')[0].removeprefix('got ')}"
        return status, f"✗ {worst.mismatched}/{worst.total} {sci(worst.max_rel_error)}"
    if status == "pass":
        return status, f"✓ {sci(worst.max_rel_error)}"
    return status, _SYMBOL[status]


def summary_line(report: CheckReport) -> str:
    """One line a person wants: did everything pass, and what was run."""
    verdict = _verdict(report)
    if report.interrupted:
        done = len({(r.target, r.quantity, r.label) for r in report.records})
        planned = len(report.rows()) * len(report.columns())
        return f"INTERRUPTED after {done} of {planned} cells: {verdict}"
    return verdict


def _verdict(report: CheckReport) -> str:
    counts = report.counts()
    total = sum(counts.values())
    shape = (
        f"{plural(len(report.columns()), 'backend')} × {plural(len(report.rows()), 'row')}, "
        f"canonical + {report.plan.points} random points each, "
        f"{report.plan.dtype}, {report.seconds:.1f} s"
    )
    aside = ("reference", "unsupported", "unavailable")  # neither a pass nor a failure
    skipped = ", ".join(f"{counts[s]} {s}" for s in aside if counts.get(s))
    bad = {s: n for s, n in counts.items() if s != "pass" and s not in aside}
    missing = report.missing_required()
    if report.checked == 0:
        if not bad:
            return f"FAILED: nothing was checked ({skipped or 'no cells'}) — {shape}"
        # Every cell that ran failed before a comparison (errors, timeouts): say so, as the
        # details above list them.
        parts = ", ".join(f"{n} {s}" for s, n in sorted(bad.items()))
        head = f"{parts} {'cell' if sum(bad.values()) == 1 else 'cells'}"
        if skipped:
            head += f" ({skipped})"
        head += "; nothing could be compared"
        if missing:
            head += f"; required backend(s) missing: {', '.join(missing)}"
        return f"FAILED: {head} — {shape}"
    if not bad and not missing:
        head = f"All {counts.get('pass', 0)} checked cells pass"
        if skipped:
            head += f" ({skipped})"
        return f"{head} — {shape}"
    clauses = []
    if bad:
        parts = ", ".join(f"{n} {s}" for s, n in sorted(bad.items()))
        clauses.append(f"{parts} of {total} cells ({counts.get('pass', 0)} pass)")
    if missing:
        clauses.append(f"required backend(s) missing: {', '.join(missing)}")
    return f"FAILED: {'; '.join(clauses)} — {shape}"


def details(report: CheckReport) -> list[str]:
    """Lines explaining each failing cell (its worst point), the closed-form suspects, the
    notes and the missing backends."""
    lines = []
    for target, quantity in report.rows():
        for label in report.columns():
            recs = report.cell(target, quantity, label)
            bad = [r for r in recs if r.status in ("fail", "nonfinite", "error", "timeout")]
            r = worst_record(recs)
            if not bad or r is None:
                continue
            errs = ""
            if r.status == "fail" and r.max_abs_error is not None:
                # The cell's number, at the cell's precision: one figure, one definition.
                errs = f" (max abs {sci(r.max_abs_error, 2)}, max rel {sci(r.max_rel_error)})"
            where = (
                f"at {r.point}"
                if len(bad) == 1
                else f"{len(bad)}/{len(recs)} points, worst at {r.point}"
            )
            lines.append(f"{target} {quantity} [{label}] {where}: {r.status}: {r.message}{errs}")
    suspects: dict[tuple[str, str], list[str]] = {}
    backends: dict[tuple[str, str], list[str]] = {}
    for s in report.suspects:
        suspects.setdefault((s.target, s.quantity), []).append(s.point)
        backends[(s.target, s.quantity)] = s.backends
    for (target, quantity), points in suspects.items():
        agreeing = backends[(target, quantity)]
        lines.append(
            f"{target} {quantity}: the closed form is the suspect — {len(agreeing)} AD backends "
            f"({', '.join(agreeing)}) agree with each other but not with it "
            f"(at {', '.join(points)})"
        )
    lines += [f"reference: {note.text}" for note in report.references]
    notes: dict[tuple[str, str], list[str]] = {}
    for r in report.records:
        if r.status == "pass" and r.message:
            cells = notes.setdefault((r.label, r.message), [])
            if f"{r.target} {r.quantity}" not in cells:
                cells.append(f"{r.target} {r.quantity}")
    for (label, message), cells in notes.items():
        lines.append(f"note: {label} {message} ({', '.join(cells)})")
    seen = set()
    for r in report.records:
        if r.status == "unavailable" and r.label not in seen:
            seen.add(r.label)
            lines.append(f"{r.label}: unavailable — {r.message}")
    lines += unsupported_reasons(report.records)
    return lines


#: Cells named per reason before "and N more".
SHOWN_CELLS = 6


def unsupported_reasons(records: list[CheckRecord]) -> list[str]:
    """Why each ``—`` cell is empty: one line per backend and reason, with the cells."""
    reasons: dict[tuple[str, str], list[str]] = {}
    for r in records:
        if r.status == "unsupported":
            cells = reasons.setdefault((r.label, r.message or "not supported"), [])
            if f"{r.target} {r.quantity}" not in cells:
                cells.append(f"{r.target} {r.quantity}")
    lines = []
    for (label, message), cells in reasons.items():
        shown = ", ".join(cells[:SHOWN_CELLS])
        if len(cells) > SHOWN_CELLS:
            shown += f" and {len(cells) - SHOWN_CELLS} more"
        lines.append(f"— {label}: {message} ({shown})")
    return lines


def render_check_table(report: CheckReport, console: Console) -> None:
    """The matrix (rows target × quantity, columns backends), details, summary."""
    table = Table(title=f"adbench check ({report.plan.dtype})", title_justify="left")
    table.add_column("target")
    table.add_column("quantity")
    for label in report.columns():
        table.add_column(label, justify="right", no_wrap=True)
    suspect_rows = {(s.target, s.quantity) for s in report.suspects}
    previous = None
    for target, quantity in report.rows():
        cells = []
        for label in report.columns():
            status, text = cell_summary(report.cell(target, quantity, label))
            cells.append(Text(text, style=_STYLE.get(status, "")))
        name = target if target != previous else ""
        previous = target
        q = quantity + (" (closed form suspect)" if (target, quantity) in suspect_rows else "")
        table.add_row(name, q, *cells)
    console.print(table)
    for line in details(report):
        console.print(Text(line))
    ok = report.exit_code == 0
    console.print(Text(summary_line(report), style="bold green" if ok else "bold red"))


def check_markdown(report: CheckReport) -> str:
    """The matrix as Markdown, then details and the summary line."""
    header = ["target", "quantity", *report.columns()]
    rows = [
        [t, q, *(cell_summary(report.cell(t, q, lab))[1] for lab in report.columns())]
        for t, q in report.rows()
    ]
    text = markdown_table(header, rows)
    extra = details(report)
    if extra:
        text += "\n" + "\n".join(f"- {line}" for line in extra) + "\n"
    return text + f"\n**{summary_line(report)}**\n"


class CheckRenderer(Renderer):
    """Every format of a check run."""

    command = "check"

    def __init__(self, report: CheckReport) -> None:
        self.report = report

    def table(self, console: Console) -> None:
        render_check_table(self.report, console)

    def markdown(self) -> str:
        return check_markdown(self.report)

    def records(self) -> list[Any]:
        return list(self.report.records)

    def config(self) -> dict[str, Any]:
        return self.report.plan.as_dict()

    def device_environment(self) -> dict[str, Any]:
        return self.report.environment

    def extra(self) -> dict[str, Any]:
        return {
            "suspects": [asdict(s) for s in self.report.suspects],
            "references": [asdict(n) for n in self.report.references],
            "seconds": self.report.seconds,
            "interrupted": self.report.interrupted,
        }

    def summary(self) -> str | None:
        return summary_line(self.report)
