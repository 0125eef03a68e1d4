"""Through the real command line: a backend that crashes or hangs costs only its own cells,
in ``check`` and in ``time``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, Run

pytestmark = pytest.mark.slow

#: Registers the misbehaving backends (as a plugin would), then runs adbench.
SCRIPT = (
    "import signal, sys\n"
    # Ctrl-C must reach it even when this suite runs as a background job (which starts
    # with SIGINT ignored, and a child inherits that).
    "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
    "sys.path.insert(0, sys.argv[1])\n"
    "from autodiff_bench.backends import register_backend\n"
    "from tests.misbehaving_backends import AbortingBackend, SleepingBackend\n"
    "register_backend(AbortingBackend)\n"
    "register_backend(SleepingBackend)\n"
    "if __name__ == '__main__':\n"
    "    from autodiff_bench.cli import main\n"
    "    main(sys.argv[2:])\n"
)


def adbench_with_plugins(*args: str) -> tuple[Run, float]:
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(ROOT), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
        stdin=subprocess.DEVNULL,
        timeout=300,
        check=False,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr), time.monotonic() - start


CHECK = ("check", "-t", "cubic,least_squares", "-f", "json")
TIME = ("time", "-t", "cubic,least_squares", "-n", "8,16", "--budget", "0.01", "-f", "json")


def by_backend(doc: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in doc["results"]:
        out.setdefault(r["backend"], []).append(r)
    return out


def test_check_a_crashing_backend_costs_only_its_cells() -> None:
    run, _ = adbench_with_plugins(*CHECK, "-b", "crasher,minigrad,manual")
    assert run.code == 1, run.err
    records = by_backend(json.loads(run.out))
    assert {r["status"] for r in records["minigrad"] + records["manual"]} == {"pass"}
    assert len({(r["target"], r["quantity"]) for r in records["minigrad"]}) == 6
    crashed = records["crasher"]
    assert {r["status"] for r in crashed} == {"error"}
    assert len(crashed) == 6  # one per cell: the crash cost only the cell in flight
    assert all("killed by SIGABRT" in r["message"] for r in crashed)
    assert all("crasher: about to abort" in r["message"] for r in crashed)


def test_check_a_hanging_backend_times_out_and_the_others_pass() -> None:
    run, seconds = adbench_with_plugins(*CHECK, "-b", "sleeper,minigrad,manual", "--timeout", "5")
    assert run.code == 1, run.err
    records = by_backend(json.loads(run.out))
    assert {r["status"] for r in records["minigrad"] + records["manual"]} == {"pass"}
    hung = records["sleeper"]
    assert {r["status"] for r in hung} == {"timeout"} and len(hung) == 6
    assert all(r["message"] == "no result within --timeout 5 s" for r in hung)
    # Six cells hang side by side after the first: far less than 6 × 5 s one after another.
    assert seconds < 25, seconds


def test_time_a_crashing_backend_skips_only_the_same_quantity_at_larger_sizes() -> None:
    run, _ = adbench_with_plugins(*TIME, "-b", "crasher,minigrad")
    assert run.code == 1, run.err
    records = by_backend(json.loads(run.out))
    assert {r["status"] for r in records["minigrad"] + records["manual"]} == {"pass"}
    crashed = {(r["target"], r["size"], r["quantity"]): r for r in records["crasher"]}
    # f itself never crashes: it is measured at every size.
    assert crashed["least_squares", 16, "primal"]["status"] == "pass"
    assert crashed["cubic", None, "primal"]["status"] == "pass"
    for q in ("grad", "hessian", "hvp"):
        assert crashed["least_squares", 8, q]["status"] == "error"
        assert "killed by SIGABRT" in crashed["least_squares", 8, q]["message"]
        skipped = crashed["least_squares", 16, q]
        assert skipped["status"] == "error"
        assert skipped["message"] == f"not run: {q} of least_squares failed at n=8"
    for q in ("d1", "d2", "d3"):  # another target: tried, not skipped
        assert "killed by SIGABRT" in crashed["cubic", None, q]["message"]


def test_time_a_hanging_backend_times_out_and_the_others_are_measured() -> None:
    run, _ = adbench_with_plugins(
        "time", "-t", "least_squares", "-q", "grad", "-n", "8,16", "--budget", "0.01",
        "-f", "json", "-b", "sleeper,minigrad", "--timeout", "5",
    )  # fmt: skip
    assert run.code == 1, run.err
    records = by_backend(json.loads(run.out))
    assert {r["status"] for r in records["minigrad"] + records["manual"]} == {"pass"}
    hung = {(r["size"], r["quantity"]): r for r in records["sleeper"]}
    assert hung[8, "primal"]["status"] == hung[16, "primal"]["status"] == "pass"
    assert hung[8, "grad"]["status"] == "timeout"
    assert hung[16, "grad"]["status"] == "timeout"
    assert hung[16, "grad"]["message"] == "not run: grad of least_squares timed out at n=8"


def test_check_ctrl_c_keeps_what_was_checked_in_a_partial_json(tmp_path) -> None:

    marker, out = tmp_path / "hanging", tmp_path / "check.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SCRIPT,
            str(ROOT),
            *CHECK,
            "-b",
            "manual,sleeper",
            "-o",
            str(out),
        ],
        cwd=ROOT,
        env={**os.environ, "NO_COLOR": "1", "ADBENCH_TEST_HANG_MARKER": str(marker)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the sleeper never started"
        time.sleep(8)  # manual's worker runs beside it: time to finish its six cells
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert not out.exists()  # a partial run never takes the complete file's name
    doc = json.loads((tmp_path / "check.partial.json").read_text())
    assert doc["interrupted"] is True
    # What finished is kept; the sleeper's cells, stopped in flight, are not invented.
    manual = [r for r in doc["results"] if r["backend"] == "manual"]
    assert manual and {r["status"] for r in manual} == {"pass"}
    assert not [r for r in doc["results"] if r["backend"] == "sleeper"]
    assert "check.partial.json" in err
    assert err.splitlines()[-2].startswith("INTERRUPTED")
