"""A small mutation run: plant one realistic bug at a time and see whether the tests notice.

Each mutant is data (:class:`Mutant`): an exact source snippet and its replacement.  For each
one the repository (files git tracks, plus untracked files it does not ignore) is copied into
a temporary folder, the mutant is applied there, and the fast test suite runs in that copy::

    python -m pytest -x -q -rfE -m "not slow" -p no:cacheprovider

A failing run means the mutant was *caught* (by the first failing test), once that test
has failed again when run alone in the same copy (if it passes alone, the outcome is
*flaky*: a timing test that lost to a loaded machine proves nothing).  A run past the
timeout counts as caught, reported apart; a passing run means the mutant *survived*.  The
unmutated suite runs first as the baseline (it must pass).  The working tree is never
modified.

Usage::

    python tools/mutants.py                   # every mutant, then the score
    python tools/mutants.py --list            # names and what a user would see
    python tools/mutants.py --only jax-no-block-until-ready --only report-nan-in-json
    python tools/mutants.py --jobs 2 --json mutants.json --pytest-args --maxfail=1

The list must follow the code: a snippet that no longer occurs exactly once makes the run
stop before it starts (see :func:`stale_mutants`, which ``tests/test_mutants.py`` checks).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TIMEOUT_S = 600.0
PYTEST_ARGS = ("-x", "-q", "-rfE", "-m", "not slow", "-p", "no:cacheprovider")
#: Left out of every mutant's run: it checks this list against the (now mutated) source.
IGNORED_TESTS = ("tests/test_mutants.py",)
#: The pytest runs under way (each in a session of its own), killed on Ctrl-C.
_RUNNING: set[subprocess.Popen[str]] = set()
_LOCK = threading.Lock()
_STOP = threading.Event()


@dataclass(frozen=True)
class Mutant:
    """One planted bug: ``old`` (which must occur exactly once in ``path``) becomes ``new``."""

    name: str
    #: What a user of adbench would see if this bug shipped.
    description: str
    #: Relative to the repository root.
    path: str
    old: str
    new: str
    #: Further (old, new) edits in the same file, for a bug that needs two changes.
    more: tuple[tuple[str, str], ...] = ()

    def edits(self) -> list[tuple[str, str]]:
        """Every (old, new) pair of this mutant."""
        return [(self.old, self.new), *self.more]


MUTANTS: tuple[Mutant, ...] = (
    # ---- correctness.py: the array verdict and the tolerance table -----------------------
    Mutant(
        "correctness-inf-only",
        "a NaN gradient is compared as a number (NaN > allowed is False): it passes",
        "autodiff_bench/correctness.py",
        "    if not np.all(np.isfinite(g)):\n        bad = ~np.isfinite(g)",
        "    if np.any(np.isinf(g)):\n        bad = np.isinf(g)",
    ),
    Mutant(
        "correctness-rtol-ignored",
        "large derivatives fail on round-off: only atol is allowed, whatever their size",
        "autodiff_bench/correctness.py",
        "    return atol * scale + rtol * ref",
        "    return atol * scale + 0.0 * ref",
    ),
    Mutant(
        "correctness-atol-unscaled",
        "atol is absolute again: a 1% error on a 1e-13 Hessian (logistic at z = 30) passes",
        "autodiff_bench/correctness.py",
        "    return atol * scale + rtol * ref",
        "    return atol + rtol * ref",
    ),
    Mutant(
        "correctness-tolerance-ge",
        "an error exactly at the allowance (atol=rtol=0: any exact match) counts as a mismatch",
        "autodiff_bench/correctness.py",
        "    bad = diff > allowed",
        "    bad = diff >= allowed",
    ),
    Mutant(
        "correctness-mismatched-off-by-one",
        "one wrong element is not counted: a cell with a single bad entry passes",
        "autodiff_bench/correctness.py",
        "    mismatched = int(bad.sum())",
        "    mismatched = int(bad.sum()) - 1",
    ),
    Mutant(
        "correctness-narrow-dtype-accepted",
        "a float32 result for a float64 request passes (digits lost); float64 for float32 fails",
        "autodiff_bench/correctness.py",
        "            or got.dtype.itemsize < np.dtype(dtype).itemsize",
        "            or got.dtype.itemsize > np.dtype(dtype).itemsize",
    ),
    Mutant(
        "correctness-finite-table-for-ad",
        "AD backends are judged with the loose finite-difference tolerances: real bugs pass",
        "autodiff_bench/correctness.py",
        "        table = self.finite if finite else self.ad",
        "        table = self.finite",
    ),
    # ---- check verdicts: check/, model/, render/check.py ----------------------------
    Mutant(
        "model-nonfinite-not-failing",
        "a NaN/Inf derivative shows in the table but check exits 0",
        "autodiff_bench/model/records.py",
        'FAILING = frozenset({"fail", "nonfinite", "diverged", "timeout", "error"})',
        'FAILING = frozenset({"fail", "diverged", "timeout", "error"})',
    ),
    Mutant(
        "model-nan-in-json",
        'the JSON output holds "got": NaN, which strict JSON readers (jq, browsers) reject',
        "autodiff_bench/model/document.py",
        "        return value if math.isfinite(value) else None\n",
        "        return value\n",
        more=(("indent=2, allow_nan=False, ensure_ascii", "indent=2, ensure_ascii"),),
    ),
    Mutant(
        "model-worst-status-is-best",
        "a cell failing at one point of three is summarised as pass",
        "autodiff_bench/model/records.py",
        '    return max(statuses, key=STATUSES.index, default="pass")',
        '    return min(statuses, key=STATUSES.index, default="pass")',
    ),
    Mutant(
        "check-closed-form-nan-guard-off",
        "a closed form that is NaN at a point is blamed on the backend (nonfinite/fail)",
        "autodiff_bench/check/run.py",
        "    if not np.all(np.isfinite(ref)):",
        "    if False and not np.all(np.isfinite(ref)):",
    ),
    Mutant(
        "check-import-crash-unavailable",
        "a framework whose import crashes is shown as n/a (not installed): check passes",
        "autodiff_bench/backends/__init__.py",
        '        return ("error", f"{type(exc).__name__}: {exc}")',
        '        return ("unavailable", f"{type(exc).__name__}: {exc}")',
    ),
    Mutant(
        "check-reference-not-at-cast-point",
        "float32 checks fail spuriously: the reference is taken at the uncast float64 point",
        "autodiff_bench/check/run.py",
        "    ref_point = point.astype(plan.dtype).astype(np.float64)",
        "    ref_point = point",
    ),
    Mutant(
        "check-suspect-needs-one-backend",
        "a single failing AD backend makes the closed form the suspect",
        "autodiff_bench/check/run.py",
        '        if len(recs) < 2 or any(r.status == "pass" for r in recs):',
        '        if len(recs) < 1 or any(r.status == "pass" for r in recs):',
    ),
    Mutant(
        "render-no-suspect-lines",
        "the details no longer say the closed form is the suspect when every AD backend agrees",
        "autodiff_bench/render/check.py",
        "    for (target, quantity), points in suspects.items():",
        "    for (target, quantity), points in list(suspects.items())[:0]:",
    ),
    # ---- compare/: the CI gate ---------------------------------------------------------
    Mutant(
        "compare-broken-not-regression",
        "a cell that passed in BASE and fails in NEW is listed, but compare exits 0",
        "autodiff_bench/compare/gate.py",
        '        change.kind, change.regression = "broken", True',
        '        change.kind, change.regression = "broken", False',
    ),
    Mutant(
        "compare-slowdown-factor-ignored",
        "the significance test ignores --max-slowdown: any significant slowdown past it fails",
        "autodiff_bench/compare/stats.py",
        "    scale = factor if slower else 1.0 / factor",
        "    scale = 1.0",
    ),
    Mutant(
        "compare-alpha-reversed",
        "noise is called a regression and real slowdowns are called noisy (p > alpha)",
        "autodiff_bench/compare/stats.py",
        "        return SlowdownVerdict(p < alpha and every_run, p, name, every_run)",
        "        return SlowdownVerdict(p > alpha and every_run, p, name, every_run)",
    ),
    Mutant(
        "compare-mann-whitney-swapped",
        "the rank test is run the wrong way round: slower and faster are swapped",
        "autodiff_bench/compare/stats.py",
        '    slower = mannwhitneyu(new, base, alternative="greater", method=method)',
        '    slower = mannwhitneyu(new, base, alternative="less", method=method)',
        more=(
            (
                '    faster = mannwhitneyu(new, base, alternative="less", method=method)',
                '    faster = mannwhitneyu(new, base, alternative="greater", method=method)',
            ),
        ),
    ),
    # ---- timing/ and workers.py: the harness and the supervisor ------------------------
    Mutant(
        "timing-calibration-ignores-resolution",
        "on a coarse clock a sample lasts a few ticks: medians are rounding noise",
        "autodiff_bench/timing/harness.py",
        "    sample_ns = max(s.min_sample_s, RESOLUTION_FACTOR * timer_resolution_s()) * 1e9",
        "    sample_ns = s.min_sample_s * 1e9",
    ),
    Mutant(
        "timing-cold-call-in-samples",
        "the JIT-compiling first call is one of the warm samples: max and IQR blow up",
        "autodiff_bench/timing/harness.py",
        "        times: list[float] = []",
        "        times: list[float] = [cold_ns * 1e-9]",
    ),
    Mutant(
        "timing-median-is-mean",
        "one slow outlier (a GC pause, a context switch) drags the reported median",
        "autodiff_bench/timing/harness.py",
        "        return quantile(self.times_s, 0.5)",
        "        return sum(self.times_s) / len(self.times_s)",
    ),
    Mutant(
        "timing-gc-left-on",
        "collections land inside samples and are charged to whichever call triggered them",
        "autodiff_bench/timing/harness.py",
        "    gc.disable()",
        "    gc.enable()",
    ),
    Mutant(
        "workers-crash-is-pass",
        "a backend that segfaults mid-cell is reported as pass (with no time)",
        "autodiff_bench/workers.py",
        '(worker, "error", f"worker died during this cell: {why}")',
        '(worker, "pass", f"worker died during this cell: {why}")',
    ),
    Mutant(
        "timing-ratio-to-wrong-primal",
        "ratio_to_primal divides by the closed form's f, not the backend's own f",
        "autodiff_bench/timing/report.py",
        '        primal = medians.get((r.target, r.size, "primal", r.label))',
        '        primal = medians.get((r.target, r.size, "primal", REFERENCE))',
    ),
    Mutant(
        "time-skip-overreaches",
        "one timeout skips every later cell of that framework: other targets and quantities",
        "autodiff_bench/timing/run.py",
        "        return same and (other.size or 0) >= (failed.size or 0)",
        "        return True",
    ),
    # ---- backends: casts and syncs -------------------------------------------------------
    Mutant(
        "base-prepare-casts-float64",
        "--dtype float32 silently computes in float64 for every framework backend",
        "autodiff_bench/backends/base.py",
        "        cast = point.astype(self.dtype)\n        x = self.asarray(cast.x)",
        '        cast = point.astype("float64")\n        x = self.asarray(cast.x)',
    ),
    Mutant(
        "torch-asarray-float64",
        "torch computes float32 requests in float64 (timings and checks of the wrong dtype)",
        "autodiff_bench/backends/torch_backend.py",
        "        return self.torch.as_tensor(np.array(a), device=self.device)",
        "        return self.torch.as_tensor(np.array(a, dtype=np.float64), device=self.device)",
    ),
    Mutant(
        "jax-no-block-until-ready",
        "JAX times only the dispatch: its derivatives look orders of magnitude faster",
        "autodiff_bench/backends/jax_backend.py",
        "        self.jax.block_until_ready(value)",
        "        del value",
    ),
    # ---- minigrad: broadcasting's backward rule ------------------------------------------
    Mutant(
        "minigrad-unbroadcast-wrong-axes",
        "minigrad's gradients are wrong (or crash) where a broadcast added leading axes",
        "autodiff_bench/minigrad/engine.py",
        "    stretched = [lead + i for i, n in enumerate(shape) if n == 1",
        "    stretched = [i for i, n in enumerate(shape) if n == 1",
    ),
)


def stale_mutants(root: Path = ROOT, mutants: tuple[Mutant, ...] = MUTANTS) -> list[str]:
    """One message per mutant whose ``old`` snippet does not occur exactly once in its file
    (empty when every mutant still applies)."""
    out = []
    for m in mutants:
        path = root / m.path
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        for old, _ in m.edits():
            count = text.count(old)
            if count != 1:
                found = "not found" if count == 0 else f"found {count} times"
                out.append(
                    f"mutant {m.name} no longer applies to {m.path} ({found}): update its snippet"
                )
                break
    return out


def tracked_files(root: Path) -> list[str]:
    """Files git tracks under ``root``, plus untracked ones it does not ignore."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout
    return sorted({p for p in out.decode().split("\0") if p and (root / p).is_file()})


