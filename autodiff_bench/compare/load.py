"""Reading what ``compare`` compares: result files (or folders of runs) as typed records,
indexed by cell, and the cells the two sides have in common."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autodiff_bench.errors import UsageError
from autodiff_bench.model import RECORD_TYPES, CellKey, Record, load_document

#: A run: the name of its file and its document.
Run = tuple[str, dict[str, Any]]
#: Each cell's records, one per run that has it.
Cells = dict[CellKey, list[Record]]
#: One common cell: its key, its records in BASE's runs and in NEW's.
Pair = tuple[CellKey, list[Record], list[Record]]


def index_records(doc: dict[str, Any], name: str) -> dict[CellKey, Record]:
    """A file's records by cell; a record without the fields of a cell, or two records of
    one cell, make the file unusable (UsageError)."""
    from autodiff_bench.backends import all_backends  # fills the default modes of labels

    all_backends()
    command = doc["command"]
    results = doc.get("results")
    if not isinstance(results, list):
        raise UsageError(f"'{name}' has no list of results", "pass a file written by adbench")
    kind = RECORD_TYPES[command]
    out: dict[CellKey, Record] = {}
    for i, raw in enumerate(results):
        where = f"'{name}': result #{i + 1} "
        if not isinstance(raw, dict):
            raise UsageError(f"{where}is not an object")
        record = kind.from_dict(raw, where)
        if record.key in out:
            raise UsageError(f"'{name}' has two results for the cell {record.key.text}")
        out[record.key] = record
    return out


def index_runs(runs: list[Run]) -> Cells:
    """Every cell of several runs of one command, with one record per run that has it."""
    out: Cells = {}
    for name, doc in runs:
        for key, record in index_records(doc, name).items():
            out.setdefault(key, []).append(record)
    return out


def _wildcard(key: CellKey) -> tuple[Any, ...]:
    # check writes one record with point '*' (and no size) for a backend that could not
    # load at all; it stands for every point of that (target, quantity, backend) cell.
    return (key.target, key.quantity, key.backend, key.mode, key.dtype, key.device)


def pair_cells(base: Cells, new: Cells) -> tuple[list[Pair], list[CellKey], list[CellKey]]:
    """(key, BASE records, NEW records) for every common cell, then the keys only in BASE
    and only in NEW.  A check record at point ``*`` pairs with every point of its cell."""
    pairs = [(k, base[k], new[k]) for k in base if k in new]
    only_base = [k for k in base if k not in new]
    only_new = [k for k in new if k not in base]
    for stars_in_new in (True, False):
        own, other = (only_new, only_base) if stars_in_new else (only_base, only_new)
        stars = {_wildcard(k): k for k in own if k.point == "*"}
        used: set[CellKey] = set()
        for k in [k for k in other if k.point != "*" and _wildcard(k) in stars]:
            star = stars[_wildcard(k)]
            used.add(star)
            other.remove(k)
            pairs.append((k, base[k], new[star]) if stars_in_new else (k, base[star], new[k]))
        own[:] = [k for k in own if k not in used]
    return pairs, only_base, only_new


def load_runs(path: str | Path) -> list[Run]:
    """One result file, or every ``*.json`` in a folder (several runs of one command, to be
    pooled), each checked to be adbench JSON (UsageError otherwise)."""
    p = Path(path)
    if p.is_dir():
        files = sorted(p.glob("*.json"))
        if not files:
            raise UsageError(
                f"folder '{p}' holds no .json result files", "pass a file or a folder of runs"
            )
        return [(str(f), load_document(f)) for f in files]
    return [(str(p), load_document(p))]


__all__ = ["Cells", "Pair", "Run", "index_records", "index_runs", "load_runs", "pair_cells"]
