"""The command line in-process (typer's CliRunner and the console entry point): output,
exit codes, JSON, and every bad input a user can give."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from autodiff_bench.cli import app
from tests.conftest import ROOT

NUMPY_BACKENDS = "manual,finite,minigrad"


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("list", "show", "check"):
        assert command in result.output


def test_list_shows_targets_and_backends(cli) -> None:
    run = cli("list")
    assert run.code == 0
    for name in ("least_squares", "x³ + 2x", "minigrad", "jax", "nojit"):
        assert name in run.out


def test_show_cubic_at_3(cli) -> None:
    run = cli("show", "cubic", "--at", "3", "--backends", NUMPY_BACKENDS)
    assert run.code == 0
    rows = {line.split("│")[1].strip(): line for line in run.out.splitlines() if "│" in line}
    for backend in ("manual", "minigrad"):
        cells = [c.strip() for c in rows[backend].split("│")[2:-1]]
        assert cells[:2] == ["33", "29"]
    assert "3x² + 2" in run.out


def test_show_json_carries_the_values(cli) -> None:
    run = cli("show", "tanh", "--at", "0.5", "-b", "manual,minigrad", "--format", "json")
    doc = json.loads(run.out)
    d4 = {r["backend"]: r["value"] for r in doc["results"] if r["quantity"] == "d4"}
    assert d4["manual"] == pytest.approx(3.9522195637245830, rel=1e-15)
    assert d4["minigrad"] == pytest.approx(3.9522195637245830, rel=1e-14)


def test_check_json_is_strict_and_carries_the_spec_fields(cli, tmp_path) -> None:
    out = tmp_path / "check.json"
    run = cli("check", "-t", "cubic,logistic", "-b", NUMPY_BACKENDS, "-f", "json", "-o", str(out))
    assert run.code == 0
    assert "All" in run.err and "pass" in run.err
    doc = json.loads(out.read_text(), parse_constant=lambda c: pytest.fail(f"literal {c}"))
    assert doc["schema_version"] == 1 and doc["command"] == "check"
    for key in ("python", "platform", "cpu", "threads", "packages", "git_revision"):
        assert key in doc["environment"]
    assert doc["config"]["targets"] == ["cubic", "logistic"]
    fields = {
        "target", "quantity", "backend", "mode", "dtype", "point", "status", "max_abs_error",
        "max_rel_error", "worst_index", "mismatched", "total", "message",
    }  # fmt: skip
    for rec in doc["results"]:
        assert fields <= set(rec)
        assert rec["status"] == "pass"
    # backends × (cubic: 3 quantities × 3 points + logistic: 3 quantities × 5 points)
    assert len(doc["results"]) == 3 * (3 * 3 + 3 * 5)


@pytest.mark.parametrize("fmt", ["csv", "markdown"])
def test_check_other_formats(cli, fmt: str) -> None:
    run = cli("check", "-t", "cubic", "-b", "manual,minigrad", "-f", fmt)
    assert run.code == 0
    if fmt == "csv":
        header = run.out.splitlines()[0].split(",")
        assert header[:4] == ["target", "quantity", "backend", "mode"]
        assert len(run.out.splitlines()) == 1 + 2 * 3 * 3
    else:
        assert run.out.startswith("| target | quantity | manual | minigrad |")
        assert "All 6 checked cells pass" in run.out


def test_wrong_closed_form_points_at_the_worst_element(cli) -> None:
    wrong = str(ROOT / "examples" / "rosenbrock_wrong_targets.py")
    run = cli("check", "--targets-file", wrong, "-t", "rosenbrock_wrong", "-b", NUMPY_BACKENDS)
    assert run.code == 1
    # The worst point is the one with the largest relative error (the cell's figure, 2.0e-01:
    # 44 off where the largest |ref| is 215.6), not the largest absolute error (random#1).
    assert "rosenbrock_wrong grad [minigrad] 3/3 points, worst at x=(-1.2, 1)" in run.out
    assert "1/2 mismatched; worst at [1]: got -87.999999999999986" in run.out
    assert "max rel 2.0e-01)" in run.out and "✗ 1/2 2.0e-01" in run.out
    assert "closed form is the suspect" not in run.out  # one AD backend is no quorum
    assert "FAILED: 2 fail of 9 cells" in run.out
    as_json = cli(
        "check", "--targets-file", wrong, "-t", "rosenbrock_wrong", "-b", "minigrad", "-f", "json"
    )
    canonical = next(r for r in json.loads(as_json.out)["results"] if r["point"] == "x=(-1.2, 1)")
    assert canonical["status"] == "fail"
    assert canonical["worst_index"] == [1]
    assert canonical["got"] == pytest.approx(-88.0) and canonical["ref"] == pytest.approx(-44.0)
    assert canonical["mismatched"] == 1 and canonical["total"] == 2
    right = str(ROOT / "examples" / "rosenbrock_targets.py")
    ok = cli("check", "--targets-file", right, "-t", "rosenbrock", "-b", NUMPY_BACKENDS)
    assert ok.code == 0, ok.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "-t", "cubc"], "unknown target 'cubc' (did you mean 'cubic'?)"),
        (["check", "-b", "jaxx"], "unknown backend 'jaxx' (did you mean 'jax'?)"),
        (["check", "-b", "jax:nojt"], "did you mean 'nojit'?"),
        (["check", "-q", "hesian"], "unknown quantity 'hesian' (did you mean 'hessian'?)"),
        (["show", "cubic", "--at", "abc"], "--at must be a number"),
        (["show", "cubic", "--at", "nan"], "outside the domain"),
        (["show", "least_squares", "--at", "1"], "--at is for scalar targets"),
        (["show", "cubic", "--size", "5"], "--size is for vector targets"),
        (["check", "--size", "0"], "--size must be a positive integer"),
        (["check", "--size", "100000000"], "GiB"),
        (["check", "--size", "ten"], "Invalid value for '--size'"),
        (["check", "--points", "-1"], "--points must be 0 or more"),
        (["check", "--dtype", "float16"], "unknown dtype 'float16'"),
        (["check", "--format", "yaml"], "unknown format 'yaml'"),
        (["check", "--output", "no/such/dir/out.json"], "folder 'no/such/dir' does not exist"),
        (["check", "--config", "no/such.toml"], "does not exist"),
        (["check", "--targets-file", "no/such.py"], "does not exist"),
        (["check", "--jobs", "0"], "--jobs must be 1 or more"),
        (["check", "--timeout", "0"], "--timeout must be a positive number"),
        (["check", "--timeout", "nan"], "--timeout must be a positive number"),
        (["check", "--seed", "-1"], "--seed must be 0 or more"),
        (["show", "cubic", "--seed", "-5"], "--seed must be 0 or more"),
        (["time", "--seed", "-1"], "--seed must be 0 or more"),
        (["check", "-b", "torch:nope"], "unknown mode 'nope' of backend 'torch'"),
        (["list", "gadgets"], "unknown list 'gadgets'"),
        (["check", "--no-such-option"], "No such option"),
    ],
)
def test_bad_input_is_one_line_exit_2(cli, args: list[str], message: str) -> None:
    run = cli(*args)
    assert run.code == 2
    assert message in run.err
    assert len(run.err.strip().splitlines()) == 1
    assert "Traceback" not in run.err
    assert run.out == ""


def test_bad_targets_files(cli, tmp_path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('oops')\n")
    run = cli("check", "--targets-file", str(broken))
    assert run.code == 2 and "does not import: RuntimeError: oops" in run.err
    nocf = tmp_path / "nocf.py"
    nocf.write_text(
        "from autodiff_bench import Target, register, scalar_sampler\n"
        "register(Target('nocf', 'x', lambda xp, x, p: x, {}, scalar_sampler(0, 1)))\n"
    )
    run = cli("check", "--targets-file", str(nocf))
    assert run.code == 2 and "no closed forms and no quantities" in run.err
    assert "'Checking your own gradient' in README" in run.err


def test_bad_config(cli, tmp_path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[check]\npoints = 'many'\n")
    run = cli("check", "--config", str(bad))
    assert run.code == 2
    assert "'check.points' must be an integer" in run.err and "bad.toml" in run.err


def test_save_baseline_writes_json(cli, tmp_path) -> None:
    base = tmp_path / "base.json"
    run = cli("check", "-t", "square", "-b", "manual", "--save-baseline", str(base))
    assert run.code == 0
    assert json.loads(base.read_text())["command"] == "check"


def test_device_cuda_without_a_gpu_says_why_not(cli) -> None:
    run = cli("check", "-t", "cubic", "-b", "minigrad", "--device", "cuda", "-j", "1")
    assert "minigrad: unavailable — minigrad runs on the CPU only" in run.out
    # Nothing was compared at all: a gate must not pass on an empty run.
    assert run.code == 1
    assert "FAILED: nothing was checked (3 unavailable)" in run.out


def _cuda_available() -> bool:
    from tests.conftest import installed

    if not installed("torch"):
        return False
    import torch

    return bool(torch.cuda.is_available())


@pytest.mark.gpu
@pytest.mark.skipif(not _cuda_available(), reason="no CUDA device")
def test_torch_on_cuda_matches_closed_forms(cli) -> None:
    run = cli("check", "-t", "tanh,least_squares", "-b", "torch", "--device", "cuda", "-j", "1")
    assert run.code == 0, run.out
    assert "All 7 checked cells pass" in run.out


def test_output_where_a_file_cannot_be_written_is_refused_up_front(cli, tmp_path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("")
    run = cli("check", "-t", "cubic", "-b", "manual", "-o", str(afile / "out.json"))
    assert run.code == 2
    assert (
        run.err.strip()
        == f"adbench: error: cannot write '{afile / 'out.json'}': '{afile}' is a file, not a folder"
    )


def test_result_files_get_the_usual_permissions(cli, tmp_path) -> None:
    import os

    out = tmp_path / "r.json"
    assert cli("check", "-t", "cubic", "-b", "manual", "-f", "json", "-o", str(out)).code == 0
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_sampler_that_raises_is_an_error_cell_not_a_crash(cli, tmp_path) -> None:
    targets = tmp_path / "t.py"
    targets.write_text(
        "from autodiff_bench import Point, Target, register\n"
        "def sample(rng, n):\n    raise RuntimeError('no sampler today')\n"
        "register(Target('broken_sampler', 'x', lambda xp, x, p: x * x,\n"
        "    {'d1': lambda x, p: 2 * x}, sample, canonical=[Point.scalar(1.0)]))\n"
    )
    run = cli("check", "--targets-file", str(targets), "-t", "broken_sampler,cubic", "-b", "manual")
    assert run.code == 1
    assert "broken_sampler d1 [manual] at *: error: the sampler raised RuntimeError" in run.out
    assert "cubic" in run.out and "3 pass" in run.out


def test_target_tolerances_must_be_pairs() -> None:
    from autodiff_bench.targets import Point, Target, scalar_sampler

    with pytest.raises(ValueError, match="must be \\(rtol, atol\\)"):
        Target(
            "tight",
            "x",
            lambda xp, x, p: x,
            {"d1": lambda x, p: 1.0 + 0 * x},
            scalar_sampler(0, 1),
            [Point.scalar(1.0)],
            tolerances={"d1": "tight"},
        )


def test_config_tolerances_for_unknown_targets_are_refused(cli, tmp_path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[tolerances.target.cubic]\ngrad = [1, 1]\n")
    run = cli("check", "-c", str(cfg))
    assert run.code == 2 and "'cubic' has no quantity 'grad'" in run.err


def test_version_prints_the_package_version(cli) -> None:
    from autodiff_bench import __version__

    run = cli("--version")
    assert run.code == 0
    assert run.out.strip() == f"adbench {__version__}"
