"""Renderers for ``compare``: the changed cells, what differs between the runs, and a
one-line verdict — as a terminal table, Markdown for a CI job summary, JSON and CSV.
They format the engine's :class:`~autodiff_bench.compare.Comparison`; they decide nothing."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from autodiff_bench.compare import CellChange, Comparison, Difference
from autodiff_bench.model import CellKey
from autodiff_bench.render.base import Renderer
from autodiff_bench.render.common import markdown_table, pick_unit, sci, trim

_SYMBOL = {
    "broken": "✗ broken",
    "slower": "▲ slower",
    "fixed": "✓ fixed",
    "faster": "▼ faster",
    "noisy": "~ within noise",
    "changed": "• changed",
}
_STYLE = {
    "broken": "bold red",
    "slower": "bold red",
    "fixed": "green",
    "faster": "green",
    "noisy": "yellow",
    "changed": "dim",
}
HEADER = [
    "change",
    "target",
    "quantity",
    "backend",
    "cell",
    "BASE",
    "NEW",
    "NEW/BASE",
    "noise",
    "test",
]
#: What the target and quantity columns hold in a command's cells (a train run's cell is a
#: workload trained with an optimizer).
_HEADINGS = {"train": ("workload", "optimizer")}
#: How many cells present in only one file the terminal lists by name (Markdown lists all).
LISTED = 12


def header_for(cmp: Comparison) -> list[str]:
    """:data:`HEADER`, with the target and quantity columns named as the command names them."""
    target, quantity = _HEADINGS.get(cmp.command, ("target", "quantity"))
    return [target if h == "target" else quantity if h == "quantity" else h for h in HEADER]


def verdict_line(cmp: Comparison) -> str:
    """The one line a CI log needs: regression or not, and what was compared."""
    cells = len(cmp.cells)
    scope = f"{cells} common {cmp.command} cell{'s' if cells != 1 else ''}"
    if cmp.base_runs > 1 or cmp.new_runs > 1:
        scope += f" ({_runs_text(cmp.base_runs)} vs {_runs_text(cmp.new_runs)})"
    if cmp.metric is not None:
        scope += f", {cmp.metric}, max slowdown {cmp.max_slowdown:g}×, α={cmp.alpha:g}"
    elsewhere = [
        f"{len(keys)} only in {name}"
        for keys, name in ((cmp.only_in_base, "BASE"), (cmp.only_in_new, "NEW"))
        if keys
    ]
    tail = f" ({'; '.join(elsewhere)})" if elsewhere else ""
    counts = cmp.counts()
    regressions = cmp.regressions()
    if regressions:
        bad = [f"{counts[k]} {k}" for k in ("broken", "slower") if counts.get(k)]
        return f"REGRESSION: {', '.join(bad)} — {scope}{tail}"
    news = [f"{n} {_SYMBOL[k].split(' ', 1)[1]}" for k, n in counts.items() if k in _SYMBOL]
    if not news:
        return f"OK: no changes — {scope}{tail}"
    return f"OK: no regression ({', '.join(news)}) — {scope}{tail}"


def _runs_text(n: int) -> str:
    return "1 run" if n == 1 else f"{n} runs"


def _unit(cmp: Comparison) -> tuple[float, str]:
    values = [v for c in cmp.changed() for v in (c.base_value, c.new_value) if v is not None]
    name, scale = pick_unit(values)
    return scale, name


def _value(
    c: CellChange, value: float | None, status: str, error: float | None, unit: tuple[float, str]
) -> str:
    if c.command == "check" or c.kind in ("broken", "fixed", "changed"):
        if status in ("pass", "fail") and error is not None:
            return f"{status} {sci(error)}"
        return status
    if value is None:
        return status
    if c.metric == "median_s":
        return f"{trim(value / unit[0], 3)} {unit[1]}"
    return f"{trim(value, 3)}×"


def _cell_text(c: CellChange) -> str:
    return c.key.where


def _test_text(c: CellChange) -> str:
    if c.test is None:
        return ""
    text = (
        c.test
        if c.p_value is None
        else f"p={c.p_value:.2g} ({c.test.replace('mann-whitney ', 'U ')})"
    )
    if c.every_run is False:
        text += ", not in every run"
    return text


def change_rows(cmp: Comparison) -> list[list[str]]:
    """One row per changed cell, in :data:`HEADER` order."""
    unit = _unit(cmp)
    rows = []
    for c in cmp.changed():
        rows.append(
            [
                _SYMBOL[c.kind],
                c.target,
                c.quantity,
                c.label,
                _cell_text(c),
                _value(c, c.base_value, c.base_status, c.base_error, unit),
                _value(c, c.new_value, c.new_status, c.new_error, unit),
                "" if c.factor is None else f"{c.factor:.2f}×",
                "" if c.noise is None else f"±{100 * c.noise:.0f}%",
                _test_text(c),
            ]
        )
    return rows


def _pooled(cmp: Comparison) -> str:
    if cmp.base_runs == 1 and cmp.new_runs == 1:
        return ""
    return f" ({_runs_text(cmp.base_runs)} vs {_runs_text(cmp.new_runs)}, samples pooled)"


def _sides(cmp: Comparison) -> str:
    return f"{cmp.base} → {cmp.new}{_pooled(cmp)}"


def _difference_text(d: Difference) -> str:
    def short(v: Any) -> str:
        text = "—" if v is None else str(v)
        return text if len(text) <= 60 else text[:57] + "…"

    return f"{d.key}: {short(d.base)} → {short(d.new)}"


def detail_lines(cmp: Comparison) -> list[str]:
    """Why each broken or changed cell changed (its message in NEW)."""
    return [
        f"{c.key.text}: {c.base_status} → {c.new_status}: {c.message}"
        for c in cmp.changed()
        if c.kind in ("broken", "changed") and c.message
    ]


def without_metric_line(cmp: Comparison) -> str:
    """A note on the cells whose timing could not be compared."""
    return (
        f"{cmp.without_metric} passing cells have no {cmp.metric} in one of the files: "
        "compared by status only"
    )


def _keys_text(keys: list[CellKey], limit: int | None) -> list[str]:
    shown = keys if limit is None else keys[:limit]
    lines = [k.text for k in shown]
    if len(keys) > len(shown):
        lines.append(f"… and {len(keys) - len(shown)} more")
    return lines


def render_compare_table(cmp: Comparison, console: Console) -> None:
    """Differences between the runs, warnings, the changed cells, the one-sided cells and
    the verdict."""
    console.print(Text(f"adbench compare ({cmp.command}): {_sides(cmp)}", style="bold"))
    for title, diffs in (("environment differs", cmp.environment), ("config differs", cmp.config)):
        if diffs:
            console.print(Text(f"{title}:", style="bold"))
            for d in diffs:
                console.print(Text(f"  {_difference_text(d)}"))
    for w in cmp.warnings:
        console.print(Text(f"warning: {w}", style="yellow"))
    rows = change_rows(cmp)
    if rows:
        table = Table(title="changed cells", title_justify="left")
        for i, name in enumerate(header_for(cmp)):
            table.add_column(name, justify="right" if i >= 5 else "left", no_wrap=i >= 5)
        for c, row in zip(cmp.changed(), rows, strict=True):
            table.add_row(Text(row[0], style=_STYLE[c.kind]), *row[1:])
        console.print(table)
    for line in detail_lines(cmp):
        console.print(Text(line))
    if cmp.without_metric:
        console.print(Text(without_metric_line(cmp), style="dim"))
    for keys, name in ((cmp.only_in_base, "BASE"), (cmp.only_in_new, "NEW")):
        if keys:
            console.print(Text(f"only in {name} (listed, not failed): {len(keys)} cells"))
            for line in _keys_text(keys, LISTED):
                console.print(Text(f"  {line}"))
    ok = cmp.exit_code == 0
    console.print(Text(verdict_line(cmp), style="bold green" if ok else "bold red"))


def compare_markdown(cmp: Comparison) -> str:
    """A GitHub job summary: a heading, the verdict, what differs, the changed cells."""
    icon = "✅" if cmp.exit_code == 0 else "❌"
    out = [f"### {icon} adbench compare: `{cmp.command}`\n", f"**{verdict_line(cmp)}**\n"]
    out.append(f"BASE `{cmp.base}` → NEW `{cmp.new}`{_pooled(cmp)}\n")
    for w in cmp.warnings:
        out.append(f"> ⚠️ {w}\n")
    diffs = [*cmp.environment, *(Difference(f"config.{d.key}", d.base, d.new) for d in cmp.config)]
    if diffs:
        out.append("Differences between the runs:\n")
        out.append("\n".join(f"- `{_difference_text(d)}`" for d in diffs) + "\n")
    rows = change_rows(cmp)
    if rows:
        out.append(markdown_table(header_for(cmp), rows))
    details = detail_lines(cmp)
    if details:
        out.append("\n".join(f"- {line}" for line in details) + "\n")
    if cmp.without_metric:
        out.append(without_metric_line(cmp) + "\n")
    for keys, name in ((cmp.only_in_base, "BASE"), (cmp.only_in_new, "NEW")):
        if keys:
            items = "\n".join(f"- {line}" for line in _keys_text(keys, None))
            out.append(
                f"<details><summary>{len(keys)} cells only in {name} (listed, not failed)"
                f"</summary>\n\n{items}\n\n</details>\n"
            )
    return "\n".join(out)


class CompareRenderer(Renderer):
    """Every format of a comparison: every common cell with its verdict."""

    command = "compare"

    def __init__(self, cmp: Comparison) -> None:
        self.cmp = cmp

    def table(self, console: Console) -> None:
        render_compare_table(self.cmp, console)

    def markdown(self) -> str:
        return compare_markdown(self.cmp)

    def records(self) -> list[Any]:
        return list(self.cmp.cells)

    def config(self) -> dict[str, Any]:
        cmp = self.cmp
        return {
            "base": cmp.base,
            "new": cmp.new,
            "base_runs": cmp.base_runs,
            "new_runs": cmp.new_runs,
            "command": cmp.command,
            "metric": cmp.metric,
            "max_slowdown": cmp.max_slowdown,
            "alpha": cmp.alpha,
        }

    def extra(self) -> dict[str, Any]:
        cmp = self.cmp

        def diff_list(diffs: list[Difference]) -> list[dict[str, Any]]:
            return [{"key": d.key, "base": d.base, "new": d.new} for d in diffs]

        return {
            "verdict": verdict_line(cmp),
            "regression": cmp.exit_code != 0,
            "counts": cmp.counts(),
            "only_in_base": [k.text for k in cmp.only_in_base],
            "only_in_new": [k.text for k in cmp.only_in_new],
            "environment_differences": diff_list(cmp.environment),
            "config_differences": diff_list(cmp.config),
            "warnings": cmp.warnings,
        }

    def summary(self) -> str | None:
        return verdict_line(self.cmp)


__all__ = [
    "HEADER",
    "CompareRenderer",
    "change_rows",
    "compare_markdown",
    "detail_lines",
    "header_for",
    "render_compare_table",
    "verdict_line",
    "without_metric_line",
]
