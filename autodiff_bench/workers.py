"""One worker supervisor for every engine: spawn, deadline, kill, death reason, restart.

An engine hands :func:`supervise` *lanes*, usually one per framework: an ordered list of
cells and a way to build a picklable job over any subset of them.  Each lane runs in a fresh
``spawn`` process whose environment (thread counts, allocator and log switches) is in place
before the child imports anything.  The parent watches every cell with a deadline:

* a worker that dies (a signal, a segfault, ``os.abort()``, an exit) turns only the cell in
  flight into ``error``, naming the signal and the worker's last log line;
* a worker that stays silent past the deadline is killed and its cell is ``timeout``;
* a fresh worker takes the rest of the lane, less what would surely fail again (the engine's
  :meth:`Handler.surely_fails`: the same backend, target and quantity at the same or a
  larger size) — never other quantities or targets;
* after a timeout the rest of the lane may fan out (``fanout``): its groups run in workers
  of their own at once, so a backend that hangs everywhere costs about one deadline of wall
  time, not one per row.  Only correctness checks fan out; timing never does.

Ctrl-C (or SIGTERM turned into KeyboardInterrupt by the CLI) stops every worker and returns
what was gathered, ``interrupted`` set.  Workers ignore SIGINT from birth, so the parent
alone decides.  Nothing here prints.
"""

from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Protocol

#: Importing a framework is not a cell: it gets at least this long (TensorFlow takes seconds,
#: more when other frameworks import beside it on two cores).
LOAD_TIMEOUT_S = 60.0
#: How often the parent looks for a worker that died while something else holds its pipe.
POLL_S = 0.5
#: How long a dying worker gets to be reaped before its exit code is read.
REAP_S = 5.0
#: Set to see the frameworks' own log lines (they go to a per-worker log file otherwise).
SHOW_LOGS_ENV = "ADBENCH_SHOW_FRAMEWORK_LOGS"


class WorkerJob(Protocol):
    """What runs inside a worker: picklable, its methods called in the child only."""

    cells: Sequence[Any]

    def load(self) -> dict[str, Any]:
        """Import and configure the framework; return what it reports about itself.

        Expected problems (a framework that is not installed) belong in the results of
        :meth:`run`; an exception here fails every cell of the lane as ``error``."""
        ...

    def run(self, index: int) -> Any:
        """The picklable result of ``cells[index]``."""
        ...


class Handler(Protocol):
    """The engine's side: what results mean, and what a failure implies."""

    def started(self, cell: Any) -> None:
        """A worker began ``cell`` (for a progress line)."""

    def result(self, cell: Any, value: Any) -> None:
        """A worker finished ``cell`` with ``value``."""

    def failure(self, cell: Any, status: str, message: str) -> None:
        """``cell`` ended as ``status`` (``error`` or ``timeout``) without a result."""

    def surely_fails(self, failed: Any, other: Any) -> bool:
        """Whether ``other`` would surely fail the way ``failed`` just did."""

    def group(self, cell: Any) -> Hashable:
        """Cells that fan out together after a timeout (same target and quantity, say)."""

    def skip_note(self, failed: Any, status: str) -> str:
        """Why a cell that would surely fail the way ``failed`` did was not run."""


@dataclass
class Lane:
    """One stream of cells run by one worker at a time (a framework, usually)."""

    name: str
    cells: list[Any]
    #: A picklable job over a subset of ``cells`` (called in the parent).
    make_job: Callable[[list[Any]], WorkerJob]
    #: Environment variables the worker starts with (set before it imports anything).
    env: Mapping[str, str] = field(default_factory=dict)
    #: Set on the parts of a lane that fanned out after a timeout.
    fanned: bool = False


@dataclass
class Supervision:
    """What :func:`supervise` returns besides the results it handed to the engine."""

    #: What each lane's worker reported when it loaded, by lane name (the latest worker's).
    info: dict[str, dict[str, Any]] = field(default_factory=dict)
    interrupted: bool = False
    #: How many workers were started (restarts and fan-outs included).
    workers_started: int = 0


@dataclass
class _Worker:
    lane: Lane
    cells: list[Any]
    proc: Any
    reader: Connection
    log_path: str
    deadline: float
    current: int | None = None  # None while the framework loads
    done: int = 0
    finished: bool = False
    #: Why the parent stopped reading this worker (a result it could not unpickle).
    broken: str | None = None


