"""The real ``adbench`` command in a subprocess, as a user runs it."""

from __future__ import annotations

import json
import os
import re

import pytest

from autodiff_bench.backends import builtin_backends
from tests.conftest import adbench

#: Every shipped backend that can run here, from the registry.
EVERY = [n for n, cls in builtin_backends().items() if cls.is_available()]


def value_rows(out: str) -> dict[str, list[str]]:
    """The rows of ``show``'s table, by backend."""
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if cells and cells[0] in EVERY:
            rows[cells[0]] = cells[1:]
    return rows


def test_show_cubic_at_3_from_every_backend() -> None:
    run = adbench("show", "cubic", "--at", "3")
    assert run.code == 0, run.err
    rows = value_rows(run.out)
    assert set(rows) == set(EVERY)
    for backend, cells in rows.items():
        assert float(cells[0]) == 33.0, backend
        assert float(cells[1]) == pytest.approx(29.0, rel=1e-12), backend


def test_show_tanh_fourth_derivative_from_every_backend() -> None:
    run = adbench("show", "tanh", "--at", "0.5")
    assert run.code == 0, run.err
    rows = value_rows(run.out)
    assert set(rows) == set(EVERY)
    for backend, cells in rows.items():
        rel = 1e-6 if backend == "finite" else 1e-14
        assert float(cells[4]) == pytest.approx(3.9522195637245830, rel=rel), backend


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_default_check_passes_everywhere(dtype: str) -> None:
    run = adbench("check", "--dtype", dtype)
    assert run.code == 0, run.out[-3000:]
    last = run.out.strip().splitlines()[-1]
    assert last.startswith("All ") and "checked cells pass" in last and dtype in last
    assert f"{len(EVERY)} backends" in last
    assert run.err == ""  # no framework noise, no warnings


def test_check_json_to_stdout_is_strict() -> None:
    run = adbench("check", "-t", "logistic", "-b", "manual,minigrad", "-f", "json")
    assert run.code == 0
    doc = json.loads(run.out, parse_constant=lambda c: pytest.fail(f"non-strict literal {c}"))
    statuses = {r["status"] for r in doc["results"]}
    assert statuses == {"pass"}
    assert {r["point"] for r in doc["results"]} >= {"z=800", "z=-800"}


def test_bad_input_through_the_real_command() -> None:
    run = adbench("check", "--targets", "cubc")
    assert run.code == 2
    assert run.err == "adbench: error: unknown target 'cubc' (did you mean 'cubic'?)\n"
    assert run.out == ""


def test_no_color_is_respected() -> None:
    args = ("check", "-t", "square", "-b", "manual")
    colored = adbench(*args, env={"FORCE_COLOR": "1", "NO_COLOR": None})
    plain = adbench(*args, env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert colored.code == plain.code == 0
    color = re.compile(r"\x1b\[[0-9;]*3[0-7]m")  # a foreground colour
    assert color.search(colored.out)
    assert not color.search(plain.out)


def test_plain_list_prints_what_its_typer_command_prints_without_importing_typer() -> None:
    # ``adbench list [WHAT]`` has nothing to parse and skips typer (a quarter of its
    # start-up); the typer command prints the very same tables.
    fast = "from autodiff_bench.cli import main as run\nargs = sys.argv[1:]\n"
    parsed = (
        "from autodiff_bench.cli import command_app\n"
        "def run(args):\n    sys.exit(command_app()(args=args, prog_name='adbench', "
        "standalone_mode=False))\n"
    )
    end = (
        "try:\n    run(sys.argv[1:])\nexcept SystemExit as exc:\n"
        "    print('EXIT', exc.code, 'typer' in sys.modules, file=sys.stderr)\n"
    )
    import subprocess
    import sys

    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
    for what in ([], ["targets"], ["backends"], ["workloads"], ["all"]):
        out = [
            subprocess.run(
                [sys.executable, "-c", "import sys\n" + start + end, "list", *what],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
            for start in (fast, parsed)
        ]
        assert out[0].stderr.strip().splitlines()[-1] == "EXIT 0 False", what
        assert out[1].stderr.strip().splitlines()[-1] == "EXIT 0 True", what
        assert out[0].stdout == out[1].stdout and "┃ id" in out[0].stdout, what
    bad = adbench("list", "targts")  # not a list's name: typer's path and its one-line error
    assert bad.code == 2 and "unknown list 'targts'" in bad.err and "'targets'" in bad.err


def test_help_and_list_import_no_framework_and_no_numpy() -> None:
    # NumPy is a third of their start-up budget: --help and list compute nothing.
    probe = (
        "import sys\nfrom autodiff_bench.cli import main\n"
        "for argv in (['--help'], ['list']):\n"
        "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
        "print(sorted(m for m in ('torch', 'tensorflow', 'jax', 'autograd', 'numpy')"
        " if m in sys.modules), file=sys.stderr)\n"
    )
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stderr.strip().splitlines()[-1] == "[]"
    assert "least_squares" in out.stdout and "Commands" in out.stdout
