"""``--backends-file``: a student's own engine checked from a file (the teaching engine of
``examples/`` and its twin with the classic bug), and names that are already taken."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autodiff_bench.backends import Backend, load_backends_file
from autodiff_bench.errors import UsageError
from tests.conftest import ROOT

ENGINE = ROOT / "examples" / "teaching_engine.py"
TWIN = ROOT / "examples" / "teaching_engine_buggy.py"
#: Built-in targets whose f uses a value twice (x * x, r * r, x · Ax + b · x, Horner in x²).
REUSE_A_VALUE = {"square", "cubic", "sin_x2", "taylor_cos", "quadratic", "linreg_mse"}
USE_EACH_VALUE_ONCE = {"tanh", "trace_axb", "least_squares", "logistic"}


def statuses(out: str) -> dict[tuple[str, str], set[str]]:
    """(target, quantity) -> the statuses of its records, from a JSON document."""
    found: dict[tuple[str, str], set[str]] = {}
    for r in json.loads(out)["results"]:
        found.setdefault((r["target"], r["quantity"]), set()).add(r["status"])
    return found


def test_the_teaching_engine_passes_every_first_derivative(cli) -> None:
    # The built-ins by name: other tests in this process register targets of their own.
    builtins = ",".join(sorted(REUSE_A_VALUE | USE_EACH_VALUE_ONCE))
    run = cli("check", "-b", "lessongrad", "--backends-file", str(ENGINE), "-t", builtins,
              "-f", "json")  # fmt: skip
    assert run.code == 0, run.err
    got = statuses(run.out)
    first = {k: v for k, v in got.items() if k[1] in ("d1", "grad")}
    assert set(t for t, _ in first) >= REUSE_A_VALUE | USE_EACH_VALUE_ONCE
    assert all(v == {"pass"} for v in first.values()), first
    # Second derivatives are not failures: the engine says it differentiates once.
    assert got[("cubic", "d2")] == {"unsupported"} and got[("least_squares", "hvp")] == {
        "unsupported"
    }


def test_the_twin_fails_exactly_the_targets_that_reuse_a_value(cli) -> None:
    run = cli(
        "check", "-b", "lessongrad_buggy", "--backends-file", str(TWIN),
        "-q", "d1,grad", "-t", ",".join(sorted(REUSE_A_VALUE | USE_EACH_VALUE_ONCE)),
        "-f", "json",
    )  # fmt: skip
    assert run.code == 1
    by_target = {t: v for (t, _), v in statuses(run.out).items()}
    assert {t for t, v in by_target.items() if "fail" in v} == REUSE_A_VALUE
    assert all(by_target[t] == {"pass"} for t in USE_EACH_VALUE_ONCE)


def test_the_twins_square_gradient_is_x_not_2x(cli) -> None:
    # With `=` for `+=`, d(x·x)/dx keeps only the last of the two contributions: x.
    run = cli(
        "check", "-b", "lessongrad_buggy", "--backends-file", str(TWIN),
        "-t", "square", "-q", "d1", "--points", "0", "-f", "json",
    )  # fmt: skip
    (rec,) = json.loads(run.out)["results"]
    assert rec["status"] == "fail" and rec["got"] == 5.0 and rec["ref"] == 10.0


def test_show_and_time_take_a_backends_file(cli) -> None:
    run = cli(
        "show", "cubic", "--at", "2", "-b", "manual,lessongrad", "--backends-file", str(ENGINE)
    )  # fmt: skip
    assert run.code == 0, run.err
    row = next(line for line in run.out.splitlines() if "lessongrad" in line)
    assert "14" in row  # d1 = 3x² + 2 = 14
    timed = cli(
        "time", "-t", "square", "-q", "d1", "-b", "lessongrad", "--backends-file", str(ENGINE),
        "--budget", "0.01", "-f", "json",
    )  # fmt: skip
    assert timed.code == 0, timed.err
    labels = {r["label"] for r in json.loads(timed.out)["results"]}
    assert "lessongrad" in labels


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_backends_file_that_takes_a_builtins_name_is_refused(cli, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "takeover.py",
        "from autodiff_bench.backends.minigrad_backend import MinigradBackend\n"
        "class Mine(MinigradBackend):\n    name = 'torch'\n",
    )
    run = cli("check", "-b", "torch", "--backends-file", str(path))
    assert run.code == 2
    assert "name is taken" in run.err and "Traceback" not in run.err
    assert len(run.err.strip().splitlines()) <= 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x = 1\n", "defines no backend"),
        ("import nowhere_to_be_found\n", "does not import: ModuleNotFoundError"),
    ],
)
def test_a_backends_file_without_a_backend_is_one_line(
    cli, tmp_path: Path, text: str, message: str
) -> None:
    run = cli("check", "--backends-file", str(write(tmp_path, "b.py", text)))
    assert run.code == 2 and message in run.err and "Traceback" not in run.err


def test_a_missing_backends_file_is_one_line(cli, tmp_path: Path) -> None:
    run = cli("list", "--backends-file", str(tmp_path / "nope.py"))
    assert run.code == 2 and "does not exist" in run.err


def test_loading_the_same_file_twice_registers_once() -> None:
    assert load_backends_file(ENGINE) == ["lessongrad"]
    assert load_backends_file(ENGINE) == ["lessongrad"]


def test_a_plugin_that_takes_a_name_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.metadata

    import autodiff_bench.backends as registry

    class Impostor(Backend):
        name = "jax"

    class EntryPoint:
        name = "impostor"
        value = "impostor:Impostor"

        def load(self) -> type[Backend]:
            return Impostor

    monkeypatch.setattr(registry, "_PLUGINS_LOADED", False)
    monkeypatch.setattr(registry, "_PLUGIN_CLASHES", [])
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    # the metadata scan would find no such distribution installed
    monkeypatch.setattr(registry.distributions, "may_have_entry_points", lambda group: True)
    monkeypatch.setattr(
        importlib.metadata,
        "entry_points",
        lambda group=None: [EntryPoint()] if group == registry.ENTRY_POINT_GROUP else [],
    )
    with pytest.raises(UsageError, match="takes the backend name 'jax'"):
        registry.all_backends()
    with pytest.raises(UsageError):  # every later call too, not only the first
        registry.all_backends()
    # The command line says it in one line, exit 2: the plain list (which skips typer) too.
    from autodiff_bench.cli import main

    for args in (["list"], ["list", "backends"], ["check", "-t", "square"]):
        with pytest.raises(SystemExit) as exc:
            main(args)
        assert exc.value.code == 2, args
        err = capsys.readouterr().err
        assert err.startswith("adbench: error:") and "takes the backend name 'jax'" in err
        assert "Traceback" not in err
