"""Pieces every renderer shares: the console, number formatting, CSV of records."""

from __future__ import annotations

import csv
import io
import math
import os
import sys
from dataclasses import asdict, fields, is_dataclass
from typing import IO, Any

from rich.console import Console

FORMATS = ("table", "json", "csv", "markdown")


#: The console width when the output is not a terminal: wide enough that no table is
#: squeezed and no line is wrapped ("expected" stays beside its number for grep and diff).
PIPED_WIDTH = 10_000


def make_console(file: IO[str] | None = None, *, stderr: bool = False) -> Console:
    """A rich console that respects ``NO_COLOR``; in a terminal it fits the window, piped
    or into a file it never hard-wraps a line (tables take their natural width)."""
    stream = sys.stderr if stderr else sys.stdout
    terminal = file is None and stream.isatty()
    return Console(
        file=file,
        stderr=stderr,
        no_color="NO_COLOR" in os.environ,
        highlight=False,
        markup=False,
        emoji=False,
        soft_wrap=not terminal,
        width=None if terminal else PIPED_WIDTH,
    )


def plural(n: int, word: str) -> str:
    """``1 backend``, ``2 backends``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def sci(value: float | None, digits: int = 1) -> str:
    """A compact error figure: ``3.1e-16``, ``0`` or ``—``."""
    if value is None:
        return "—"
    if value == 0:
        return "0"
    return f"{value:.{digits}e}"


def records_csv(records: list[Any]) -> str:
    """One CSV row per record (dataclasses or dicts), header from the first."""
    rows = [asdict(r) if is_dataclass(r) and not isinstance(r, type) else dict(r) for r in records]
    out = io.StringIO()
    if not rows:
        return ""
    names = [f.name for f in fields(records[0])] if is_dataclass(records[0]) else list(rows[0])
    writer = csv.DictWriter(out, fieldnames=names, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_value(v) for k, v in row.items()})
    return out.getvalue()


def _csv_value(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return " ".join(map(str, v))
    return "" if v is None else v


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured Markdown table, one line per row: a cell's ``|`` is escaped and
    its line breaks become ``<br>`` (a multi-line matrix would otherwise end the table)."""

    def esc(s: str) -> str:
        return "<br>".join(line.rstrip() for line in s.replace("|", "\\|").splitlines())

    lines = ["| " + " | ".join(map(esc, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(esc, r)) + " |" for r in rows]
    return "\n".join(lines) + "\n"


#: (name, seconds per unit), largest first.
UNITS = (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9))


def pick_unit(seconds: list[float]) -> tuple[str, float]:
    """The largest unit in which the smallest value is still ≥ 1 (one unit for several
    values; :func:`seconds_text` picks one per value)."""
    values = [s for s in seconds if s and s > 0]
    if not values:
        return "s", 1.0
    smallest = min(values)
    for name, scale in UNITS:
        if smallest >= scale:
            return name, scale
    return UNITS[-1]


def round_sig(value: float, digits: int) -> float:
    """``value`` rounded to ``digits`` significant figures (0, inf and nan unchanged)."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def trim(value: float, digits: int) -> str:
    """``value`` to ``digits`` significant figures with no spurious decimals (after
    ``torch.utils.benchmark``'s ``trim_sigfig``): 1234.5 at 2 digits is ``1200``, 9.996 at 3
    is ``10.0``."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    rounded = round_sig(value, digits)
    # Rounding can carry into the next decade (9.996 → 10.0): count decimals after it.
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(rounded))))
    return f"{rounded:.{decimals}f}"


def seconds_text(seconds: float | None, digits: int = 4) -> str:
    """A duration in its own unit, at most ``digits`` (≤ 4) significant figures: the largest
    of s, ms, µs, ns in which the *rounded* value is still ≥ 1, so the mantissa lies in
    [1, 1000) and never needs more than four digits (0.99996 ms at 4 digits is ``1.000 ms``,
    not ``1000 µs``); below 1 ns, ns; from 1000 s on, s."""
    if seconds is None:
        return "—"
    if seconds <= 0 or not math.isfinite(seconds):
        return f"{seconds:g} s"
    for name, scale in UNITS:
        if round_sig(seconds / scale, digits) >= 1:
            return f"{trim(seconds / scale, digits)} {name}"
    name, scale = UNITS[-1]
    return f"{trim(seconds / scale, digits)} {name}"


def ratio_text(value: float, digits: int) -> str:
    """A ratio at ``digits`` significant figures: ``×3.8``, ``×0.65``, ``×480``; from 10 000
    on in powers of ten (``×1.2e4``), so it never needs more than four digits."""
    if not math.isfinite(value):
        return f"×{value:g}"
    if value > 0 and round_sig(value, digits) >= 10_000:
        mantissa, exponent = f"{value:.{max(digits - 1, 0)}e}".split("e")
        return f"×{mantissa}e{int(exponent)}"
    return f"×{trim(value, digits)}"
