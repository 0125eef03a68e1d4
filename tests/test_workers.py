"""The worker supervisor on tiny jobs: deaths, hangs, skips, fan-out, environment."""

from __future__ import annotations

import atexit
import os
import time
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import pytest

from autodiff_bench import workers
from autodiff_bench.workers import Lane, supervise


@dataclass
class ScriptJob:
    """Each cell is a word: ``ok:N`` returns N; ``abort``, ``sleep``, ``exit`` misbehave."""

    cells: list[str]
    load_action: str = ""

    def load(self) -> dict[str, Any]:
        if self.load_action == "raise":
            raise RuntimeError("the framework would not start")
        if self.load_action == "sleep":
            time.sleep(1000)
        if self.load_action == "slow-teardown":  # as a framework's exit handlers can be
            atexit.register(time.sleep, 30)
        return {"pid": os.getpid(), "env": os.environ.get("ADBENCH_TEST_VAR")}

    def run(self, index: int) -> Any:
        word = self.cells[index].split("#")[0]
        if word == "abort":
            print("about to abort", flush=True)
            os.abort()
        if word == "sleep":
            time.sleep(1000)
        if word == "exit":
            os._exit(7)
        if word == "forkabort":  # a helper process holds the pipe open after the abort
            helper = os.fork()
            if helper == 0:
                time.sleep(1000)
                os._exit(0)
            with open(os.environ["ADBENCH_TEST_HELPER_PID"], "w") as fh:
                fh.write(str(helper))
            os.abort()
        return int(word.split(":")[1])


@dataclass
class Recorder:
    """A handler that keeps everything it is told; cells in one group share a prefix."""

    results: dict[str, Any] = field(default_factory=dict)
    failures: dict[str, tuple[str, str]] = field(default_factory=dict)
    started_cells: list[str] = field(default_factory=list)
    skip_same_group: bool = False

    def started(self, cell: Any) -> None:
        self.started_cells.append(cell)

    def result(self, cell: Any, value: Any) -> None:
        self.results[cell] = value

    def failure(self, cell: Any, status: str, message: str) -> None:
        self.failures[cell] = (status, message)

    def surely_fails(self, failed: Any, other: Any) -> bool:
        return self.skip_same_group and self.group(failed) == self.group(other)

    def group(self, cell: Any) -> Hashable:
        return cell.split("#")[1] if "#" in cell else cell

    def skip_note(self, failed: Any, status: str) -> str:
        return f"not run: {failed} ended {status}"


def lane(cells: list[str], name: str = "fake", load_action: str = "", **env: str) -> Lane:
    return Lane(name, cells, lambda subset: ScriptJob(list(subset), load_action), env)


def test_results_arrive_in_order_with_the_load_info() -> None:
    rec = Recorder()
    out = supervise([lane(["ok:1", "ok:2", "ok:3"])], rec, cell_timeout_s=30)
    assert rec.results == {"ok:1": 1, "ok:2": 2, "ok:3": 3}
    assert rec.failures == {}
    assert rec.started_cells == ["ok:1", "ok:2", "ok:3"]
    assert out.info["fake"]["pid"] != os.getpid()
    assert not out.interrupted


def test_a_finished_worker_ends_without_its_frameworks_teardown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(workers, "REAP_S", 60.0)  # the parent would wait out the teardown
    rec = Recorder()
    t0 = time.monotonic()
    supervise([lane(["ok:1", "ok:2"], load_action="slow-teardown")], rec, cell_timeout_s=60)
    assert time.monotonic() - t0 < 20  # not the exit handler's 30 s
    assert rec.results == {"ok:1": 1, "ok:2": 2} and rec.failures == {}


def test_an_abort_costs_only_the_cell_in_flight_and_names_the_signal() -> None:
    rec = Recorder()
    out = supervise([lane(["ok:1", "abort", "ok:3", "ok:4"])], rec, cell_timeout_s=30)
    assert rec.results == {"ok:1": 1, "ok:3": 3, "ok:4": 4}
    status, message = rec.failures["abort"]
    assert status == "error"
    assert "SIGABRT" in message
    assert "about to abort" in message  # the worker's last log line
    assert out.workers_started == 2  # a fresh worker took the rest


def test_an_exit_code_is_reported() -> None:
    rec = Recorder()
    supervise([lane(["exit", "ok:2"])], rec, cell_timeout_s=30)
    assert rec.failures["exit"][0] == "error"
    assert "exit code 7" in rec.failures["exit"][1]
    assert rec.results == {"ok:2": 2}


