"""One test per verdict rule (README, "Correctness policy"): a constant factor or a sign is
named, a shape mismatch says the shapes, relative error has one definition used by the cell
and its detail line, the ``manual`` column is the reference, and float32's own rounding is
never blamed on a correct closed form.  Targets and test-only backends are in
``tests/rounding_targets.py``, a targets file as a user writes one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from autodiff_bench import backends as backend_registry
from autodiff_bench import targets as target_registry
from autodiff_bench.backends import all_backends
from autodiff_bench.check import CheckReport, resolve_check_plan, run_check
from autodiff_bench.config import EMPTY
from autodiff_bench.correctness import compare_arrays, relative_errors
from autodiff_bench.model import CheckRecord
from autodiff_bench.render.check import cell_summary, details
from autodiff_bench.render.common import sci
from autodiff_bench.targets import all_targets, load_targets_file
from tests.conftest import ROOT, needs

TARGETS_FILE = ROOT / "tests" / "rounding_targets.py"


@pytest.fixture(scope="module", autouse=True)
def rounding_targets() -> Iterator[None]:
    """Load the targets file, and take out afterwards what it registered."""
    all_targets()
    all_backends()
    saved = (
        dict(target_registry._REGISTRY),
        dict(target_registry._LOADED_FILES),
        dict(backend_registry._REGISTRY),
    )
    load_targets_file(TARGETS_FILE)
    yield
    for live, before in zip(
        (target_registry._REGISTRY, target_registry._LOADED_FILES, backend_registry._REGISTRY),
        saved,
        strict=True,
    ):
        live.clear()
        live.update(before)  # type: ignore[arg-type]


def checked(target: str, backends: str, **kw: Any) -> CheckReport:
    """``check`` in this process at the canonical point (and ``points`` random ones)."""
    kw.setdefault("points", 0)
    plan = resolve_check_plan(EMPTY, targets=[target], backends=[backends], **kw)
    return run_check(plan, in_process=True)


def cell_text(report: CheckReport, label: str) -> str:
    (row,) = report.rows()
    return cell_summary(report.cell(*row, label))[1]


# ---- a constant factor or a sign that explains the whole mismatch is named -----------------


def test_the_lessons_gradient_n_times_too_large_is_named_as_the_factor_n() -> None:
    # np.dot(2*x, y_pred - y).mean() with N = 4 data points: the closed form is 4× the truth.
    report = checked("vr_mse_dot_mean", "manual,minigrad")
    (rec,) = [r for r in report.records if r.label == "minigrad"]
    assert rec.status == "fail" and rec.factor == 4.0
    assert "expected = 4 × got at every element" in rec.message
    (line,) = [line for line in details(report) if "[minigrad]" in line]
    assert "expected = 4 × got at every element" in line
    # got (the true gradient 2/N·[Σr, Σx·r] at w = (0.5, 1.5)) and expected, element [1]:
    assert (rec.got, rec.ref) == (pytest.approx(-4.85), pytest.approx(-19.4))
    # The other way round (the backend 4× too large) reads from the backend's side.
    v = compare_arrays(
        np.array([4.0, -8.0, 12.0]), np.array([1.0, -2.0, 3.0]), 1e-9, 1e-9, "float64"
    )
    assert v.factor == 0.25 and "got = 4 × expected at every element" in v.message


def test_a_gradient_of_the_wrong_sign_is_named() -> None:
    report = checked("vr_mse_sign", "manual,minigrad")
    (rec,) = [r for r in report.records if r.label == "minigrad"]
    assert rec.factor == -1.0
    assert "expected = −got at every element" in rec.message
    assert (rec.got, rec.ref) == (pytest.approx(-4.85), pytest.approx(4.85))


def test_no_factor_is_named_when_no_constant_explains_the_mismatch() -> None:
    ref = np.array([1.0, 2.0, 3.0])
    v = compare_arrays(np.array([1.0, 2.0, 4.0]), ref, 1e-9, 1e-9, "float64")
    assert v.status == "fail" and v.factor is None and "×" not in v.message
    # A single number always has some ratio to another: only a round one is named.
    odd = compare_arrays(np.float64(1.2345), np.float64(1.0), 1e-9, 1e-9, "float64")
    assert odd.factor is None
    double = compare_arrays(np.float64(12.0), np.float64(6.0), 1e-9, 1e-9, "float64")
    assert double.factor == 0.5 and "got = 2 × expected;" in double.message


# ---- a shape mismatch says the shapes ------------------------------------------------------


def test_a_shape_mismatch_says_both_shapes_in_the_cell_and_the_message() -> None:
    report = checked("vr_mse_shape", "manual,minigrad")
    (rec,) = [r for r in report.records if r.label == "minigrad"]
    assert rec.status == "fail"
    assert rec.message == "got shape (2,), expected (4,)"
    assert cell_text(report, "minigrad") == "✗ shape (2,), expected (4,)"
    assert report.exit_code == 1


# ---- relative error: one definition, the cell's and the detail line's ----------------------


def test_relative_error_is_over_the_reference_or_its_floor() -> None:
    ref = np.array([0.0, 1.0e9])
    got = np.array([1.0, 1.0e9 + 1.0])
    # floor = (atol/rtol)·max|ref| = 1e9: both elements are 1 off on a scale of 1e9.
    assert relative_errors(got, ref, 1e-9, 1e-9).tolist() == [1e-9, 1e-9]
    # With atol ≪ rtol the floor is small and an element is judged on its own.
    assert relative_errors(np.array([2.0, 1e6]), np.array([1.0, 1e6]), 1e-4, 1e-12)[0] == 1.0


def test_a_passing_cell_never_reads_as_a_relative_error_of_one_at_a_zero_reference() -> None:
    ref = np.array([0.0, 1.0e9])
    v = compare_arrays(np.array([1.0, 1.0e9]), ref, 1e-9, 1e-9, "float64")
    assert v.status == "pass" and v.max_rel_error == 1e-9
    rec = CheckRecord(
        target="t",
        quantity="grad",
        backend="minigrad",
        status=v.status,
        max_abs_error=v.max_abs_error,
        max_rel_error=v.max_rel_error,
        mismatched=v.mismatched,
        total=v.total,
    )
    assert cell_summary([rec]) == ("pass", "✓ 1.0e-09")  # was "✓ 1.0e+00", the absolute error


def test_the_cell_and_its_detail_line_show_the_same_worst_point() -> None:
    # d1 = 3x for x³: relative error |x − 1|, different at each of the four points.
    report = checked("vr_cube_wrong", "manual,minigrad", points=3)
    recs = report.cell("vr_cube_wrong", "d1", "minigrad")
    rels = sorted(r.max_rel_error or 0.0 for r in recs)
    assert len(set(rels)) == 4
    for r in recs:  # expected 3x, got 3x²: |got − expected| / |expected| = |x − 1|
        assert r.ref is not None and r.max_rel_error == pytest.approx(abs(r.ref / 3 - 1))
    worst = max(recs, key=lambda r: r.max_rel_error or 0.0)
    text = cell_text(report, "minigrad")
    assert text == f"✗ {worst.mismatched}/{worst.total} {sci(worst.max_rel_error)}"
    (line,) = [line for line in details(report) if "[minigrad]" in line]
    assert f"worst at {worst.point}:" in line
    assert f"max rel {sci(worst.max_rel_error)}" in line
    assert f"got {worst.got:.17g}, expected {worst.ref:.17g}" in line


# ---- the manual column is the reference ----------------------------------------------------


def test_the_manual_column_is_shown_as_the_reference_beside_a_wrong_formula() -> None:
    report = checked("vr_mse_dot_mean", "manual,minigrad")
    assert cell_text(report, "manual") == "ref"
    assert cell_text(report, "minigrad") == "✗ 2/2 7.5e-01"
    (manual,) = [r for r in report.records if r.label == "manual"]
    assert manual.is_reference is True and manual.status == "pass"
    (ad,) = [r for r in report.records if r.label == "minigrad"]
    assert ad.is_reference is False
    assert report.exit_code == 1


def test_the_closed_forms_own_float32_rounding_is_a_note_not_a_failure() -> None:
    # d1 = 1/(1 + x) − 1 at x = 1e-4: right, but it cancels in float32 (2.7e-4 relative).
    report = checked("vr_log1p_naive", "manual", dtype="float32")
    (rec,) = report.records
    assert rec.status == "pass" and rec.is_reference is True
    assert rec.max_rel_error is not None and 1e-4 < rec.max_rel_error < 1e-3
    assert rec.message == (
        "the closed form loses precision in float32 here: its float64 value agrees"
    )
    assert cell_text(report, "manual") == "ref"
    assert report.exit_code == 0


# ---- float32: f's own rounding is not blamed on a correct closed form ----------------------


def test_float32_cancellation_in_f_passes_with_a_note_and_names_no_suspect() -> None:
    report = checked("vr_log1p_naive", "manual,finite,minigrad,vr_minigrad_twin", dtype="float32")
    ad = [r for r in report.records if r.label in ("minigrad", "vr_minigrad_twin")]
    assert {r.status for r in ad} == {"pass"}
    # Both AD votes lose the same digits (they agree), beyond the float32 tolerance 1e-4 ...
    assert all(r.max_rel_error is not None and r.max_rel_error > r.rtol for r in ad)
    # ... and the note says why that is not a failure.
    assert {r.message for r in ad} == {"f loses precision in float32 here: float64 agrees"}
    assert report.suspects == []
    assert report.exit_code == 0
    notes = [line for line in details(report) if line.startswith("note: minigrad")]
    assert notes == [
        "note: minigrad f loses precision in float32 here: float64 agrees (vr_log1p_naive d1)"
    ]


def test_cli_float32_run_where_only_fs_rounding_differs_exits_0(cli) -> None:
    args = ("check", "--targets-file", str(TARGETS_FILE), "-t", "vr_log1p_cancel,vr_log1p_naive")
    args += ("-b", "manual,finite,minigrad,vr_minigrad_twin", "--dtype", "float32", "--jobs", "1")
    run = cli(*args)
    assert run.code == 0, run.out + run.err
    assert "suspect" not in run.out
    assert "f loses precision in float32 here: float64 agrees" in run.out
    doc = json.loads(cli(*args, "-f", "json").out)
    assert doc["suspects"] == []
    manual = [r for r in doc["results"] if r["backend"] == "manual"]
    assert manual and all(r["is_reference"] is True and r["status"] == "pass" for r in manual)


@needs("torch")
def test_float32_cancellation_is_excused_for_a_framework_too() -> None:
    report = checked("vr_log1p_cancel", "manual,torch,minigrad", dtype="float32", quantities=["d1"])
    (torch_rec,) = [r for r in report.records if r.label == "torch"]
    assert torch_rec.status == "pass" and torch_rec.max_rel_error is not None
    assert torch_rec.max_rel_error > torch_rec.rtol
    assert report.exit_code == 0 and report.suspects == []


def test_a_wrong_closed_form_in_float32_is_still_the_suspect() -> None:
    # float64 disagrees too: the float32 verdict stands, and the closed form is blamed.
    report = checked("vr_mse_dot_mean", "manual,minigrad,vr_minigrad_twin", dtype="float32")
    assert {r.status for r in report.records if r.label != "manual"} == {"fail"}
    assert [(s.target, s.backends) for s in report.suspects] == [
        ("vr_mse_dot_mean", ["minigrad", "vr_minigrad_twin"])
    ]
    assert report.exit_code == 1


def test_a_passing_finite_difference_clears_the_closed_form() -> None:
    # Two AD engines share a bug (1.5× every derivative) and agree: without an independent
    # reference the closed form is the suspect; finite differences agreeing with it clear it.
    blamed = checked("vr_mse_right", "manual,vr_scaled,vr_scaled_twin")
    assert [s.backends for s in blamed.suspects] == [["vr_scaled", "vr_scaled_twin"]]
    cleared = checked("vr_mse_right", "manual,finite,vr_scaled,vr_scaled_twin")
    assert {r.status for r in cleared.records if r.label == "finite"} == {"pass"}
    assert cleared.suspects == []
    (rec,) = [r for r in cleared.records if r.label == "vr_scaled"]
    assert rec.factor == pytest.approx(1 / 1.5) and "got = 1.5 × expected" in rec.message
    assert cleared.exit_code == 1
