"""Renderers for ``show``: the formula, closed forms and values side by side."""

from __future__ import annotations

from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from rich.text import Text

from autodiff_bench.pytree import tolist
from autodiff_bench.render.base import Renderer
from autodiff_bench.render.common import markdown_table
from autodiff_bench.show import ShowResult

_STYLE = {"pass": "green", "fail": "bold red", "nonfinite": "bold magenta", "error": "bold red"}


def format_value(value: Any) -> str:
    """A scalar with all 17 significant digits; arrays compactly."""
    if value is None:
        return "—"
    a = np.asarray(value, dtype=np.float64)
    if a.ndim == 0:
        return f"{float(a):.17g}"
    return np.array2string(a, precision=6, suppress_small=True, max_line_width=60)


def _point_text(result: ShowResult) -> str:
    p = result.point
    if result.target.is_scalar:
        return f"x = {float(p.x):.17g}"
    if p.layout is not None:
        return f"{p.label or 'point'}: variables {p.layout.describe()}"
    return f"{p.label or 'point'}: x has shape {p.x.shape}"


def _cell(result: ShowResult, quantity: str, label: str) -> tuple[str, str]:
    r = result.get(quantity, label)
    if r is None:
        return "", ""
    if r.status in ("pass", "fail", "nonfinite"):
        return r.status, format_value(r.value)
    return r.status, r.status


def render_show(result: ShowResult, console: Console) -> None:
    """Header, closed forms, the value table and the notes."""
    t = result.target
    console.print(Text(f"{t.name}: f = {t.formula}", style="bold"))
    for q in t.quantities:
        text = t.closed_form_text.get(q)
        if text:
            # Text, not markup: a formula such as 2/N · [x 1]ᵀ[x 1] has brackets.
            console.print(Text(f"  {q} = {text}"))
    device = "" if result.plan.device == "cpu" else f", {result.plan.device}"
    console.print(Text(f"at {_point_text(result)} ({result.plan.dtype}{device})"))
    table = Table()
    table.add_column("backend")
    for q in result.quantities:
        table.add_column("f" if q == "primal" else q, justify="right", overflow="fold")
    for b in result.plan.backends:
        cells = []
        for q in result.quantities:
            status, text = _cell(result, q, b.label)
            cells.append(Text(text, style=_STYLE.get(status, "dim")))
        table.add_row(b.label, *cells)
    console.print(table)
    for name, value in result.notes.items():
        console.print(Text(f"{name}: {value:.3e}"))
    for line in problem_lines(result):
        console.print(Text(line))


def problem_lines(result: ShowResult) -> list[str]:
    """One line per backend and problem: ``torch: unavailable: …`` when it concerns every
    quantity (a backend that cannot run on the device), else naming the quantities."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for r in result.records:
        if r.status != "pass" and r.message:
            groups.setdefault((r.label, r.status, r.message), []).append(r.quantity)
    lines = []
    for (label, status, message), quantities in groups.items():
        every = len(quantities) == len(result.quantities)
        which = label if every else f"{label} {', '.join(quantities)}"
        lines.append(f"{which}: {status}: {message}")
    return lines


def show_markdown(result: ShowResult) -> str:
    """The value table as Markdown."""
    rows = [
        [b.label, *(_cell(result, q, b.label)[1] for q in result.quantities)]
        for b in result.plan.backends
    ]
    head = f"**{result.target.name}**: f = {result.target.formula}, at {_point_text(result)}\n\n"
    header = ["backend", *("f" if q == "primal" else q for q in result.quantities)]
    return head + markdown_table(header, rows)


class ShowRenderer(Renderer):
    """Every format of a show run."""

    command = "show"

    def __init__(self, result: ShowResult) -> None:
        self.result = result

    def table(self, console: Console) -> None:
        render_show(self.result, console)

    def markdown(self) -> str:
        return show_markdown(self.result)

    def records(self) -> list[Any]:
        return list(self.result.records)

    def config(self) -> dict[str, Any]:
        point = self.result.point
        return {
            **self.result.plan.as_dict(),
            "point": {"label": point.label, "x": tolist(point.x)},
        }

    def device_environment(self) -> dict[str, Any]:
        return self.result.environment

    def extra(self) -> dict[str, Any]:
        return {"notes": self.result.notes}
