"""The check engine on small selections: verdicts, suspects, isolation of failures."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from autodiff_bench.backends import Backend, register_backend
from autodiff_bench.backends.minigrad_backend import MinigradBackend
from autodiff_bench.check import CheckJob, plan_cells, resolve_check_plan, run_check
from autodiff_bench.config import EMPTY
from autodiff_bench.targets import Point, Target, register, scalar_sampler
from tests.conftest import needs

# A target whose closed-form d1 is deliberately wrong (3x instead of 3x²).
WRONG = register(
    Target(
        name="wrong_cube",
        formula="x³",
        f=lambda xp, x, p: x * x * x,
        closed_forms={"d1": lambda x, p: 3.0 * x},
        sample=scalar_sampler(1.5, 2.5),
        canonical=[Point.scalar(2.0)],
    )
)


@register_backend
class ExplodingBackend(MinigradBackend):
    """minigrad, except that it raises on every Jacobian (so every hessian), like a framework
    bug would.  NumPy only: the isolation test needs no optional framework."""

    name = "exploding_test"

    def jacobian(self, f: Any, create_graph: bool) -> Any:
        raise RuntimeError("kaboom in jacobian")


@register_backend
class SecondEngine(MinigradBackend):
    """A second AD backend (minigrad under another name), so that two AD backends can agree
    with each other against a closed form without any optional framework installed."""

    name = "second_engine_test"


def test_everything_passes_on_numpy_backends() -> None:
    builtins = "square,cubic,sin_x2,tanh,taylor_cos,quadratic,trace_axb,least_squares,logistic"
    plan = resolve_check_plan(
        EMPTY, targets=[builtins + ",linreg_mse"], backends=["manual,finite,minigrad"], points=1
    )
    report = run_check(plan, in_process=True)
    assert report.exit_code == 0
    assert set(report.counts()) == {"pass"}
    assert report.counts()["pass"] == 3 * len(report.rows())
    # Every record carries the documented fields with real values.
    rec = next(r for r in report.records if r.target == "cubic" and r.quantity == "d1")
    assert rec.total == 1 and rec.mismatched == 0 and rec.max_abs_error is not None


@pytest.mark.parametrize(
    "other",
    ["second_engine_test", pytest.param("autograd", marks=needs("autograd"))],
)
def test_wrong_closed_form_fails_and_is_named_suspect(other: str) -> None:
    plan = resolve_check_plan(
        EMPTY, targets=["wrong_cube"], backends=[f"manual,minigrad,{other}"], points=1
    )
    report = run_check(plan, in_process=True)
    assert report.exit_code == 1
    fails = [r for r in report.records if r.status == "fail"]
    assert {r.label for r in fails} == {"minigrad", other}
    canonical = next(r for r in fails if r.point == "x=2" and r.label == "minigrad")
    assert (canonical.got, canonical.ref) == (12.0, 6.0)
    assert canonical.worst_index == []
    assert {s.point for s in report.suspects} == {"x=2", "random#1"}
    assert sorted(report.suspects[0].backends) == sorted(["minigrad", other])


def test_one_ad_backend_against_the_closed_form_names_no_suspect() -> None:
    # One AD backend disagreeing with the closed form is no evidence against the closed form.
    plan = resolve_check_plan(EMPTY, targets=["wrong_cube"], backends=["manual,minigrad"])
    report = run_check(plan, in_process=True)
    assert report.exit_code == 1
    assert report.suspects == []


def test_a_backend_that_raises_is_an_error_cell_and_others_survive() -> None:
    plan = resolve_check_plan(
        EMPTY, targets=["least_squares"], backends=["exploding_test,minigrad"], points=0
    )
    report = run_check(plan, in_process=True)
    by = {(r.label, r.quantity): r for r in report.records}
    assert by[("exploding_test", "hessian")].status == "error"
    assert "kaboom" in by[("exploding_test", "hessian")].message
    assert by[("exploding_test", "grad")].status == "pass"
    assert all(by[("minigrad", q)].status == "pass" for q in ("grad", "hessian", "hvp"))
    assert report.exit_code == 1


def test_unavailable_backend_is_not_a_failure_unless_required() -> None:
    class Absent(Backend):
        name = "absent_test"
        module = "no_such_module_for_adbench_tests"
        install_hint = "pip install nothing"

    register_backend(Absent)
    plan = resolve_check_plan(EMPTY, targets=["cubic"], backends=["manual,absent_test"])
    report = run_check(plan, in_process=True)
    assert report.counts() == {"pass": 3, "unavailable": 3}
    assert report.exit_code == 0
    required = resolve_check_plan(
        EMPTY, targets=["cubic"], backends=["manual,absent_test"], require=["absent_test"]
    )
    assert run_check(required, in_process=True).exit_code == 1


def test_worker_processes_give_the_same_records() -> None:
    plan = resolve_check_plan(
        EMPTY, targets=["cubic", "least_squares"], backends=["manual,finite,minigrad"], points=1
    )
    seen: list[str] = []
    serial = run_check(plan, in_process=True)
    parallel = run_check(plan, jobs=2, on_record=lambda r: seen.append(r.label))
    key = lambda r: (r.label, r.target, r.quantity, r.point)  # noqa: E731
    assert [key(r) for r in serial.records] == [key(r) for r in parallel.records]
    assert [r.got for r in serial.records] == [r.got for r in parallel.records]
    assert sorted(seen) == sorted(r.label for r in parallel.records)


def test_float32_cells_use_float32_tolerances() -> None:
    plan = resolve_check_plan(EMPTY, targets=["tanh"], backends=["minigrad"], dtype="float32")
    report = run_check(plan, in_process=True)
    assert report.exit_code == 0
    assert {r.rtol for r in report.records} == {1e-4, 3e-4, 1e-3, 3e-3}
    assert all(r.dtype == "float32" for r in report.records)


@pytest.mark.parametrize("spec", ["manual", "finite", "minigrad"])
def test_float32_cells_are_computed_in_float32(spec: str) -> None:
    # The values the engine compared, as the backend returned them: a backend that quietly
    # computes in float64 would pass float32's looser tolerances and go unnoticed otherwise.
    plan = resolve_check_plan(
        EMPTY,
        targets=["tanh", "least_squares", "logistic", "linreg_mse"],
        backends=[spec],
        dtype="float32",
        points=1,
    )
    # The worker's job, run here, keeps every value it compared.
    job = CheckJob(plan, [t.name for t in plan.targets], {}, (), plan_cells(plan))
    job.load()
    results = [job.run(i) for i in range(len(job.cells))]
    records = [r for res in results for r in res.records]
    assert records and {r.status for r in records} == {"pass"}
    dtypes = dict(job.compared_dtypes)
    assert len(dtypes) == len(records)
    assert set(dtypes.values()) == {np.dtype(np.float32)}, dtypes


def test_hvp_direction_is_shared_by_backends() -> None:
    plan = resolve_check_plan(EMPTY, targets=["quadratic"], backends=["manual,minigrad"])
    report = run_check(plan, in_process=True)
    hvp = [r for r in report.records if r.quantity == "hvp" and r.point == "hand"]
    assert len(hvp) == 2 and all(r.status == "pass" for r in hvp)
    assert np.isclose(hvp[0].ref, hvp[1].ref)
