"""``adbench time`` through the console entry point, the renderers and the plot, and a real
subprocess interrupted with Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autodiff_bench.model import TimeRecord
from tests.conftest import ROOT, adbench, needs
from tests.test_timing_engine import RECORD_FIELDS
from tests.test_timing_fakes import MARKER_ENV

FAST = ["--budget", "0.005", "--min-samples", "3"]


# ---- bad input: one line, a hint, exit 2 -----------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sizes", "0"], "--sizes takes positive integers, not '0'"),
        (["--sizes", "10,x"], "--sizes takes positive integers, not 'x'"),
        (["--sizes", "10000000"], "needs about"),
        (["--budget", "0"], "--budget must be a positive number"),
        (["--timeout", "-3"], "--timeout must be a positive number"),
        (["--threads", "0"], "--threads must be 1 or more"),
        (["--plot", "no/such/folder/p.png"], "folder 'no/such/folder' does not exist"),
        (["--plot", "scaling.xyz"], "matplotlib cannot write '.xyz'"),
        (["--output", "no/such/folder/t.json"], "does not exist"),
        (["--targets", "cubc"], "did you mean 'cubic'"),
        (["--targets", "cubic", "--plot", "p.png"], "--plot needs a vector target"),
        (["--backends", "torhc"], "did you mean 'torch'"),
        (["--format", "yaml"], "unknown format 'yaml'"),
        (["--config", "no_such.toml"], "does not exist"),
    ],
)
def test_bad_input_is_one_line_exit_2(cli, args: list[str], message: str, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = cli("time", *args)
    assert run.code == 2, run.err
    lines = run.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("adbench: error:"), run.err
    assert message in lines[0]
    assert "Traceback" not in run.err and run.out == ""


def test_a_bad_time_section_in_a_config_names_the_key(cli, tmp_path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[time]\nsizes = 'ten'\n")
    run = cli("time", "--config", str(cfg))
    assert run.code == 2
    assert "'time.sizes' must be a non-empty list of positive integers" in run.err


# ---- output ------------------------------------------------------------------------------------


def test_json_baseline_and_plot_in_one_run(cli, tmp_path) -> None:
    out, base, png = tmp_path / "t.json", tmp_path / "base.json", tmp_path / "s.png"
    run = cli(
        "time",
        "-t",
        "cubic,least_squares",
        "-b",
        "manual,minigrad",
        "-n",
        "4,16",
        *FAST,
        "-f",
        "json",
        "-o",
        str(out),
        "--save-baseline",
        str(base),
        "--plot",
        str(png),
    )
    assert run.code == 0, run.err
    doc = json.loads(out.read_text())
    assert doc["command"] == "time" and doc["schema_version"] == 1
    assert doc["interrupted"] is False and doc["cells_planned"] == len(doc["results"])
    assert doc["environment"]["threads"]["requested"] == 1
    assert doc["config"]["sizes"] == [4, 16]
    # cubic: 1 size × (f, d1..d3) × 2 backends; least_squares: 2 sizes × 4 quantities × 2.
    assert len(doc["results"]) == 8 + 16
    for r in doc["results"]:
        assert all(k in r for k in RECORD_FIELDS), r
        assert r["status"] == "pass" and r["median_s"] > 0 and r["samples"] >= 3
    assert {g["backend"] for g in doc["growth"]} == {"manual", "minigrad"}
    assert json.loads(base.read_text())["results"] == doc["results"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {png}" in run.err and "Timed 24 cells" in run.err


def test_table_markdown_and_csv(cli) -> None:
    args = ["time", "-t", "least_squares", "-b", "manual,minigrad", "-q", "grad", "-n", "4,8"]
    run = cli(*args, *FAST)
    assert run.code == 0, run.err
    assert "least_squares: ½‖Ax − b‖²" in run.out and "per call)" in run.out
    assert "growth" in run.out and "n^" in run.out
    assert "least_squares grad at n=8: " in run.out
    assert run.out.strip().splitlines()[-1].startswith("Timed 8 cells (1 target, 2 backends)")
    md = cli(*args, *FAST, "-f", "markdown")
    assert md.code == 0
    assert "| size | quantity | manual | minigrad |" in md.out
    assert "**Timed 8 cells" in md.out
    csv = cli(*args, *FAST, "-f", "csv")
    header = csv.out.splitlines()[0].split(",")
    assert all(k in header for k in RECORD_FIELDS)
    assert len(csv.out.strip().splitlines()) == 1 + 8


@needs("torch")
def test_torchs_ratio_to_manual_is_over_the_closed_form_in_torch(cli) -> None:
    args = ["-t", "least_squares", "-b", "torch", "-q", "grad", "-n", "50", *FAST, "-f", "json"]
    run = cli("time", *args)
    assert run.code == 0, run.err
    doc = json.loads(run.out)
    got = {(r["label"], r["quantity"]): r for r in doc["results"]}
    # manual:torch is timed because torch is, without being named.
    assert doc["config"]["backends"] == ["manual", "manual:torch", "torch"]
    torch, manual_torch = got["torch", "grad"], got["manual:torch", "grad"]
    assert manual_torch["status"] == "pass" and manual_torch["backend"] == "manual"
    assert manual_torch["mode"] == "torch"
    assert torch["ratio_to_manual"] == torch["median_s"] / manual_torch["median_s"]
    assert torch["manual_reference"] == "manual:torch"
    # The closed form in torch is itself compared with the NumPy one.
    numpy_manual = got["manual", "grad"]
    assert manual_torch["ratio_to_manual"] == manual_torch["median_s"] / numpy_manual["median_s"]
    assert manual_torch["manual_reference"] == "manual"
    # manual:torch ran in a worker with torch's thread settings.
    assert doc["workers"]["manual:torch"]["torch_num_threads"] == 1
    assert doc["workers"]["manual:torch"]["env"]["OMP_NUM_THREADS"] == "1"


def test_the_real_command_in_a_subprocess() -> None:
    run = adbench("time", "-t", "square", "-b", "manual", *FAST, "-f", "json")
    assert run.code == 0, run.err
    doc = json.loads(run.out)
    assert [r["quantity"] for r in doc["results"]] == ["primal", "d1", "d2"]
    assert doc["workers"]["manual"]["threads_requested"] == 1


def test_ctrl_c_keeps_what_was_measured_in_a_partial_json(tmp_path: Path) -> None:
    """A real process, a real SIGINT, while the fake backend hangs on its grad."""
    marker, out = tmp_path / "hanging", tmp_path / "t.json"
    script = (
        "import signal, sys; sys.path.insert(0, sys.argv[1])\n"
        # Ctrl-C must reach it even when this suite runs as a background job (which starts
        # with SIGINT ignored, and a child inherits that).
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "from autodiff_bench.backends import register_backend\n"
        "from tests.test_timing_fakes import FakeBackend\n"
        "register_backend(FakeBackend)\n"
        "from autodiff_bench.cli import main\n"
        "main(sys.argv[2:])\n"
    )
    args = ["-t", "least_squares", "-b", "fake:hang", "-n", "4", *FAST, "-f", "json", "-o"]
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(ROOT), "time", *args, str(out)],
        cwd=ROOT,
        env={**os.environ, MARKER_ENV: str(marker), "NO_COLOR": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the fake backend never started hanging"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert not out.exists()  # a partial result never takes the complete one's name
    partial = tmp_path / "t.partial.json"
    doc = json.loads(partial.read_text())
    assert doc["interrupted"] is True and doc["cells_planned"] == 8
    got = {(r["backend"], r["quantity"]): r["status"] for r in doc["results"]}
    # manual's four cells and fake's primal were measured before the hang.
    assert got == {
        ("manual", "primal"): "pass",
        ("manual", "grad"): "pass",
        ("manual", "hessian"): "pass",
        ("manual", "hvp"): "pass",
        ("fake", "primal"): "pass",
    }
    assert "INTERRUPTED after 5 of 8 cells" in err
    assert "Traceback" not in err


# ---- renderers -------------------------------------------------------------------------------


def test_trim_and_units() -> None:
    from autodiff_bench.render.common import pick_unit, trim
    from autodiff_bench.render.time import human_seconds

    assert trim(1234.5, 2) == "1200"
    assert trim(45.123, 3) == "45.1"
    assert trim(0.5, 2) == "0.50"
    assert trim(9.996, 3) == "10.0"  # the carry into the next decade keeps 3 figures
    assert trim(0.0123456, 3) == "0.0123"
    assert pick_unit([3e-6, 2e-3]) == ("µs", 1e-6)
    assert pick_unit([0.5]) == ("ms", 1e-3)
    assert pick_unit([2.0]) == ("s", 1.0)
    assert human_seconds(0.052) == "52 ms"
    assert human_seconds(9.996e-4) == "1.0 ms"  # rounding carries into the next unit


def test_noisy_cells_are_marked_and_digits_trimmed() -> None:
    from autodiff_bench.render.time import cell_parts

    steady = TimeRecord(
        target="t",
        size=4,
        quantity="grad",
        backend="torch",
        mode="autograd",
        median_s=1.23456e-5,
        iqr_s=1e-9,
        samples=100,
        cold_s=0.05,
        ratio_to_primal=3.04,
    )
    assert tuple(cell_parts(steady)) == ("12.35 µs", "×3.040 f", "cold 50 ms", "")
    noisy = TimeRecord(
        target="t",
        size=4,
        quantity="grad",
        backend="torch",
        mode="autograd",
        median_s=1.2e-5,
        iqr_s=3e-6,
        samples=10,
        cold_s=1e-5,
        noisy=True,
        ratio_to_primal=3.04,
        ratio_to_manual=1.52,
    )
    part = cell_parts(noisy)
    assert part.median == "10 µs ±25%" and part.style == "yellow"
    assert part.ratios == "×3 f  ×2 manual"  # a ratio is no more precise than its median
    assert (
        cell_parts(
            TimeRecord(target="t", size=4, quantity="grad", backend="x", mode="y", status="timeout")
        ).median
        == "timeout"
    )


def test_the_plot_has_labelled_axes_a_legend_and_a_panel_per_quantity(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    from autodiff_bench.config import EMPTY
    from autodiff_bench.render.plot import plot_scaling
    from autodiff_bench.timing import TimeReport, add_ratios, fit_growth, resolve_time_plan

    plan = resolve_time_plan(
        EMPTY,
        targets=["least_squares"],
        backends=["manual,minigrad"],
        quantities=["grad"],
        sizes=["10,100"],
    )
    records = [
        TimeRecord(
            target="least_squares",
            size=n,
            quantity=q,
            backend=b,
            mode=m,
            median_s=t * n,
            iqr_s=0.0,
            samples=5,
        )
        for n in (10, 100)
        for q, t in (("primal", 1e-7), ("grad", 3e-7))
        for b, m in (("manual", "default"), ("minigrad", "default"))
    ]
    add_ratios(records)
    report = TimeReport(plan, records, growth=fit_growth(records))
    figures = []
    real_close = plt.close
    monkeypatch.setattr(plt, "close", lambda fig=None: (figures.append(fig), real_close(fig)))
    path = plot_scaling(report, tmp_path / "s.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
    (fig,) = figures
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["least_squares: f", "least_squares: grad"]
    for ax in axes:
        assert ax.get_xlabel() == "size n" and ax.get_xscale() == "log"
        assert ax.get_yscale() == "log"
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert labels == ["manual (n^1.00)", "minigrad (n^1.00)"]
    assert axes[0].get_ylabel() == "seconds per call (median)"
