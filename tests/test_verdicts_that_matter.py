"""The verdicts a user acts on: NaN and Inf, failing statuses, crashed imports, dtypes,
relative tolerances, strict JSON, closed-form suspects, the float32-cast reference and the
summary of an all-error run.

Each behaviour is tested where it lives (``compare_arrays``, the check engine, the JSON
writer, the renderer) and through ``adbench check``, where a user sees it: the exit code,
the JSON fields and the rendered lines.  The targets and test-only backends are in
``tests/verdict_targets.py``, a targets file as a user writes one.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from autodiff_bench import backends as backend_registry
from autodiff_bench import targets as target_registry
from autodiff_bench.backends import BackendSpec, all_backends
from autodiff_bench.check import CheckReport, run_check
from autodiff_bench.check import resolve_check_plan as _resolve
from autodiff_bench.config import EMPTY
from autodiff_bench.correctness import compare_arrays
from autodiff_bench.model import FAILING, CheckRecord, dumps, make_document
from autodiff_bench.render.check import check_markdown, details, summary_line
from autodiff_bench.targets import all_targets, get_target, load_targets_file, quantity_direction
from tests.conftest import ROOT, adbench


def check_backend(p: Any, spec: BackendSpec) -> tuple[list[CheckRecord], None]:
    """One backend's records, checked in this process."""
    return run_check(dataclasses.replace(p, backends=[spec]), in_process=True).records, None


VERDICT_TARGETS = ROOT / "tests" / "verdict_targets.py"
WRONG_ROSENBROCK = ROOT / "examples" / "rosenbrock_wrong_targets.py"
CRASH_MESSAGE = "RuntimeError: libfake.so: undefined symbol _ZN3fooEv"
CLOSED_FORM_NOT_FINITE = "the closed form is NaN or Inf at this point"

#: Where a framework legitimately returns float64 for float32 inputs, by backend: the
#: (target, quantity) cells.  HIPS autograd's vector-Jacobian products for ``np.trace`` and
#: ``np.mean`` build float64 arrays (``trace_axb`` uses trace; ``linreg_mse`` uses mean), so
#: these results come back wider.  ``compare_arrays`` accepts a wider result and notes it.
WIDENS_FLOAT32_TO_FLOAT64: dict[str, set[tuple[str, str]]] = {
    "autograd": {
        ("trace_axb", "grad"),
        ("trace_axb", "hvp"),  # forward over reverse: the tangent of that float64 gradient
        ("linreg_mse", "grad"),
        ("linreg_mse", "hessian"),
        ("linreg_mse", "hvp"),
    },
}


@pytest.fixture(scope="module", autouse=True)
def verdict_targets() -> Iterator[None]:
    """Load ``verdict_targets.py`` as ``--targets-file`` would, and afterwards take out all
    that this module registered, so that other modules' ``all`` selections never meet a
    deliberately broken target or backend."""
    all_targets()  # the built-ins first, so that the snapshot holds them
    all_backends()
    saved = (
        dict(target_registry._REGISTRY),
        dict(target_registry._LOADED_FILES),
        dict(backend_registry._REGISTRY),
    )
    load_targets_file(VERDICT_TARGETS)
    yield
    for live, before in zip(
        (target_registry._REGISTRY, target_registry._LOADED_FILES, backend_registry._REGISTRY),
        saved,
        strict=True,
    ):
        live.clear()
        live.update(before)  # type: ignore[arg-type]


def plan(targets: str, backends: str, **kw: Any) -> Any:
    """A check plan at the canonical points only, unless ``points`` says otherwise."""
    kw.setdefault("points", 0)
    return _resolve(EMPTY, targets=[targets], backends=[backends], **kw)


def check(cli: Any, *args: str) -> Any:
    """``adbench check`` in-process, with the verdict targets, in one process."""
    return cli("check", "--targets-file", str(VERDICT_TARGETS), "--jobs", "1", *args)


#: A NaN or Infinity token where a JSON value stands (not inside a string).
BARE_LITERAL = re.compile(r"[:\[,]\s*-?(NaN|Infinity)\b")


def strict_json(text: str) -> Any:
    """Parse ``text`` refusing the NaN, Infinity and -Infinity literals."""

    def refuse(token: str) -> Any:
        raise AssertionError(f"non-strict JSON literal {token}")

    return json.loads(text, parse_constant=refuse)


