"""``adbench compare`` on ``adbench train`` results, built by real training runs (the NumPy
backends ``manual`` and ``minigrad`` on the small lessons, so they are fast): a trajectory
that stops agreeing or diverges is a regression, time per step is gated like ``time``'s
medians, identical runs are OK, and a train file against a check file is bad input."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from compare_helpers import check_record, document

from autodiff_bench.compare import compare_cell, compare_documents
from autodiff_bench.errors import UsageError
from autodiff_bench.model import TimeRecord, TrainRecord, dumps
from tests.conftest import adbench

BACKENDS = "manual,minigrad"

#: linreg as in the lesson, with its closed-form gradient times FACTOR: 1 is right, 4 is
#: the lesson's ``np.dot(2*x, y_pred - y).mean()`` (N = 4 times too large).
TWIN = """
import numpy as np
from autodiff_bench.train import Dataset, Optimizer, Workload, register_workload

FACTOR = {factor}

def loss(xp, theta, batch):
    return xp.mean((theta[0] * batch["x"] - batch["y"]) ** 2)

def gradient(xp, theta, batch):
    x, y = batch["x"], batch["y"]
    return FACTOR * np.array([np.mean(2 * x * (theta[0] * x - y))])

register_workload(Workload(
    name="twin", lesson="linreg, its closed form written twice", loss=loss, grad=gradient,
    data=lambda rng: Dataset({{"x": np.array([1.0, 2.0, 3.0, 4.0]),
                              "y": np.array([2.0, 4.0, 6.0, 8.0])}}),
    init=lambda rng, data: np.zeros(1), optimizers=(Optimizer("sgd", 0.01),), steps=20,
    shuffle=False, params=lambda theta: {{"w": float(theta[0])}}))