def copy_tree(root: Path, dest: Path) -> None:
    """Copy the repository's files (see :func:`tracked_files`) into ``dest``."""
    for rel in tracked_files(root):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, target)


def apply_mutant(copy: Path, mutant: Mutant) -> None:
    """Plant ``mutant`` in the copy at ``copy`` (ValueError when its snippet is stale)."""
    path = copy / mutant.path
    text = path.read_text(encoding="utf-8")
    for old, new in mutant.edits():
        if text.count(old) != 1:
            raise ValueError(
                f"mutant {mutant.name} no longer applies to {mutant.path}: update its snippet"
            )
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")


@dataclass
class Outcome:
    """What the test suite did with one mutant (``baseline`` for the unmutated code)."""

    name: str
    #: ``caught``, ``timeout`` (caught by the timeout), ``survived``, ``flaky`` (the test that
    #: failed passed when run again alone: undecided), or for the baseline ``pass``, ``fail``
    #: or ``flaky``.
    status: str
    seconds: float
    #: The first failing (or erroring) test id, when pytest named one.
    caught_by: str | None = None
    returncode: int | None = None
    tail: str = ""


_FIRST_FAILURE = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.MULTILINE)


def first_failure(output: str) -> str | None:
    """The first ``FAILED``/``ERROR`` test id of pytest's ``-rfE`` summary."""
    match = _FIRST_FAILURE.search(output)
    return match.group(1) if match else None