def test_a_hang_is_killed_at_the_deadline_and_the_rest_still_runs() -> None:
    rec = Recorder()
    t0 = time.monotonic()
    supervise([lane(["ok:1", "sleep", "ok:3"])], rec, cell_timeout_s=2)
    assert time.monotonic() - t0 < 20
    assert rec.failures == {"sleep": ("timeout", "no result within --timeout 2 s")}
    assert rec.results == {"ok:1": 1, "ok:3": 3}


def test_a_failure_skips_only_what_would_surely_fail_again() -> None:
    rec = Recorder(skip_same_group=True)
    supervise([lane(["abort#a", "ok:2#a", "ok:3#b", "abort#c", "ok:5#d"])], rec, cell_timeout_s=30)
    assert rec.failures["abort#a"][0] == "error"
    assert rec.failures["ok:2#a"] == ("error", "not run: abort#a ended error")
    # Other groups are never skipped, however many failures came before.
    assert rec.results == {"ok:3#b": 3, "ok:5#d": 5}
    assert rec.failures["abort#c"][0] == "error"


def test_hangs_fan_out_so_a_backend_that_hangs_everywhere_costs_about_one_deadline() -> None:
    rec = Recorder()
    cells = [f"sleep#{g}" for g in "abcdef"]
    t0 = time.monotonic()
    supervise([lane(cells)], rec, cell_timeout_s=3, fanout=8)
    elapsed = time.monotonic() - t0
    assert {c: s for c, (s, _) in rec.failures.items()} == dict.fromkeys(cells, "timeout")
    # Serially this would take 6 × 3 s; fanned out, the first deadline then one more.
    assert elapsed < 14, elapsed


def test_without_fanout_a_lane_runs_one_worker_at_a_time() -> None:
    rec = Recorder()
    out = supervise([lane(["sleep#a", "ok:2#b"])], rec, cell_timeout_s=2, fanout=0)
    assert rec.results == {"ok:2#b": 2}
    assert out.workers_started == 2


def test_a_load_that_raises_fails_every_cell_with_the_exception() -> None:
    rec = Recorder()
    supervise([lane(["ok:1", "ok:2"], load_action="raise")], rec, cell_timeout_s=30)
    assert set(rec.failures) == {"ok:1", "ok:2"}
    status, message = rec.failures["ok:1"]
    assert status == "error"
    assert "died while loading" in message
    assert "RuntimeError: the framework would not start" in message


def test_a_load_that_hangs_times_out_every_cell() -> None:
    rec = Recorder()
    supervise(
        [lane(["ok:1", "ok:2"], load_action="sleep")], rec, cell_timeout_s=1, load_timeout_s=2
    )
    assert {s for s, _ in rec.failures.values()} == {"timeout"}
    assert "starting the fake worker took longer than 2 s" in rec.failures["ok:1"][1]


def test_the_environment_is_set_before_the_worker_starts_and_restored_here() -> None:
    rec = Recorder()
    os.environ.pop("ADBENCH_TEST_VAR", None)
    out = supervise([lane(["ok:1"], ADBENCH_TEST_VAR="42")], rec, cell_timeout_s=30)
    assert out.info["fake"]["env"] == "42"
    assert "ADBENCH_TEST_VAR" not in os.environ


def test_lanes_run_in_parallel_and_keep_their_own_results() -> None:
    rec = Recorder()
    supervise(
        [lane(["ok:1", "abort"], name="one"), lane(["ok:3", "ok:4"], name="two")],
        rec,
        cell_timeout_s=30,
        parallel=2,
    )
    assert rec.results == {"ok:1": 1, "ok:3": 3, "ok:4": 4}
    assert rec.failures["abort"][0] == "error"


def test_a_death_is_seen_at_once_even_when_a_helper_holds_the_pipe(tmp_path) -> None:
    rec = Recorder()
    pid_file = tmp_path / "helper.pid"
    t0 = time.monotonic()
    supervise(
        [lane(["forkabort", "ok:2"], ADBENCH_TEST_HELPER_PID=str(pid_file))],
        rec,
        cell_timeout_s=30,
    )
    assert time.monotonic() - t0 < 20  # not the 30 s deadline
    status, message = rec.failures["forkabort"]
    assert status == "error" and "SIGABRT" in message
    assert rec.results == {"ok:2": 2}
    # The helper went with its worker: nothing of a cell outlives it.
    helper = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(helper):
        time.sleep(0.05)
    assert not _alive(helper)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie waiting for init to reap it is gone in every way that matters.
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().split(")")[-1].split()[0] != "Z"
