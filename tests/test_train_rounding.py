"""``train`` settles a float32 parting in float64: a run that follows there passes as
round-off, unless its first gradient was already wrong in float32 or it parts in float64
too."""

from __future__ import annotations

from dataclasses import replace

import pytest

from autodiff_bench.model import TrainRecord
from autodiff_bench.train import float64_plan, resolve_train_plan, settle_in_float64
from autodiff_bench.train.report import FIRST_GRAD_TOLERANCE, TrainReport


def _record(backend: str, dtype: str, **fields: object) -> TrainRecord:
    base = dict(workload="linreg", optimizer="sgd", lr=0.01, backend=backend, mode="default",
                label=backend, dtype=dtype, deviation_reference="manual", max_deviation=0.0,
                status="pass")  # fmt: skip
    return TrainRecord(**{**base, **fields})  # type: ignore[arg-type]


def _reports(first_grad_error: float, wide_parts: bool) -> tuple[TrainReport, TrainReport]:
    plan = resolve_train_plan(
        "linreg", backends=["manual", "minigrad", "autograd"], dtype="float32"
    )
    narrow = TrainReport(
        plan,
        [
            _record("manual", "float32"),
            _record(
                "minigrad",
                "float32",
                status="fail",
                parted_at=7,
                max_deviation=2e-2,
                first_grad_error=first_grad_error,
                message="minigrad parts",
            ),
            _record("autograd", "float32", max_deviation=1e-7, first_grad_error=0.0),
        ],
    )
    wide_plan = float64_plan(narrow)
    assert wide_plan is not None
    assert wide_plan.dtype == "float64"
    assert [s.label for s in wide_plan.backends] == ["manual", "minigrad"]
    parted = {"status": "fail", "parted_at": 3} if wide_parts else {}
    wide = TrainReport(
        wide_plan,
        [
            _record("manual", "float64"),
            _record("minigrad", "float64", **{"max_deviation": 4e-16, **parted}),
        ],
    )
    return narrow, wide


def test_a_parting_that_follows_in_float64_passes_as_round_off() -> None:
    narrow, wide = _reports(first_grad_error=3e-8, wide_parts=False)
    settle_in_float64(narrow, wide)
    minigrad = narrow.records[1]
    assert minigrad.status == "pass" and minigrad.float64_deviation == 4e-16
    assert minigrad.message.startswith("float32 round-off: parts from manual at step 7")
    assert narrow.exit_code == 0
    assert (
        "minigrad parts from the closed form's trajectory in float32 (up to 2.0e-02) and "
        "follows it in float64 (within 4.0e-16)"
    ) in narrow.summary()
    assert "1 backend follows the closed form's trajectory within 1e-07" in narrow.summary()


@pytest.mark.parametrize(
    ("first_grad_error", "wide_parts"),
    [(10 * FIRST_GRAD_TOLERANCE, False), (3e-8, True), (None, False)],
)
def test_a_parting_stays_a_failure(first_grad_error: float | None, wide_parts: bool) -> None:
    # Wrong from the first step in float32, or parting in float64 too: not round-off.
    narrow, wide = _reports(first_grad_error=first_grad_error, wide_parts=wide_parts)  # type: ignore[arg-type]
    settle_in_float64(narrow, wide)
    minigrad = narrow.records[1]
    assert minigrad.status == "fail" and minigrad.float64_deviation is None
    assert narrow.exit_code == 1


def test_nothing_to_settle_outside_float32_or_without_a_parting() -> None:
    narrow, _ = _reports(first_grad_error=0.0, wide_parts=False)
    assert float64_plan(replace(narrow, plan=replace(narrow.plan, dtype="float64"))) is None
    narrow.records[1].status, narrow.records[1].parted_at = "pass", None
    assert float64_plan(narrow) is None
