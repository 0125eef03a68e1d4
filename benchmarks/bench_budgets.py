"""Measure the start-up and check budgets (README, "Development") and print the figures.

    python benchmarks/bench_budgets.py [--repeat 3]

- ``adbench --help`` and ``adbench list``: wall time of the real command (budgets 0.15 s and
  0.2 s),
  and which frameworks they imported (must be none);
- the default ``adbench check`` against the time it takes only to import the installed
  frameworks, the two run in turns and the ratio taken per turn (budget: 1.3×).

Each figure is the median of ``--repeat`` fresh processes; the ratio of two medians taken in
one run is more trustworthy than either absolute time on a shared machine.

The commands run as on a user's machine: Python writes its bytecode caches (the first,
untimed run of each command writes them), even where ``PYTHONDONTWRITEBYTECODE`` is set in
the calling shell — with it, every start recompiles adbench's own sources (about 65 ms of
``adbench list`` on a 2-core machine), which no installed copy does.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time

FRAMEWORKS = ("tensorflow", "torch", "jax", "autograd")
PROBE = (
    "import sys\n"
    "from autodiff_bench.cli import main\n"
    "try:\n"
    "    main(sys.argv[1:])\n"
    "except SystemExit:\n"
    "    pass\n"
    f"print('IMPORTED', sorted(m for m in {FRAMEWORKS} if m in sys.modules), file=sys.stderr)\n"
)


def wall(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Seconds one command took, and its result."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["NO_COLOR"] = "1"
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    return time.perf_counter() - start, proc


def median_wall(cmd: list[str], repeat: int) -> float:
    """The median wall time of ``repeat`` runs (after one warm-up for the file cache)."""
    wall(cmd)
    return statistics.median(wall(cmd)[0] for _ in range(repeat))


#: The budgets on a 2-core machine.
HELP_BUDGET_S = 0.15
LIST_BUDGET_S = 0.2
#: The default check, as a multiple of the time it takes just to import the frameworks.
CHECK_BUDGET = 1.3


def main() -> None:
    """Run the measurements and print one line per budget."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    py = sys.executable
    adbench = [py, "-m", "autodiff_bench"]
    installed = [m for m in FRAMEWORKS if importlib.util.find_spec(m) is not None]

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, frameworks: {installed}")
    for sub, budget_s in ((["--help"], HELP_BUDGET_S), (["list"], LIST_BUDGET_S)):
        t = median_wall([*adbench, *sub], args.repeat)
        _, probe = wall([py, "-c", PROBE, *sub])
        imported = probe.stderr.strip().splitlines()[-1].removeprefix("IMPORTED ")
        verdict = "ok" if t < budget_s and imported == "[]" else "OVER BUDGET"
        print(
            f"adbench {' '.join(sub):7s} {t * 1000:7.0f} ms  frameworks imported: {imported}  "
            f"(budget {budget_s * 1000:.0f} ms, none imported) {verdict}"
        )

    # Imports and check in turns, the ratio taken per turn: a shared machine's speed drifts
    # by tens of percent within a minute, and a turn's two runs see the same drift.
    import_cmd = [py, "-c", "import " + ", ".join(installed or ["numpy"])]
    wall(import_cmd)
    pairs = []
    for _ in range(args.repeat):
        t_import = wall(import_cmd)[0]
        t_check, last = wall([*adbench, "check"])
        pairs.append((t_import, t_check))
    imports = statistics.median(p[0] for p in pairs)
    check = statistics.median(p[1] for p in pairs)
    ratio = statistics.median(c / i for i, c in pairs)
    summary = last.stdout.strip().splitlines()[-1] if last.stdout.strip() else last.stderr
    print(f"import {', '.join(installed)}: {imports:6.2f} s (median of {args.repeat})")
    print(
        f"adbench check (default): {check:6.2f} s  -> {ratio:.2f}x the imports, median of the "
        f"per-turn ratios {', '.join(f'{c / i:.2f}' for i, c in pairs)} "
        f"(budget {CHECK_BUDGET:g}x) {'ok' if ratio <= CHECK_BUDGET else 'OVER BUDGET'}"
    )
    print(f"  exit {last.returncode}: {summary}")


if __name__ == "__main__":
    main()
