"""``adbench train`` through the command line: bad input, the lessons' numbers in the
report and the JSON, the lesson example's wrong gradient, divergence, the plot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ROOT, needs

NUMPY_BACKENDS = "manual,finite,autograd,minigrad"
EXAMPLE = str(ROOT / "examples" / "linreg_lesson_workloads.py")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["linrg"], "unknown workload 'linrg' (did you mean 'linreg'?)"),
        (["linreg", "--optimizer", "adamw"], "unknown optimizer 'adamw'"),
        (["linreg", "--lr", "0"], "--lr must be a positive number, not 0"),
        (["linreg", "--lr", "-1"], "--lr must be a positive number"),
        (["linreg", "--lr", "fast"], "--lr must be a number, not 'fast'"),
        (["linreg", "--lr", "nan"], "--lr must be a positive number, not nan"),
        (["linreg", "--steps", "0"], "--steps must be 1 or more, not 0"),
        (["logistic", "--epochs", "-2"], "--epochs must be 1 or more, not -2"),
        (["logistic", "--batch-size", "401"], "--batch-size 401 is larger than the data (400"),
        (["linreg", "-b", "jaxx"], "unknown backend 'jaxx'"),
        (["linreg", "--targets-file", "missing.py"], "workload file 'missing.py' does not exist"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, args: list[str], says: str) -> None:
    run = cli("train", *args)
    assert run.code == 2
    assert says in run.err
    assert len(run.err.strip().splitlines()) == 1
    assert "Traceback" not in run.err


def test_a_workload_file_that_does_not_load_or_has_no_loss(cli, tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("import nothing_here\n")
    run = cli("train", "x", "--targets-file", str(broken))
    assert run.code == 2
    assert "does not import: ModuleNotFoundError" in run.err
    no_loss = tmp_path / "no_loss.py"
    no_loss.write_text(
        "import numpy as np\n"
        "from autodiff_bench.train import Dataset, Optimizer, Workload, register_workload\n"
        "register_workload(Workload(name='lossless', lesson='', loss=None,\n"
        "    data=lambda rng: Dataset({'x': np.zeros(2)}), init=lambda rng, d: np.zeros(1),\n"
        "    optimizers=(Optimizer('sgd', 0.1),), steps=3))\n"
    )
    run = cli("train", "lossless", "--targets-file", str(no_loss))
    assert run.code == 2
    assert "workload 'lossless' has no loss" in run.err
    assert len(run.err.strip().splitlines()) == 1


def test_linreg_report_and_json(cli, tmp_path: Path) -> None:
    out = tmp_path / "linreg.json"
    run = cli("train", "linreg", "-b", NUMPY_BACKENDS, "-f", "json", "-o", str(out))
    assert run.code == 0, run.err
    doc = json.loads(out.read_text())
    assert doc["command"] == "train" and doc["schema_version"]
    records = doc["results"]
    assert [r["backend"] for r in records] == ["manual", "finite", "autograd", "minigrad"]
    assert records[1]["mode"] == "central"
    for r in records:
        assert r["status"] == "pass"
        assert r["workload"] == "linreg" and r["optimizer"] == "sgd" and r["steps"] == 20
        assert r["params"]["w"] == pytest.approx(1.922481, abs=1e-6)
        assert r["metric"]["f(5)"] == pytest.approx(9.612, abs=5e-4)
        assert r["canonical"]["w after step 1"]["holds"] is True
        # finite trains with one central difference per coordinate (finite:central): its
        # truncation error is ~1e-11 here; the others agree to round-off.
        limit = 1e-9 if r["backend"] == "finite" else 1e-12
        assert r["seconds_per_step"] > 0 and r["max_deviation"] < limit
        assert {"final_loss", "dtype", "device", "message"} <= set(r)
    assert records[2]["ratio_to_manual"] > 0 and records[2]["manual_reference"] == "manual"
    assert "follow the closed form's trajectory" in doc["summary"]


def test_dosage_table_shows_the_lesson_numbers(cli) -> None:
    run = cli("train", "dosage", "-b", "manual,minigrad")
    assert run.code == 0, run.err
    assert "first cost: lesson 19.675, got 19.675475 (2/2 runs agree)" in run.out
    assert "final m: lesson -0.468119, got -0.468119 (2/2 runs agree)" in run.out
    assert "final cost: lesson 0.019476" in run.out


def test_the_lesson_example_parts_at_step_1(cli) -> None:
    run = cli("train", "linreg_lesson", "--targets-file", EXAMPLE, "-b", "manual,minigrad")
    assert run.code == 1
    assert "the closed form parts from minigrad at step 1: w = 1.200 against w = 0.300" in run.out


def test_divergence_costs_only_that_run(cli, tmp_path: Path) -> None:
    out = tmp_path / "d.json"
    run = cli(
        "train",
        "linreg",
        "-b",
        "manual,minigrad",
        "--lr",
        "5",
        "--steps",
        "200",
        "-f",
        "json",
        "-o",
        str(out),
    )
    assert run.code == 1
    records = json.loads(out.read_text())["results"]
    assert {r["status"] for r in records} == {"diverged"}
    assert all("the loss is inf at step" in r["message"] for r in records)


def test_plot_writes_a_png(cli, tmp_path: Path) -> None:
    png = tmp_path / "loss.png"
    run = cli("train", "sin_target", "-b", "manual,minigrad", "--plot", str(png))
    assert run.code == 0, run.err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs("torch")
def test_torch_follows_the_closed_form_in_torch(cli, tmp_path: Path) -> None:
    out = tmp_path / "t.json"
    run = cli("train", "per_sample", "-b", "torch", "--epochs", "2", "-f", "json", "-o", str(out))
    assert run.code == 0, run.err
    labels = {r["label"]: r for r in json.loads(out.read_text())["results"]}
    assert set(labels) == {"manual", "manual:torch", "torch"}
    assert labels["torch"]["manual_reference"] == "manual:torch"
    assert labels["torch"]["max_deviation"] < 1e-12
    assert labels["torch"]["steps"] == 400


def test_list_workloads_names_the_six_lessons(cli) -> None:
    run = cli("list", "workloads")
    assert run.code == 0
    for name in ("linreg", "dosage", "sin_target", "logistic", "parabola_mlp", "per_sample"):
        assert name in run.out


def test_one_backend_beside_the_closed_form_reads_as_one(cli, tmp_path: Path) -> None:
    out = tmp_path / "one.json"
    run = cli("train", "linreg", "-b", "minigrad", "-f", "json", "-o", str(out))
    assert run.code == 0, run.err
    summary = json.loads(out.read_text())["summary"]
    assert "the other backend follows the closed form's trajectory" in summary
    assert "all 1" not in summary


def test_finite_follows_a_relu_network_across_its_kinks(cli, tmp_path: Path) -> None:
    # At step 13 of parabola_mlp a dozen central differences straddle a ReLU kink of some
    # sample (4% off): plain differences put finite 3e-6 away after 20 steps (2.7e-2, parted,
    # after the lesson's 1300); with the kink check it follows within round-off.
    out = tmp_path / "mlp.json"
    run = cli(
        "train",
        "parabola_mlp",
        "-b",
        "manual,finite",
        "--steps",
        "20",
        "-f",
        "json",
        "-o",
        str(out),
    )
    assert run.code == 0, run.err
    finite = json.loads(out.read_text())["results"][1]
    assert finite["mode"] == "central" and finite["status"] == "pass"
    assert finite["max_deviation"] < 3e-7


def test_a_float32_parting_that_follows_in_float64_is_round_off(cli, tmp_path: Path) -> None:
    # parabola_mlp in float32: autograd's forward pass rounds differently from NumPy's, a
    # sample that close to a ReLU kink lands on the other side, and Adam makes a whole step
    # of it: autograd parts at step ~600.  Trained again in float64 it follows to round-off.
    out = tmp_path / "mlp32.json"
    run = cli(
        "train", "parabola_mlp", "--dtype", "float32", "-b", "manual,autograd,minigrad",
        "-f", "json", "-o", str(out),
    )  # fmt: skip
    assert run.code == 0, run.err
    doc = json.loads(out.read_text())
    autograd = next(r for r in doc["results"] if r["backend"] == "autograd")
    assert autograd["status"] == "pass" and autograd["dtype"] == "float32"
    assert autograd["parted_at"] is not None and autograd["max_deviation"] > 1e-3
    assert autograd["float64_deviation"] < 1e-12
    assert autograd["first_grad_error"] < 1e-6  # float32 rounding of a right gradient
    assert "float32 round-off: parts from manual at step" in autograd["message"]
    assert "autograd parts from the closed form's trajectory in float32" in doc["summary"]
    assert "follows it in float64" in doc["summary"]


def test_a_float32_parting_that_parts_in_float64_too_still_fails(cli, tmp_path: Path) -> None:
    # The lesson's N-times gradient is wrong in any dtype: the float64 re-run parts too.
    out = tmp_path / "lesson32.json"
    run = cli(
        "train", "linreg_lesson", "--targets-file", EXAMPLE, "-b", "manual,minigrad",
        "--dtype", "float32", "-f", "json", "-o", str(out),
    )  # fmt: skip
    assert run.code == 1
    manual = json.loads(out.read_text())["results"][0]
    assert manual["status"] == "fail" and manual["parted_at"] == 1
    assert manual["float64_deviation"] is None


def test_without_backends_it_trains_the_closed_form_and_every_framework(
    cli, tmp_path: Path
) -> None:
    # A bare `adbench train WORKLOAD`: the default backends (a traceback once).
    from autodiff_bench.train.plan import DEFAULT_BACKENDS

    out = tmp_path / "bare.json"
    run = cli("train", "sin_target", "--steps", "3", "-f", "json", "-o", str(out))
    assert run.code == 0, run.err
    records = json.loads(out.read_text())["results"]
    assert {r["backend"] for r in records} == set(DEFAULT_BACKENDS)
    ran = [r for r in records if r["status"] != "unavailable"]
    assert all(r["status"] == "pass" for r in ran)
    assert {"manual", "minigrad"} <= {r["backend"] for r in ran}


def test_nothing_trained_is_said_and_fails(cli) -> None:
    # --device cuda with NumPy-only backends: every run unavailable, as check's "nothing was
    # checked" (exit 1), with each backend's reason in the closing line.
    run = cli("train", "linreg", "--device", "cuda", "-b", "manual,minigrad")
    assert run.code == 1
    assert "nothing was trained; manual: unavailable (manual runs on the CPU only)" in run.out
    alone = cli("train", "linreg", "-b", "manual")
    assert alone.code == 0
    assert "manual trained alone: no other trajectory to compare" in alone.out
