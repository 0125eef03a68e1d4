"""``adbench compare`` through typer's CliRunner (the real ``main``, so exit codes and the
one-line errors are the console script's) and through a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from compare_helpers import check_record, document, tight, time_record
from typer.testing import CliRunner

from autodiff_bench.cli import main
from autodiff_bench.model import dumps

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str | Path) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``adbench ARGS`` run in-process."""
    with CliRunner().isolation():
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        # Read the captured bytes through sys.* (buffered text wrappers: flush first), so the
        # shape of what isolation() yields, which differs between click versions, is moot.
        sys.stdout.flush()
        sys.stderr.flush()
        out = sys.stdout.buffer.getvalue().decode()  # type: ignore[attr-defined]
        err = sys.stderr.buffer.getvalue().decode()  # type: ignore[attr-defined]
        return code, out, err


def write(path: Path, doc: dict) -> Path:
    path.write_text(dumps(doc), encoding="utf-8")
    return path


@pytest.fixture
def check_pair(tmp_path: Path) -> tuple[Path, Path]:
    """BASE: three passing cells.  NEW: one of them broken, a torch upgrade, one new cell."""
    base = document(
        "check",
        [check_record(), check_record(backend="jax"), check_record(quantity="d2", backend="jax")],
    )
    new = document(
        "check",
        [
            check_record("fail"),
            check_record(backend="jax"),
            check_record(quantity="d2", backend="jax"),
            check_record(backend="autograd"),
        ],
        packages={"adbench": "0.1.0", "numpy": "2.4.6", "torch": "2.14.0"},
    )
    return write(tmp_path / "base.json", base), write(tmp_path / "new.json", new)


@pytest.fixture
def time_pair(tmp_path: Path) -> tuple[Path, Path]:
    """BASE/NEW time files: torch 2x slower (tight), jax 1.1x slower, manual unchanged."""

    def run_doc(torch: float, jax: float, seed: int) -> dict:
        return document(
            "time",
            [
                time_record(tight(torch, seed=seed), backend="torch", primal_median=1e-4),
                time_record(tight(jax, seed=seed + 1), backend="jax", primal_median=1e-4),
                time_record(tight(2e-4, seed=seed + 2), backend="manual", primal_median=1e-4),
            ],
        )

    base = write(tmp_path / "base-time.json", run_doc(1e-3, 1e-3, 0))
    new = write(tmp_path / "new-time.json", run_doc(2e-3, 1.1e-3, 10))
    return base, new


def test_a_file_compared_with_itself_exits_0_with_no_changes(check_pair) -> None:
    base, _ = check_pair
    code, out, err = run("compare", base, base)
    assert code == 0 and err == ""
    assert "OK: no changes — 3 common check cells" in out
    assert "changed cells" not in out


def test_a_correctness_regression_exits_1_and_shows_the_cell(check_pair) -> None:
    code, out, _ = run("compare", *check_pair)
    assert code == 1
    assert "✗ broken" in out and "pass 0" in out and "fail 2.0e-02" in out
    assert "cubic d1 [torch] float64 at x=3: pass → fail: got 29.5, closed form 29" in out
    assert "packages.torch: 2.13.0+cpu → 2.14.0" in out
    assert "only in NEW (listed, not failed): 1 cells" in out
    assert "cubic d1 [autograd] float64 at x=3" in out
    assert out.rstrip().endswith("REGRESSION: 1 broken — 3 common check cells (1 only in NEW)")