def by_point(doc: dict[str, Any], target: str, backend: str) -> dict[str, dict[str, Any]]:
    return {
        r["point"]: r for r in doc["results"] if r["target"] == target and r["backend"] == backend
    }


# ---- 1. NaN and Inf in the AD result ------------------------------------------------------

BAD_VALUES = [
    pytest.param(math.nan, id="nan"),
    pytest.param(math.inf, id="inf"),
    pytest.param(-math.inf, id="-inf"),
]


@pytest.mark.parametrize("bad", BAD_VALUES)
@pytest.mark.parametrize("position", [(i, j) for i in range(2) for j in range(3)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_single_nan_or_inf_element_anywhere_is_nonfinite(
    bad: float, position: tuple[int, int], dtype: str
) -> None:
    ref = np.arange(1.0, 7.0).reshape(2, 3)
    got = ref.astype(dtype)
    got[position] = bad
    v = compare_arrays(got, ref, rtol=1e-4, atol=1e-4, dtype=dtype)
    assert v.status == "nonfinite"
    assert (v.mismatched, v.total) == (1, 6)
    assert v.worst_index == position
    assert v.got is not None and (math.isnan(v.got) if math.isnan(bad) else v.got == bad)
    assert v.ref == ref[position]
    assert (v.max_abs_error, v.max_rel_error) == (None, None)
    assert v.message == "1/6 elements are NaN or Inf"


@pytest.mark.parametrize("bad", BAD_VALUES)
def test_a_nan_or_inf_scalar_is_nonfinite(bad: float) -> None:
    v = compare_arrays(np.float64(bad), np.float64(2.0), rtol=1e-9, atol=1e-9, dtype="float64")
    assert v.status == "nonfinite"
    assert (v.mismatched, v.total, v.worst_index) == (1, 1, ())
    assert v.message == "1/1 elements are NaN or Inf"


@pytest.mark.parametrize(
    ("target", "bad"), [("vt_abs_sqrt", math.nan), ("vt_half_exp", math.inf)], ids=["nan", "inf"]
)
def test_a_nan_or_inf_scalar_derivative_is_a_failing_nonfinite_cell(
    target: str, bad: float
) -> None:
    report = run_check(plan(target, "manual,minigrad"), in_process=True)
    status = {r.label: r for r in report.records}
    assert status["manual"].status == "pass"
    rec = status["minigrad"]
    assert rec.status == "nonfinite"
    assert rec.got is not None and (math.isnan(rec.got) if math.isnan(bad) else rec.got == bad)
    assert rec.ref == get_target(target).closed_form("d1", get_target(target).canonical[0])
    assert report.failed and report.exit_code == 1


@pytest.mark.parametrize("target", ["vt_abs_sqrt_sum", "vt_half_exp_sum"], ids=["nan", "inf"])
def test_one_nan_or_inf_gradient_element_in_any_position_is_nonfinite(target: str) -> None:
    report = run_check(plan(target, "minigrad"), in_process=True)
    records = {r.point: r for r in report.records}
    assert sorted(records) == ["bad@0", "bad@1", "bad@2", "bad@3"]
    for i in range(4):
        rec = records[f"bad@{i}"]
        assert rec.status == "nonfinite", rec
        assert (rec.mismatched, rec.total, rec.worst_index) == (1, 4, [i])
    assert report.exit_code == 1


def test_nonfinite_is_a_failing_status() -> None:
    assert "nonfinite" in FAILING
    rec = CheckRecord(
        target="t", quantity="d1", backend="minigrad", point="x=0", status="nonfinite"
    )
    ok = CheckRecord(target="t", quantity="d2", backend="minigrad", point="x=0", status="pass")
    report = CheckReport(plan("cubic", "minigrad"), [ok, rec], [])
    assert report.failed and report.exit_code == 1


def test_cli_a_nan_or_inf_derivative_exits_1_and_says_so(cli) -> None:
    run = check(cli, "-t", "vt_abs_sqrt,vt_half_exp", "-b", "manual,minigrad")
    assert run.code == 1, run.out
    assert "vt_abs_sqrt d1 [minigrad] at x=0: nonfinite: 1/1 elements are NaN or Inf" in run.out
    assert "vt_half_exp d1 [minigrad] at x=710: nonfinite: 1/1 elements are NaN or Inf" in run.out
    assert "FAILED: 2 nonfinite of 4 cells (2 pass)" in run.out
    assert "All" not in run.out


@pytest.mark.slow
def test_cli_subprocess_nan_derivative_exits_1() -> None:
    """The real command with its worker processes, which import the targets file too."""
    run = adbench(
        "check",
        "--targets-file",
        str(VERDICT_TARGETS),
        *["-t", "vt_abs_sqrt", "-b", "manual,minigrad", "--points", "1"],
    )
    assert run.code == 1, run.out + run.err
    assert "NaN" in run.out and "FAILED: 1 nonfinite of 2 cells (1 pass)" in run.out


# ---- 1 and 3. NaN and Inf in the closed form ----------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "vt_cube_nan_closed_form",
        "vt_cube_sum_nan_closed_form",
        "vt_half_exp_inf_closed_form",
        "vt_half_exp_sum_inf_closed_form",
    ],
)
def test_a_nan_or_inf_closed_form_is_an_error_cell_never_a_pass(target: str) -> None:
    # minigrad's values are finite and right; only the reference is broken.
    report = run_check(plan(target, "minigrad"), in_process=True)
    assert report.records
    for rec in report.records:
        assert (rec.status, rec.message) == ("error", CLOSED_FORM_NOT_FINITE)
        assert rec.got is None and rec.ref is None
    assert report.exit_code == 1


