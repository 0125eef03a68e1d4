"""The mutation tool's list follows the code, and a mutant is planted only in a copy."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def _load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutants", ROOT / "tools" / "mutants.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("mutants", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


mutants = _load_tool()


def test_every_mutant_still_applies() -> None:
    # A refactor that moves or rewrites a mutated line must update tools/mutants.py.
    assert mutants.stale_mutants(ROOT) == []


def test_mutant_names_are_unique() -> None:
    names = [m.name for m in mutants.MUTANTS]
    assert len(names) == len(set(names))


def test_apply_mutant_changes_only_the_copy(tmp_path: Path) -> None:
    m = next(x for x in mutants.MUTANTS if x.name == "model-nan-in-json")
    src = ROOT / m.path
    before = src.read_text(encoding="utf-8")
    dest = tmp_path / m.path
    dest.parent.mkdir(parents=True)
    dest.write_text(before, encoding="utf-8")
    mutants.apply_mutant(tmp_path, m)
    after = dest.read_text(encoding="utf-8")
    for old, new in m.edits():
        assert old not in after and new in after
    assert src.read_text(encoding="utf-8") == before
    # Applied once, the snippet is gone: the copy no longer takes the mutant.
    assert mutants.stale_mutants(tmp_path, (m,)) != []


def test_stale_snippet_is_named(tmp_path: Path) -> None:
    m = mutants.Mutant("demo", "nothing", "a.py", "x = 1\n", "x = 2\n")
    (tmp_path / "a.py").write_text("x = 1\nx = 1\n", encoding="utf-8")
    (msg,) = mutants.stale_mutants(tmp_path, (m,))
    assert "mutant demo no longer applies to a.py" in msg and "update its snippet" in msg


def test_first_failure_reads_pytest_summary() -> None:
    out = "....F\n=== short test summary info ===\nFAILED tests/test_a.py::test_b[x] - boom\n"
    assert mutants.first_failure(out) == "tests/test_a.py::test_b[x]"
    assert mutants.first_failure("5 passed in 1.0s\n") is None