def test_a_timing_regression_in_markdown(time_pair) -> None:
    code, out, _ = run("compare", *time_pair, "--metric", "ratio_to_primal", "-f", "markdown")
    assert code == 1
    assert out.startswith("### ❌ adbench compare: `time`")
    assert (
        "**REGRESSION: 1 slower — 3 common time cells, ratio_to_primal, max slowdown 1.25×" in out
    )
    row = next(line for line in out.splitlines() if line.startswith("| ▲ slower"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1:5] == ["least_squares", "grad", "torch", "float64 n=100"]
    assert cells[5:8] == ["9.99×", "19.9×", "2.00×"]
    # 15 vs 15 samples, every NEW above every BASE: p = 1/C(30, 15).
    assert cells[8] == "±1%" and cells[9] == "p=6.4e-09 (U exact)"
    assert "| jax" not in out  # 1.1x is below the threshold: not a change


def test_a_slowdown_below_a_looser_threshold_passes(time_pair) -> None:
    code, out, _ = run("compare", *time_pair, "--max-slowdown", "2.5")
    assert code == 0
    assert "OK: no changes — 3 common time cells, median_s, max slowdown 2.5×" in out


def test_json_output_is_a_strict_versioned_document(time_pair, tmp_path: Path) -> None:
    target = tmp_path / "cmp.json"
    code, out, err = run("compare", *time_pair, "--format", "json", "--output", target)
    assert code == 1 and out == ""
    assert err.splitlines() == [
        "REGRESSION: 1 slower — 3 common time cells, median_s, max slowdown 1.25×, α=0.01",
        f"wrote {target}",
    ]
    doc = json.loads(target.read_text(), parse_constant=lambda c: pytest.fail(c))
    assert doc["command"] == "compare" and doc["schema_version"] == 1
    assert doc["regression"] is True and doc["counts"] == {"slower": 1, "unchanged": 2}
    slower = [r for r in doc["results"] if r["kind"] == "slower"]
    assert [r["backend"] for r in slower] == ["torch"]
    assert slower[0]["factor"] == pytest.approx(2.0, rel=0.02)


def test_json_output_writes_non_finite_values_as_null(tmp_path: Path) -> None:
    """Python's json reads NaN/Infinity literals, so a hand-edited BASE can bring them in; and
    a factor NEW/BASE can overflow to +Inf.  compare's own document stays strict JSON."""
    base = document("time", [time_record(tight(1e-300))])
    base["config"].update(budget=float("nan"), timeout=float("inf"))
    new = document("time", [time_record(tight(1e10))])
    new["config"].update(budget=0.05, timeout=float("-inf"))
    base_path, new_path = tmp_path / "base.json", tmp_path / "new.json"
    base_path.write_text(json.dumps(base), encoding="utf-8")  # allow_nan: writes NaN, Infinity
    new_path.write_text(json.dumps(new), encoding="utf-8")
    assert "NaN" in base_path.read_text() and "-Infinity" in new_path.read_text()
    target = tmp_path / "cmp.json"
    code, out, _ = run("compare", base_path, new_path, "--format", "json", "--output", target)
    assert code == 1 and out == ""
    text = target.read_text(encoding="utf-8")
    assert "NaN" not in text and "Infinity" not in text
    doc = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict literal {c}"))
    (cell,) = doc["results"]
    assert cell["kind"] == "slower" and cell["regression"] is True
    assert cell["factor"] is None  # 1e10 / 1e-300 overflows to +Inf
    assert cell["base_value"] == pytest.approx(1e-300, rel=0.05)
    assert cell["new_value"] == pytest.approx(1e10, rel=0.05)
    assert doc["config_differences"] == [
        {"key": "budget", "base": None, "new": 0.05},
        {"key": "timeout", "base": None, "new": None},
    ]


def test_csv_output_has_one_row_per_common_cell(time_pair) -> None:
    code, out, _ = run("compare", *time_pair, "-f", "csv")
    lines = out.splitlines()
    assert code == 1 and len(lines) == 4
    assert lines[0].startswith("target,quantity,backend,mode,dtype,size,device,point,kind,")


# ---- bad input: one line, exit 2 ------------------------------------------------------------


def _bad_inputs(tmp: Path) -> dict[str, tuple[list[Path | str], str]]:
    good = write(tmp / "good.json", document("check", [check_record()]))
    text = tmp / "notes.txt"
    text.write_text("hello\n")
    other = tmp / "other.json"
    other.write_text(json.dumps({"name": "not adbench"}))
    future = write(
        tmp / "future.json", {**document("check", [check_record()]), "schema_version": 99}
    )
    truncated = tmp / "truncated.json"
    truncated.write_text(good.read_text()[:200])
    timed = write(tmp / "time.json", document("time", [time_record(tight(1e-3))]))
    elsewhere = write(tmp / "tanh.json", document("check", [check_record(target="tanh")]))
    empty = tmp / "empty"
    empty.mkdir()
    mixed = tmp / "mixed"
    mixed.mkdir()
    write(mixed / "a.json", document("check", [check_record()]))
    write(mixed / "b.json", document("time", [time_record(tight(1e-3))]))
    binary = tmp / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00{")
    weird = write(tmp / "weird.json", document("check", [check_record(status="weird")]))
    return {
        "not utf-8": ([good, binary], "not UTF-8 text"),
        "unknown status": ([good, weird], "has an unknown status 'weird'"),
        "not json": ([good, text], "is not valid JSON"),
        "not adbench": ([other, good], "is not an adbench result file"),
        "unknown schema": ([good, future], "has schema_version 99; this adbench reads 1"),
        "truncated": ([good, truncated], "is not valid JSON"),
        "different commands": ([good, timed], "holds 'check' results but"),
        "no common cell": ([good, elsewhere], "have no cell in common"),
        "missing file": ([good, tmp / "nope.json"], "cannot read"),
        "bad metric": ([good, good, "--metric", "seconds"], "unknown metric 'seconds'"),
        "bad factor": ([good, good, "--max-slowdown", "1"], "--max-slowdown must be a factor"),
        "bad format": ([good, good, "--format", "html"], "unknown format 'html'"),
        "missing argument": ([good], "Missing argument"),
        "empty folder": ([good, empty], "holds no .json result files"),
        "folder mixing commands": ([mixed, good], "mixes 'check' and 'time' results"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "not utf-8",
        "unknown status",
        "not json",
        "not adbench",
        "unknown schema",
        "truncated",
        "different commands",
        "no common cell",
        "missing file",
        "bad metric",
        "bad factor",
        "bad format",
        "missing argument",
        "empty folder",
        "folder mixing commands",
    ],
)
def test_bad_input_is_one_line_and_exit_2(case: str, tmp_path: Path) -> None:
    args, message = _bad_inputs(tmp_path)[case]
    code, out, err = run("compare", *args)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1, err
    assert err.startswith("adbench: error: ") and message in err


def test_folders_of_runs_are_pooled(tmp_path: Path) -> None:
    for side, levels, seed in (("base", [1e-3, 1.02e-3, 0.99e-3], 0), ("new", [2e-3, 2e-3], 10)):
        (tmp_path / side).mkdir()
        for i, level in enumerate(levels):
            doc = document("time", [time_record(tight(level, seed=seed + i))])
            write(tmp_path / side / f"run-{i}.json", doc)
    code, out, _ = run("compare", tmp_path / "base", tmp_path / "new", "-f", "markdown")
    assert code == 1
    assert f"BASE `{tmp_path / 'base'}` → NEW `{tmp_path / 'new'}` (3 runs vs 2 runs" in out
    assert "**REGRESSION: 1 slower — 1 common time cell (3 runs vs 2 runs), median_s" in out


# ---- a real subprocess ----------------------------------------------------------------------


def _subprocess(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "autodiff_bench", "compare", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_subprocess_exit_codes(check_pair, tmp_path: Path) -> None:
    base, new = check_pair
    same = _subprocess(base, base)
    assert same.returncode == 0 and "OK: no changes" in same.stdout and same.stderr == ""
    regressed = _subprocess(base, new, "--format", "markdown")
    assert regressed.returncode == 1
    assert "**REGRESSION: 1 broken — 3 common check cells (1 only in NEW)**" in regressed.stdout
    truncated = tmp_path / "cut.json"
    truncated.write_text(base.read_text()[:100])
    bad = _subprocess(base, truncated)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    assert "truncated?" in bad.stderr


def test_cells_without_the_metric_are_noted(tmp_path: Path) -> None:
    # Records without ratio_to_manual (no manual cell was timed): compared by status only.
    doc = document("time", [time_record(tight(1e-3)), time_record(tight(1e-3), backend="jax")])
    path = write(tmp_path / "t.json", doc)
    code, out, _ = run("compare", path, path, "--metric", "ratio_to_manual")
    assert code == 0
    assert "2 passing cells have no ratio_to_manual in one of the files: compared by" in out
    assert "OK: no changes — 2 common time cells, ratio_to_manual" in out