def test_cli_a_nan_or_inf_closed_form_is_an_error_and_exits_1(cli) -> None:
    targets = "vt_cube_nan_closed_form,vt_half_exp_inf_closed_form,cubic"
    run = check(cli, "-t", targets, "-q", "d1", "-b", "minigrad")
    assert run.code == 1, run.out
    for cell in (
        "vt_cube_nan_closed_form d1 [minigrad] at x=0",
        "vt_half_exp_inf_closed_form d1 [minigrad] at x=710",
    ):
        assert f"{cell}: error: {CLOSED_FORM_NOT_FINITE}" in run.out
    assert "FAILED: 2 error of 3 cells (1 pass)" in run.out


# ---- 4. a backend whose import crashes ----------------------------------------------------


def test_a_crashing_import_is_an_error_and_a_missing_framework_is_unavailable() -> None:
    p = plan("cubic,square", "minigrad")
    crashed, _ = check_backend(p, BackendSpec("vt_crashing_import", "default"))
    assert len(crashed) == 5  # cubic d1..d3, square d1..d2
    assert {(r.status, r.message, r.point) for r in crashed} == {("error", CRASH_MESSAGE, "*")}
    missing, _ = check_backend(p, BackendSpec("vt_not_installed", "default"))
    assert {r.status for r in missing} == {"unavailable"}


def test_a_crashing_import_fails_the_run_beside_a_passing_backend() -> None:
    report = run_check(
        plan("cubic", "minigrad,vt_crashing_import", quantities=["d1"]), in_process=True
    )
    assert report.counts() == {"pass": 1, "error": 1}
    assert report.exit_code == 1


def test_cli_a_crashing_import_shows_error_and_exits_1(cli) -> None:
    run = check(cli, "-t", "cubic", "-q", "d1", "-b", "minigrad,vt_crashing_import")
    assert run.code == 1, run.out
    assert f"cubic d1 [vt_crashing_import] at *: error: {CRASH_MESSAGE}" in run.out
    assert "FAILED: 1 error of 2 cells (1 pass)" in run.out
    assert "n/a" not in run.out and "unavailable" not in run.out
    as_json = check(
        cli, "-t", "cubic", "-q", "d1", "-b", "minigrad,vt_crashing_import", "-f", "json"
    )
    assert as_json.code == 1
    rec = by_point(strict_json(as_json.out), "cubic", "vt_crashing_import")["*"]
    assert (rec["status"], rec["message"]) == ("error", CRASH_MESSAGE)


@pytest.mark.slow
def test_cli_subprocess_a_crashing_import_in_a_worker_exits_1() -> None:
    run = adbench(
        "check",
        "--targets-file",
        str(VERDICT_TARGETS),
        *["-t", "cubic", "-q", "d1", "-b", "minigrad,vt_crashing_import", "--jobs", "2"],
    )
    assert run.code == 1, run.out + run.err
    assert f"cubic d1 [vt_crashing_import] at *: error: {CRASH_MESSAGE}" in run.out


# ---- 5. float32 stays float32 -------------------------------------------------------------


def _shipped(cls: type) -> bool:
    """Built-in or installed as a plugin: not one of the test-only backends test modules
    register (those live in files under tests/)."""
    return not Path(inspect.getfile(cls)).resolve().is_relative_to(ROOT / "tests")