def supervise(
    lanes: Sequence[Lane],
    handler: Handler,
    *,
    cell_timeout_s: float,
    parallel: int = 1,
    fanout: int = 0,
    load_timeout_s: float | None = None,
) -> Supervision:
    """Run every lane's cells in worker processes, ``parallel`` lanes at a time.

    ``fanout`` extra workers may run the groups of a lane that timed out (0: never fan out).
    Returns when every cell has a result or a failure, or on Ctrl-C (``interrupted``)."""
    load_s = max(cell_timeout_s, LOAD_TIMEOUT_S) if load_timeout_s is None else load_timeout_s
    queue: list[Lane] = [lane for lane in lanes if lane.cells]
    fan_queue: list[Lane] = []
    active: list[_Worker] = []
    out = Supervision()
    show_logs = bool(os.environ.get(SHOW_LOGS_ENV))

    with tempfile.TemporaryDirectory(prefix="adbench-workers-") as logs:

        def start(lane: Lane) -> None:
            out.workers_started += 1
            log_path = os.path.join(logs, f"{lane.name}-{out.workers_started}.log")
            proc, reader = _spawn(lane, log_path, show_logs)
            active.append(_Worker(lane, lane.cells, proc, reader, log_path, _now() + load_s))

        def fill() -> None:
            while queue and sum(not w.lane.fanned for w in active) < max(parallel, 1):
                start(queue.pop(0))
            while fan_queue and sum(w.lane.fanned for w in active) < fanout:
                start(fan_queue.pop(0))

        def fail_rest(worker: _Worker, status: str, message: str) -> None:
            """The cell in flight failed: report it, skip what would surely fail the same
            way, and queue a fresh worker (or several, fanned out) for the rest."""
            assert worker.current is not None
            # A worker that dies between two cells is charged with the next one.
            index = max(worker.current, worker.done)
            if index >= len(worker.cells):
                return
            failed = worker.cells[index]
            handler.failure(failed, status, message)
            rest = []
            for cell in worker.cells[index + 1 :]:
                if handler.surely_fails(failed, cell):
                    handler.failure(cell, status, handler.skip_note(failed, status))
                else:
                    rest.append(cell)
            if not rest:
                return
            lane = worker.lane
            if status == "timeout" and fanout > 0:
                groups: dict[Hashable, list[Any]] = {}
                for cell in rest:
                    groups.setdefault(handler.group(cell), []).append(cell)
                fan_queue.extend(
                    Lane(lane.name, cells, lane.make_job, lane.env, fanned=True)
                    for cells in groups.values()
                )
            elif lane.fanned:  # a fanned-out part stays within the fan-out's own cap
                fan_queue.insert(0, Lane(lane.name, rest, lane.make_job, lane.env, True))
            else:
                queue.insert(0, Lane(lane.name, rest, lane.make_job, lane.env))

        def fail_all(worker: _Worker, status: str, message: str) -> None:
            for cell in worker.cells[worker.done :]:
                handler.failure(cell, status, message)

        try:
            fill()
            while active:
                soonest = min(w.deadline for w in active)
                # At most POLL_S between looks: a helper process the worker forked holds
                # the pipe (and the sentinel) open after the worker itself died, so a death
                # is also seen by asking for the worker's exit status.
                wait([w.reader for w in active], min(max(soonest - _now(), 0.0), POLL_S))
                for worker in active:
                    _drain(worker, handler, out, cell_timeout_s)
                    if worker.finished:
                        continue
                    if not _alive_reader(worker) or not worker.proc.is_alive():
                        worker.proc.join(REAP_S)
                        why = worker.broken or _death(worker.proc, worker.log_path)
                        name = worker.lane.name
                        if worker.current is None:
                            fail_all(worker, "error", f"{name} worker died while loading: {why}")
                        else:
                            fail_rest(worker, "error", f"worker died during this cell: {why}")
                        worker.finished = True
                for worker in active:
                    if not worker.finished and _now() >= worker.deadline:
                        _stop(worker.proc)
                        if worker.current is None:
                            fail_all(
                                worker,
                                "timeout",
                                f"starting the {worker.lane.name} worker took longer than "
                                f"{load_s:g} s",
                            )
                        else:
                            fail_rest(
                                worker,
                                "timeout",
                                f"no result within --timeout {cell_timeout_s:g} s",
                            )
                        worker.finished = True
                for worker in [w for w in active if w.finished]:
                    _close(worker)
                    active.remove(worker)
                fill()
        except KeyboardInterrupt:
            out.interrupted = True
        finally:
            for worker in active:
                _close(worker)
    return out


def _now() -> float:
    return time.monotonic()


def _drain(worker: _Worker, handler: Handler, out: Supervision, cell_timeout_s: float) -> None:
    """Handle every message the worker has sent so far."""
    while not worker.finished:
        try:
            if not worker.reader.poll(0):
                return
            msg = worker.reader.recv()
        except (EOFError, OSError):
            worker.reader.close()
            return
        except Exception as exc:  # a result this process cannot unpickle, say
            worker.broken = f"its result could not be read: {type(exc).__name__}: {exc}"
            worker.reader.close()
            return
        kind = msg[0]
        if kind == "ready":
            out.info[worker.lane.name] = msg[1]
            worker.current = 0
            worker.deadline = _now() + cell_timeout_s
        elif kind == "start":
            worker.current = msg[1]
            worker.deadline = _now() + cell_timeout_s
            handler.started(worker.cells[msg[1]])
        elif kind == "result":
            handler.result(worker.cells[msg[1]], msg[2])
            worker.done = msg[1] + 1
        elif kind == "done":
            worker.proc.join(REAP_S)
            worker.finished = True


def _alive_reader(worker: _Worker) -> bool:
    return not worker.reader.closed


def _close(worker: _Worker) -> None:
    with contextlib.suppress(OSError):
        worker.reader.close()
    _stop(worker.proc)


