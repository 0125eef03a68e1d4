"""Pieces every renderer shares: the console, number formatting, CSV of records."""

from __future__ import annotations

import csv
import io
import os
import sys
from dataclasses import asdict, fields, is_dataclass
from typing import IO, Any

from rich.console import Console

FORMATS = ("table", "json", "csv", "markdown")


def make_console(file: IO[str] | None = None, *, stderr: bool = False) -> Console:
    """A rich console that respects ``NO_COLOR`` and plain output when piped."""
    return Console(
        file=file,
        stderr=stderr,
        no_color="NO_COLOR" in os.environ,
        highlight=False,
        soft_wrap=False,
        width=None if (file is None and sys.stdout.isatty()) else 160,
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
    """A GitHub-flavoured Markdown table."""

    def esc(s: str) -> str:
        return s.replace("|", "\\|")

    lines = ["| " + " | ".join(map(esc, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(esc, r)) + " |" for r in rows]
    return "\n".join(lines) + "\n"