def _pytest(copy: Path, args: list[str], timeout_s: float) -> tuple[int | None, str]:
    """Run pytest in ``copy`` (importing the copy); its exit code (None: timed out) and
    output."""
    cmd = [sys.executable, "-m", "pytest", *args]
    env = dict(os.environ, PYTHONPATH=str(copy), PYTHONDONTWRITEBYTECODE="1")
    # A session of its own, so a timeout (or Ctrl-C) kills pytest's subprocesses too.
    proc = subprocess.Popen(
        cmd,
        cwd=copy,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    with _LOCK:
        _RUNNING.add(proc)
        if _STOP.is_set():
            _kill(proc)
    try:
        output, _ = proc.communicate(timeout=timeout_s)
        return proc.returncode, output
    except subprocess.TimeoutExpired:
        _kill(proc)
        return None, proc.communicate()[0]
    finally:
        with _LOCK:
            _RUNNING.discard(proc)


def run_suite(
    root: Path,
    mutant: Mutant | None,
    timeout_s: float,
    pytest_args: list[str],
    confirm: bool = True,
) -> Outcome:
    """Copy ``root``, plant ``mutant`` (None: the baseline) and run the tests in the copy.

    With ``confirm``, the test that failed first runs again on its own: when it then passes,
    the failure was load or chance, not the mutant, and the outcome is ``flaky``."""
    name = mutant.name if mutant else "baseline"
    start = time.monotonic()
    if _STOP.is_set():
        return Outcome(name, "skipped", 0.0)
    with tempfile.TemporaryDirectory(prefix=f"mutant-{name}-") as tmp:
        copy = Path(tmp)
        copy_tree(root, copy)
        if mutant:
            apply_mutant(copy, mutant)
        ignores = [f"--ignore={t}" for t in IGNORED_TESTS]
        code, output = _pytest(copy, [*PYTEST_ARGS, *ignores, *pytest_args], timeout_s)
        failed = first_failure(output)
        if code is None:
            status = "timeout" if mutant else "fail"
        elif code == 0:
            status = "survived" if mutant else "pass"
        else:
            status = "caught" if mutant else "fail"
            if confirm and failed and not _STOP.is_set():
                again, _ = _pytest(copy, ["-q", "-p", "no:cacheprovider", failed], timeout_s)
                if again == 0:
                    status = "flaky"
    return Outcome(name, status, time.monotonic() - start, failed, code, output[-2000:])


def _kill(proc: subprocess.Popen[str]) -> None:
    """Kill a pytest run and every process it started."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def format_line(o: Outcome) -> str:
    """One line of the report."""
    by = f"  {o.caught_by}" if o.caught_by else ""
    if o.status == "caught" and not o.caught_by:
        by = f"  (pytest exit code {o.returncode}, no test named)"
    return f"{o.status:<9} {o.seconds:6.1f} s  {o.name}{by}"


def main(argv: list[str] | None = None) -> int:
    """Run the mutants; exit 0 when every one was caught, 1 when some survived (or were
    undecided), 2 on a stale mutant list or a failing baseline."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", metavar="NAME", help="run just this mutant")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--jobs", type=int, default=1, help="mutants run at once (default 1)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help=f"seconds per mutant (default {DEFAULT_TIMEOUT_S:g})",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the outcomes as JSON")
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip the run of the unmutated suite (which must pass)",
    )
    parser.add_argument(
        "--no-confirm",
        action="store_true",
        help="do not re-run the catching test alone to tell a catch from a flaky test",
    )
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument(
        "--pytest-args",
        nargs=argparse.REMAINDER,
        default=[],
        help="the rest of the line goes to pytest",
    )
    args = parser.parse_args(argv)
    # A shell starts a background job with SIGINT ignored, and pytest and the processes it
    # starts would inherit that: the tests that interrupt a real adbench would fail.  A
    # handled signal is reset to the default in every child.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    stale = stale_mutants(args.root)
    if stale:
        for line in stale:
            print(line, file=sys.stderr)
        return 2
    mutants = list(MUTANTS)
    if args.only:
        known = {m.name: m for m in MUTANTS}
        unknown = [n for n in args.only if n not in known]
        if unknown:
            parser.error(f"unknown mutant(s): {', '.join(unknown)} (see --list)")
        mutants = [known[n] for n in dict.fromkeys(args.only)]
    if args.list:
        for m in mutants:
            print(f"{m.name:<40} {m.path}\n    {m.description}")
        return 0

    jobs: list[Mutant | None] = [*([] if args.no_baseline else [None]), *mutants]
    outcomes: dict[str, Outcome] = {}
    pool = cf.ThreadPoolExecutor(max_workers=max(args.jobs, 1))
    confirm = not args.no_confirm
    futures = [
        pool.submit(run_suite, args.root, m, args.timeout, args.pytest_args, confirm) for m in jobs
    ]
    try:
        for fut in cf.as_completed(futures):
            o = fut.result()
            outcomes[o.name] = o
            print(format_line(o), flush=True)
    except KeyboardInterrupt:
        for fut in futures:
            fut.cancel()
        with _LOCK:
            _STOP.set()
            for proc in list(_RUNNING):
                _kill(proc)
        pool.shutdown(wait=True)
        print("interrupted", file=sys.stderr)
        return 130
    pool.shutdown()

    ordered = [outcomes[m.name] for m in mutants]
    caught = sum(o.status in ("caught", "timeout") for o in ordered)
    timeouts = sum(o.status == "timeout" for o in ordered)
    survived = [o.name for o in ordered if o.status == "survived"]
    flaky = [o.name for o in ordered if o.status == "flaky"]
    pct = 100.0 * caught / len(ordered) if ordered else 100.0
    print()
    for o in ordered:
        print(format_line(o))
    by_timeout = f", {timeouts} by timeout" if timeouts else ""
    print(f"\ncaught {caught} of {len(ordered)} ({pct:.0f}%){by_timeout}")
    if survived:
        print(f"survived: {', '.join(survived)}")
    if flaky:
        print(
            f"undecided (the failing test passed alone; run again with --only): {', '.join(flaky)}"
        )
    baseline = outcomes.get("baseline")
    if baseline and baseline.status == "flaky":
        print(f"the unmutated suite failed once at {baseline.caught_by}, which passed alone")
    elif baseline and baseline.status != "pass":
        print(f"the unmutated suite fails ({baseline.caught_by}): the score means nothing")
    if args.json:
        doc = {
            "caught": caught,
            "total": len(ordered),
            "score": pct,
            "baseline": asdict(baseline) if baseline else None,
            "mutants": [{**asdict(o), **asdict(m)} for o, m in zip(ordered, mutants, strict=True)],
        }
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    if baseline and baseline.status == "fail":
        return 2
    return 1 if survived or flaky else 0


if __name__ == "__main__":
    sys.exit(main())