SHIPPED = [name for name, cls in all_backends().items() if _shipped(cls)]
SHIPPED_MODES = [
    pytest.param(name, mode, id=f"{name}:{mode}")
    for name in SHIPPED
    for mode in all_backends()[name].modes
]


def _backend(name: str, mode: str | None = None, dtype: str = "float32") -> Any:
    cls = all_backends()[name]
    if not cls.is_available():
        pytest.skip(f"{name} is not installed")
    return cls(mode, dtype=dtype)


def test_the_shipped_backends_include_the_numpy_ones() -> None:
    assert {"manual", "finite", "minigrad"} <= set(SHIPPED)
    assert not any(n.startswith(("vt_", "exploding")) for n in SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_backend_returns_float32_for_float32_inputs(name: str) -> None:
    backend = _backend(name)
    builtin = [t for t in all_targets().values() if t.f.__module__.startswith("autodiff_bench.")]
    assert len(builtin) >= 10
    widened = WIDENS_FLOAT32_TO_FLOAT64.get(name, set())
    wrong = []
    for target in builtin:
        point = (target.canonical or [target.sample(np.random.default_rng(0), 3)])[0]
        for quantity in target.quantities:
            v = quantity_direction(target, quantity, point, 0, 0)
            got = backend.evaluate(target, quantity, point, v)
            allowed = {"float32", "float64"} if (target.name, quantity) in widened else {"float32"}
            if got.dtype.name not in allowed:
                wrong.append(f"{target.name} {quantity}: {got.dtype}")
    assert not wrong, f"{name} float32 results: {wrong}"


@pytest.mark.parametrize(("name", "mode"), SHIPPED_MODES)
def test_every_backend_computes_at_the_float32_point(name: str, mode: str) -> None:
    """2³⁰(x − 1)² near 1: its derivative at float32(x) is 512, at x itself 614.4."""
    target = get_target("vt_near_one_square")
    point = target.canonical[0]
    at_cast = float(target.closed_form("d1", point.astype(np.float32)))
    at_x = float(target.closed_form("d1", point))
    assert (at_cast, at_x) == (512.0, pytest.approx(614.4))
    got32 = _backend(name, mode, "float32").evaluate(target, "d1", point)
    got64 = _backend(name, mode, "float64").evaluate(target, "d1", point)
    assert float(got32) == pytest.approx(at_cast, rel=1e-4)
    assert float(got64) == pytest.approx(at_x, rel=1e-6)


def test_cli_float32_check_records_float32_and_passes(cli) -> None:
    targets = "cubic,quadratic,logistic,vt_near_one_square"
    run = check(
        cli, "--dtype", "float32", "-t", targets, "-b", "manual,finite,minigrad", "-f", "json"
    )
    assert run.code == 0, run.out
    doc = strict_json(run.out)
    assert doc["config"]["dtype"] == "float32"
    assert len(doc["results"]) > 30
    for rec in doc["results"]:
        assert rec["dtype"] == "float32"
        assert rec["status"] == "pass", rec
        # No backend here widens float32: a "returned float64 for float32 inputs" note would
        # mean that float64 was checked instead.
        assert rec["message"] == "", rec
        assert rec["rtol"] >= 1e-5  # the float32 table, not float64's 1e-9..


@pytest.mark.parametrize("name", SHIPPED)
def test_cli_float32_check_of_every_backend_computes_in_float32(cli, name: str) -> None:
    _backend(name)  # skips when not installed
    builtin = [t for t in all_targets().values() if t.f.__module__.startswith("autodiff_bench.")]
    targets = ",".join(t.name for t in builtin)
    run = check(cli, "--dtype", "float32", "-t", targets, "-b", name, "--points", "1", "-f", "json")
    assert run.code == 0, run.out
    widened = WIDENS_FLOAT32_TO_FLOAT64.get(name, set())
    records = strict_json(run.out)["results"]
    assert len(records) >= 2 * len(builtin)
    for rec in records:
        assert (rec["dtype"], rec["status"]) == ("float32", "pass"), rec
        if (rec["target"], rec["quantity"]) in widened:
            assert rec["message"] in ("", "returned float64 for float32 inputs"), rec
        else:
            assert rec["message"] == "", rec  # a wider result is noted: float64 was computed


# ---- 6. the relative tolerance ------------------------------------------------------------


def test_rtol_accepts_roundoff_on_large_values_beyond_atol() -> None:
    ref = np.array([1.0e13, -2.0e13, 3.0e13])
    got = ref * (1 + 5e-10)  # relative error 5e-10 < rtol, absolute error ≈ 1e4 ≫ atol
    v = compare_arrays(got, ref, rtol=1e-9, atol=1e-9, dtype="float64")
    assert v.status == "pass"
    assert v.max_abs_error is not None and v.max_abs_error > 1e4
    assert v.max_rel_error == pytest.approx(5e-10, rel=1e-3)


def test_rtol_is_relative_to_the_reference_on_both_sides_of_the_limit() -> None:
    ref = np.array([1.0e6])
    # allowed = atol·max|ref| + rtol·|ref| = 1e-3 + 1e-3
    inside = compare_arrays(ref + 1.9e-3, ref, rtol=1e-9, atol=1e-9, dtype="float64")
    outside = compare_arrays(ref + 2.1e-3, ref, rtol=1e-9, atol=1e-9, dtype="float64")
    assert (inside.status, outside.status) == ("pass", "fail")
    # rtol scales with |ref|: on a small reference the same rtol allows almost nothing.
    small = compare_arrays(
        np.array([2e-6]), np.array([1e-6]), rtol=1e-4, atol=1e-12, dtype="float64"
    )
    assert small.status == "fail" and small.max_rel_error == pytest.approx(1.0)


def test_large_magnitude_target_passes_on_rtol() -> None:
    report = run_check(plan("vt_big_exp", "minigrad"), in_process=True)
    (rec,) = report.records
    assert rec.status == "pass", rec
    assert rec.atol == 1e-9 and rec.rtol == 1e-9
    assert rec.max_abs_error is not None and rec.max_abs_error > 1e3 * rec.atol
    assert rec.max_rel_error is not None and rec.max_rel_error <= rec.rtol
    assert report.exit_code == 0


def test_cli_large_magnitude_target_passes_on_rtol(cli) -> None:
    run = check(cli, "-t", "vt_big_exp", "-b", "manual,minigrad", "-f", "json")
    assert run.code == 0, run.out
    rec = by_point(strict_json(run.out), "vt_big_exp", "minigrad")["x≈30"]
    assert rec["status"] == "pass"
    assert rec["max_abs_error"] > 1e3 * rec["atol"]


# ---- 7. strict JSON -----------------------------------------------------------------------


def test_json_writer_turns_nan_and_inf_into_null_everywhere() -> None:
    rec = CheckRecord(
        target="t",
        quantity="grad",
        backend="minigrad",
        point="x=0",
        status="nonfinite",
        max_abs_error=math.inf,
        got=math.nan,
        ref=-math.inf,
    )
    doc = make_document(
        "check",
        {"bounds": (np.float64(math.inf), -1.0)},
        [rec],
        nested=[1.0, math.nan, [math.inf, np.float32(math.nan)], {"k": -math.inf}],
    )
    text = dumps(doc)
    assert not BARE_LITERAL.search(text)
    parsed = strict_json(text)
    (out,) = parsed["results"]
    assert (out["got"], out["ref"], out["max_abs_error"]) == (None, None, None)
    assert out["status"] == "nonfinite"
    assert parsed["nested"] == [1.0, None, [None, None], {"k": None}]
    assert parsed["config"]["bounds"] == [None, -1.0]


def test_cli_json_of_a_nonfinite_run_is_strict_with_null_values(cli, tmp_path) -> None:
    out = tmp_path / "check.json"
    args = ("-t", "vt_abs_sqrt,vt_half_exp,vt_abs_sqrt_sum", "-b", "minigrad", "-f", "json")
    written = check(cli, *args, "-o", str(out))
    printed = check(cli, *args)
    assert written.code == printed.code == 1
    assert "FAILED" in written.err
    for text in (out.read_text(), printed.out):
        assert not BARE_LITERAL.search(text)
        doc = strict_json(text)
        scalar = by_point(doc, "vt_abs_sqrt", "minigrad")["x=0"]
        assert (scalar["status"], scalar["got"], scalar["ref"]) == ("nonfinite", None, 0.0)
        inf = by_point(doc, "vt_half_exp", "minigrad")["x=710"]
        assert (inf["status"], inf["got"]) == ("nonfinite", None)
        assert inf["ref"] == pytest.approx(math.exp(710 - math.log(2)))
        vector = by_point(doc, "vt_abs_sqrt_sum", "minigrad")
        for i in range(4):
            assert vector[f"bad@{i}"]["status"] == "nonfinite"
            assert vector[f"bad@{i}"]["worst_index"] == [i]
            assert vector[f"bad@{i}"]["got"] is None


# ---- 8. the closed form is the suspect ----------------------------------------------------

SUSPECT_BACKENDS = "manual,finite,minigrad,vt_minigrad_twin"
SUSPECT_LINE = (
    "rosenbrock_wrong grad: the closed form is the suspect — 2 AD backends "
    "(minigrad, vt_minigrad_twin) agree with each other but not with it "
    "(at x=(-1.2, 1), random#1)"
)


def test_two_agreeing_ad_backends_name_the_closed_form_the_suspect() -> None:
    load_targets_file(WRONG_ROSENBROCK)
    report = run_check(
        plan("rosenbrock_wrong", SUSPECT_BACKENDS, points=1, quantities=["grad"]), in_process=True
    )
    assert report.exit_code == 1
    assert [(s.target, s.quantity, s.point, s.backends) for s in report.suspects] == [
        ("rosenbrock_wrong", "grad", p, ["minigrad", "vt_minigrad_twin"])
        for p in ("x=(-1.2, 1)", "random#1")
    ]
    assert SUSPECT_LINE in details(report)
    assert f"- {SUSPECT_LINE}" in check_markdown(report)


def test_cli_names_the_closed_form_the_suspect(cli) -> None:
    args = ("--targets-file", str(WRONG_ROSENBROCK), "-t", "rosenbrock_wrong", "-q", "grad")
    args += ("-b", SUSPECT_BACKENDS, "--points", "1")
    run = check(cli, *args)
    assert run.code == 1
    assert SUSPECT_LINE in " ".join(run.out.split())  # the terminal may wrap it
    assert "grad (closed form suspect)" in run.out
    doc = strict_json(check(cli, *args, "-f", "json").out)
    assert doc["suspects"] == [
        {
            "target": "rosenbrock_wrong",
            "quantity": "grad",
            "point": p,
            "backends": ["minigrad", "vt_minigrad_twin"],
        }
        for p in ("x=(-1.2, 1)", "random#1")
    ]


# ---- 9. the reference is taken at the float32 point ---------------------------------------


def test_float32_reference_is_taken_at_the_point_the_backend_saw() -> None:
    report = run_check(
        plan("vt_near_one_square", "manual,minigrad", dtype="float32"), in_process=True
    )
    d1 = [r for r in report.records if r.quantity == "d1"]
    assert len(d1) == 2
    for rec in d1:
        # At x itself the derivative is 614.4: a reference taken there fails by 17 %.
        assert (rec.status, rec.got, rec.ref) == ("pass", 512.0, 512.0), rec
    assert report.exit_code == 0


def test_cli_float32_check_of_a_last_bits_sensitive_derivative_passes(cli) -> None:
    run = check(cli, "--dtype", "float32", "-t", "vt_near_one_square", "-b", "manual,minigrad")
    assert run.code == 0, run.out
    assert "All 4 checked cells pass" in run.out


# ---- 10. the summary of a run where every cell errored ------------------------------------


def test_summary_of_an_all_error_run_counts_the_errors() -> None:
    report = run_check(plan("cubic,square", "vt_crashing_import"), in_process=True)
    assert report.checked == 0 and report.exit_code == 1
    line = summary_line(report)
    assert line.startswith("FAILED: 5 error cells; nothing could be compared — 1 backend × 5 rows")
    mixed = run_check(
        plan("cubic", "vt_crashing_import,vt_not_installed", quantities=["d1"]), in_process=True
    )
    assert summary_line(mixed).startswith(
        "FAILED: 1 error cell (1 unavailable); nothing could be compared — "
    )


def test_summary_of_a_run_with_nothing_available_still_says_nothing_was_checked() -> None:
    report = run_check(plan("cubic", "vt_not_installed", quantities=["d1"]), in_process=True)
    assert summary_line(report).startswith("FAILED: nothing was checked (1 unavailable) — ")


def test_cli_all_error_run_says_what_happened(cli) -> None:
    run = check(cli, "-t", "cubic,square", "-b", "vt_crashing_import")
    assert run.code == 1
    assert f"cubic d1 [vt_crashing_import] at *: error: {CRASH_MESSAGE}" in run.out
    assert "FAILED: 5 error cells; nothing could be compared" in run.out
    assert "no cells" not in run.out