"""


def train_json(path: Path, *args: str) -> Path:
    """Run ``adbench train ARGS -f json -o PATH`` in its own process; the path."""
    run = adbench("train", *args, "-f", "json", "-o", str(path), timeout=300)
    assert run.code in (0, 1), run.err
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real train documents: linreg twice, sin_target, linreg diverging, twin right/wrong."""
    tmp = tmp_path_factory.mktemp("train")
    right, wrong = tmp / "twin_right.py", tmp / "twin_wrong.py"
    right.write_text(TWIN.format(factor=1.0))
    wrong.write_text(TWIN.format(factor=4.0))
    return {
        "linreg": train_json(tmp / "linreg.json", "linreg", "-b", BACKENDS),
        "linreg again": train_json(tmp / "linreg2.json", "linreg", "-b", BACKENDS),
        "sin_target": train_json(tmp / "sin.json", "sin_target", "-b", BACKENDS),
        "long": train_json(tmp / "long.json", "linreg", "-b", BACKENDS, "--steps", "200"),
        "diverged": train_json(
            tmp / "div.json", "linreg", "-b", BACKENDS, "--steps", "200", "--lr", "5"
        ),
        "twin right": train_json(
            tmp / "right.json", "twin", "-b", BACKENDS, "--targets-file", str(right)
        ),
        "twin wrong": train_json(
            tmp / "wrong.json", "twin", "-b", BACKENDS, "--targets-file", str(wrong)
        ),
    }


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def save(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(dumps(doc), encoding="utf-8")
    return path


def record_of(doc: dict[str, Any], backend: str) -> dict[str, Any]:
    return next(r for r in doc["results"] if r["backend"] == backend)


def test_a_train_run_compared_with_itself_is_ok(cli, runs: dict[str, Path]) -> None:
    for name in ("linreg", "sin_target"):
        run = cli("compare", str(runs[name]), str(runs[name]))
        assert run.code == 0, run.err
        assert "adbench compare (train)" in run.out
        assert "OK: no changes — 2 common train cells, median_s, max slowdown 1.25×" in run.out


def test_two_runs_of_one_lesson_agree(cli, runs: dict[str, Path]) -> None:
    # Two real runs: the trajectories are identical; the timing threshold is set far out
    # so a busy machine cannot make this test flaky.
    run = cli("compare", str(runs["linreg"]), str(runs["linreg again"]), "--max-slowdown", "20")
    assert run.code == 0, run.out
    assert "broken" not in run.out and "OK: " in run.out
    assert "2 common train cells" in run.out


def test_a_trajectory_that_stops_agreeing_is_a_regression(cli, runs, tmp_path: Path) -> None:
    out = tmp_path / "cmp.json"
    # Two real runs: minigrad's time per step may move on a busy machine, so the timing
    # threshold is set far out; the broken trajectory fails whatever the threshold.
    args = [str(runs["twin right"]), str(runs["twin wrong"]), "--max-slowdown", "20"]
    run = cli("compare", *args)
    assert run.code == 1
    assert "✗ broken" in run.out and "workload" in run.out and "optimizer" in run.out
    assert (
        "twin sgd [manual] float64: pass → fail: the closed form parts from minigrad at "
        "step 1: w = 1.200 against w = 0.300 (autodiff backends agree with each other)"
    ) in run.out
    assert run.out.rstrip().endswith(
        "REGRESSION: 1 broken — 2 common train cells, median_s, max slowdown 20×, α=0.01"
    )
    assert cli("compare", *args, "-f", "json", "-o", str(out)).code == 1
    doc = load(out)
    assert doc["regression"] is True and doc["counts"]["broken"] == 1
    broken = next(c for c in doc["results"] if c["kind"] == "broken")
    assert (broken["target"], broken["quantity"], broken["backend"]) == ("twin", "sgd", "manual")
    # The deviation of the parted trajectory, relative to max(1, |w|): 0.9 at step 1 and
    # more after it, against 0 in BASE.
    assert broken["base_error"] == 0.0 and broken["new_error"] > 0.9


def test_the_fixed_closed_form_is_reported_fixed(cli, runs: dict[str, Path]) -> None:
    run = cli("compare", str(runs["twin wrong"]), str(runs["twin right"]), "--max-slowdown", "20")
    assert run.code == 0
    assert "✓ fixed" in run.out and "OK: no regression (1 fixed" in run.out


def test_a_run_that_diverges_is_a_regression(cli, runs: dict[str, Path]) -> None:
    run = cli("compare", str(runs["long"]), str(runs["diverged"]))
    assert run.code == 1
    assert "linreg sgd [minigrad] float64: pass → diverged: the loss is inf at step" in run.out
    assert "linreg sgd [manual] float64: pass → diverged: the loss is inf at step" in run.out
    assert "REGRESSION: 2 broken — 2 common train cells" in run.out
    # The learning rate differs, and compare says so.
    assert "optimizers" in run.out and "config differs" in run.out


def slowed(doc: dict[str, Any], backend: str, factor: float) -> dict[str, Any]:
    """``doc`` with every step of ``backend``'s run ``factor`` times as long."""
    out = copy.deepcopy(doc)
    r = record_of(out, backend)
    r["times_s"] = [t * factor for t in r["times_s"]]
    for key in ("seconds_per_step", "cold_s", "iqr_s", "ratio_to_manual"):
        if r.get(key) is not None:
            r[key] *= factor
    return out


def u_method(warm: list[float], factor: float) -> str:
    """The Mann-Whitney method for these warm samples against them × factor: exact without
    ties (scipy's rule), else the normal approximation.  Steps timed within a microsecond
    on a coarse clock tie now and then, so which one a real run gets is the data's call."""
    both = np.concatenate([warm, np.asarray(warm) * factor])
    return "exact" if len(np.unique(both)) == both.size else "normal"


def test_time_per_step_is_gated_like_time(cli, runs, tmp_path: Path) -> None:
    base = load(runs["linreg"])
    slow = save(tmp_path / "slow.json", slowed(base, "minigrad", 3.0))
    run = cli("compare", str(runs["linreg"]), str(slow))
    assert run.code == 1
    method = u_method(record_of(base, "minigrad")["times_s"][1:], 3.0)
    assert "▲ slower" in run.out and "3.00×" in run.out and f"U {method}" in run.out
    assert "REGRESSION: 1 slower — 2 common train cells, median_s" in run.out
    # The machine-independent ratio to the closed-form step in the same framework.
    run = cli("compare", str(runs["linreg"]), str(slow), "--metric", "ratio_to_manual")
    assert run.code == 1 and "REGRESSION: 1 slower" in run.out
    # Below a looser threshold it passes, as in time.
    run = cli("compare", str(runs["linreg"]), str(slow), "--max-slowdown", "4")
    assert run.code == 0 and "REGRESSION" not in run.out
    # Faster is listed, never failed.
    fast = save(tmp_path / "fast.json", slowed(base, "minigrad", 1 / 3))
    run = cli("compare", str(runs["linreg"]), str(fast))
    assert run.code == 0 and "▼ faster" in run.out


def test_the_cold_first_step_is_not_gated(runs: dict[str, Path]) -> None:
    base = load(runs["linreg"])
    new = copy.deepcopy(base)
    r = record_of(new, "minigrad")
    r["times_s"][0] *= 100.0
    r["cold_s"] *= 100.0
    result = compare_documents(base, new)
    assert [c.kind for c in result.cells] == ["unchanged", "unchanged"]
    assert result.cells[0].factor == pytest.approx(1.0)


def test_the_statistics_are_times(runs: dict[str, Path]) -> None:
    # A train run's warm steps judged as a train cell and as a time cell with the same
    # samples: the same factor, the same test and the same p-value.
    raw = record_of(load(runs["linreg"]), "minigrad")
    base = TrainRecord.from_dict(raw)
    new = TrainRecord.from_dict(
        {
            **raw,
            "times_s": [t * 1.6 for t in raw["times_s"]],
            "seconds_per_step": raw["seconds_per_step"] * 1.6,
        }
    )
    # The cold call, then the lesson's 20 steps: 20 warm samples.
    assert base.warm_times_s == raw["times_s"][1:] and len(base.warm_times_s) == 20

    def as_time(r: TrainRecord) -> TimeRecord:
        warm = np.asarray(r.warm_times_s)
        return TimeRecord(
            target=r.target,
            quantity=r.quantity,
            backend=r.backend,
            median_s=r.median_s,
            times_s=list(warm),
            samples=len(warm),
        )

    trained = compare_cell(base.key, [base], [new], "median_s", 1.25, 0.01, "train")
    timed = compare_cell(base.key, [as_time(base)], [as_time(new)], "median_s", 1.25, 0.01, "time")
    assert trained.factor == pytest.approx(1.6) and timed.factor == pytest.approx(1.6)
    method = u_method(base.warm_times_s, 1.6)
    assert trained.test == timed.test == f"mann-whitney {method}"
    assert trained.p_value == timed.p_value and trained.kind == timed.kind == "slower"


def test_train_against_check_is_one_line_exit_2(cli, runs, tmp_path: Path) -> None:
    check = save(tmp_path / "check.json", document("check", [check_record()]))
    run = cli("compare", str(runs["linreg"]), str(check))
    assert run.code == 2 and run.out == ""
    assert len(run.err.strip().splitlines()) == 1
    assert "holds 'train' results but" in run.err and "holds 'check' results" in run.err
    run = cli("compare", str(runs["linreg"]), str(runs["linreg"]), "-m", "ratio_to_primal")
    assert run.code == 2 and len(run.err.strip().splitlines()) == 1
    assert "train results have no ratio_to_primal" in run.err
    # Two different lessons share no cell.
    with pytest.raises(UsageError, match="no cell in common"):
        compare_documents(load(runs["linreg"]), load(runs["sin_target"]))


def test_folders_of_train_runs_are_pooled(cli, runs, tmp_path: Path) -> None:
    base, new = tmp_path / "base", tmp_path / "new"
    base.mkdir()
    new.mkdir()
    for i, name in enumerate(("linreg", "linreg again")):
        doc = load(runs[name])
        save(base / f"{i}.json", doc)
        # Far past the factor: the two real BASE runs may differ by 2× on a busy machine.
        save(new / f"{i}.json", slowed(doc, "minigrad", 6.0))
    run = cli("compare", str(base), str(base))
    assert run.code == 0 and "OK: no changes — 2 common train cells (2 runs vs 2 runs)" in run.out
    run = cli("compare", str(base), str(new))
    assert run.code == 1
    assert "REGRESSION: 1 slower — 2 common train cells (2 runs vs 2 runs)" in run.out