def _spawn(lane: Lane, log_path: str, show_logs: bool) -> tuple[Any, Connection]:
    ctx = multiprocessing.get_context("spawn")  # never fork: the parent may hold locks
    reader, writer = ctx.Pipe(duplex=False)
    job = lane.make_job(lane.cells)
    # Not a daemon: torch.compile and XLA start helper processes of their own.
    proc = ctx.Process(target=_child_main, args=(writer, job, log_path, show_logs, os.getpid()))
    with _start_conditions(lane.env), _output_to(None if show_logs else log_path):
        proc.start()
    writer.close()  # only the child writes now: its exit closes the pipe, seen as EOF
    return proc, reader


@contextlib.contextmanager
def _start_conditions(env: Mapping[str, str]) -> Iterator[None]:
    """While a worker starts: its variables in the environment it inherits, and SIGINT
    ignored (inherited through exec), so Ctrl-C reaches only the parent."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    main = threading.current_thread() is threading.main_thread()
    old = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        yield
    finally:
        if main:
            signal.signal(signal.SIGINT, old)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def _output_to(log_path: str | None) -> Iterator[None]:
    """While a worker starts: this process's file descriptors 1 and 2 point at the
    worker's log, which the child inherits.  So what the child writes before
    :func:`_child_main` redirects them itself — a module imported while its job is
    unpickled (a plugin that imports TensorFlow at the top), a main script re-imported by
    ``spawn``, a failure to start — lands in its log, never on the terminal, and is still
    named when the worker dies.  ``None``: leave them (``ADBENCH_SHOW_FRAMEWORK_LOGS``)."""
    if log_path is None:
        yield
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    try:
        saved = [os.dup(1), os.dup(2)]
    except OSError:  # no stdout or stderr here: nothing could reach a terminal
        yield
        return
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.dup2(log, 1)
        os.dup2(log, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (log, *saved):
            os.close(fd)


def _stop(proc: Any) -> None:
    """Terminate a worker and every process it started (its own process group), killing
    what ignores that, and reap it: no helper of a framework outlives its cell."""
    if proc.pid is None:
        return
    if proc.is_alive():
        _signal_group(proc.pid, signal.SIGTERM)
        proc.join(2)
    _signal_group(proc.pid, signal.SIGKILL)
    proc.join(2)


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _death(proc: Any, log_path: str) -> str:
    """How a worker died, with the last line it wrote (a faulthandler note, a C++ abort,
    the last line of a Python traceback)."""
    code = proc.exitcode
    if code is None:
        how = "it stopped answering"
    elif code < 0:
        try:
            how = f"killed by {signal.Signals(-code).name}"
        except ValueError:
            how = f"killed by signal {-code}"
    else:
        how = f"exit code {code}"
    return how + last_log_line(log_path)


def last_log_line(log_path: str) -> str:
    """``; last output: …`` from a worker's log, or an empty string."""
    with contextlib.suppress(OSError):
        lines = [ln.strip() for ln in Path(log_path).read_text(errors="replace").splitlines()]
        lines = [ln for ln in lines if ln]
        # faulthandler's headline says more than the frames of its stack dump; the line
        # before it is what the worker itself said last.
        fatal = next((i for i, ln in enumerate(lines) if ln.startswith("Fatal Python error")), None)
        if fatal is None:
            return f"; last output: {lines[-1][:200]}" if lines else ""
        said = f"{lines[fatal - 1][:200]}; " if fatal > 0 else ""
        return f"; last output: {said}{lines[fatal][:200]}"
    return ""


# ---- the child ---------------------------------------------------------------------------


def _child_main(
    conn: Connection, job: WorkerJob, log_path: str, show_logs: bool, parent: int
) -> None:
    """A worker process: load, then run each cell and send its result back."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # belt and braces: inherited ignored
    # A process group of its own, so that stopping the worker stops its helpers too.
    with contextlib.suppress(OSError):
        os.setsid()
    if not show_logs:
        # Framework chatter (and any crash report) goes to a log the parent reads on a death.
        log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
    faulthandler.enable()  # a segfault leaves its Python stack in the log
    _exit_with_parent(parent)
    try:
        conn.send(("ready", job.load()))
        for i in range(len(job.cells)):
            conn.send(("start", i))
            conn.send(("result", i, job.run(i)))
        conn.send(("done",))
    except (BrokenPipeError, EOFError):  # the parent is gone: nothing left to report to
        return
    finally:
        conn.close()
    # Everything is reported: end without the interpreter's teardown, in which TensorFlow
    # alone spends about a second of a 2-core machine that the other workers need (and
    # the parent waits for it to reap the worker).  Helpers it started go with its group.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    with contextlib.suppress(Exception):  # and what native code printed through C's stdio
        ctypes.CDLL(None).fflush(None)
    os._exit(0)


def _exit_with_parent(parent: int) -> None:
    """End this worker if the parent disappears (killed hard, it cannot stop us)."""

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=watch, daemon=True).start()


__all__ = ["LOAD_TIMEOUT_S", "Handler", "Lane", "Supervision", "WorkerJob", "supervise"]
