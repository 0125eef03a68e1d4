"""Targets without closed forms: judged against ``--reference BACKEND`` or the AD backends'
consensus, cross-checked by finite; and control flow a compiled mode cannot trace."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from autodiff_bench.backends import parse_backends
from autodiff_bench.check import CheckPlan
from autodiff_bench.check.reference import CONSENSUS, PENDING, judge_pending
from autodiff_bench.model import CheckRecord
from tests.conftest import ROOT, needs

TARGETS = str(ROOT / "tests" / "reference_targets.py")
WRONG = str(ROOT / "tests" / "reference_backends.py")


def _plan(backends: str, reference: str | None = None) -> CheckPlan:
    return CheckPlan(
        targets=[],
        backends=parse_backends(backends.split(",")),
        quantities=None,
        reference=reference,
    )


def _pending(label: str, point: str = "p") -> CheckRecord:
    name = label.partition(":")[0]
    finite = name == "finite"
    return CheckRecord(
        target="t",
        quantity="grad",
        backend=name,
        label=label,
        point=point,
        status=PENDING,
        rtol=1e-6 if finite else 1e-9,
        atol=1e-6 if finite else 1e-9,
    )


def _judge(plan: CheckPlan, values: dict[str, list[float]], estimates=None):
    records = [_pending(label) for label in values]
    vals = {("t", "grad", "p", k): np.array(v) for k, v in values.items()}
    est = {("t", "grad", "p", k): np.array(v) for k, v in (estimates or {}).items()}
    judged, notes = judge_pending(plan, records, vals, est)
    return {r.label: r for r in judged}, notes


def test_the_majority_of_ad_frameworks_is_the_reference_and_finite_cross_checks() -> None:
    plan = _plan("torch,jax,jax:nojit,autograd,finite")
    by, notes = _judge(
        plan,
        {
            "torch": [1.0, 2.0],
            "jax": [1.0, 2.0 + 1e-12],
            "jax:nojit": [1.0, 2.0],
            "autograd": [1.0, 4.0],
            "finite": [1.0 + 1e-9, 2.0],
        },
        {"finite": [1e-9, 1e-9]},
    )
    assert {k: r.status for k, r in by.items()} == {
        "torch": "pass",
        "jax": "pass",
        "jax:nojit": "pass",
        "autograd": "fail",
        "finite": "pass",
    }
    assert all(r.reference == CONSENSUS for r in by.values())
    assert by["autograd"].got == 4.0 and by["autograd"].ref == 2.0
    assert by["jax"].max_abs_error == pytest.approx(1e-12, rel=1e-3)
    assert [n.reference for n in notes] == [CONSENSUS]
    assert "consensus of torch, jax; finite agrees within its error estimate" in notes[0].text


def test_two_frameworks_that_disagree_are_no_consensus_and_finite_says_whom_it_backs() -> None:
    by, notes = _judge(
        _plan("torch,autograd,finite"),
        {"torch": [1.0], "autograd": [3.0], "finite": [3.0 + 1e-8]},
        {"finite": [1e-8]},
    )
    assert {r.status for r in by.values()} == {"error"}
    assert by["torch"].reference is None
    assert "the AD backends disagree (torch, autograd" in by["torch"].message
    assert "finite agrees with autograd within its error estimate" in by["torch"].message
    assert notes[0].reference is None and "no consensus" in notes[0].text


def test_a_named_reference_is_its_column_and_a_failed_one_is_said() -> None:
    plan = _plan("torch,autograd,jax", reference="jax")
    by, notes = _judge(plan, {"torch": [1.0], "autograd": [1.5], "jax": [1.0]})
    assert (by["jax"].status, by["jax"].message) == ("reference", "the reference")
    assert (by["torch"].status, by["torch"].reference) == ("pass", "jax")
    assert by["autograd"].status == "fail" and by["autograd"].max_abs_error == 0.5
    assert "judged against jax" in notes[0].text
    broken = CheckRecord(
        target="t",
        quantity="grad",
        backend="jax",
        point="*",
        status="error",
        message="ImportError: no jax\nmore",
    )
    judged, _ = judge_pending(
        plan, [_pending("torch"), broken], {("t", "grad", "p", "torch"): np.array([1.0])}, {}
    )
    assert judged[0].status == "error"
    assert judged[0].message == "the reference jax has no value here (error: ImportError: no jax)"


def test_closed_form_records_keep_their_verdict_and_say_so() -> None:
    done = CheckRecord(target="square", quantity="d1", backend="jax", point="x=5", status="pass")
    judged, notes = judge_pending(_plan("jax"), [done], {}, {})
    assert (judged[0].status, judged[0].reference, notes) == ("pass", "closed form", [])


def test_reference_must_be_one_known_backend(cli) -> None:
    run = cli("check", "--targets-file", TARGETS, "-t", "energy_nocf", "--reference", "jaxx")
    assert run.code == 2 and "unknown backend 'jaxx'" in run.err and "jax" in run.err
    assert len(run.err.strip().splitlines()) <= 2
    run = cli("check", "--targets-file", TARGETS, "-t", "energy_nocf", "--reference", "manual")
    assert run.code == 2 and "--reference manual names the closed forms" in run.err


@needs("torch")
@needs("jax")
def test_a_wrong_backend_fails_against_the_consensus(cli, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    run = cli(
        "check",
        "--targets-file",
        TARGETS,
        "--backends-file",
        WRONG,
        "-t",
        "energy_nocf",
        "-b",
        "torch,jax,minigrad,finite,doubler",
        "-q",
        "grad,hvp",
        "-f",
        "json",
        "-o",
        str(out),
    )
    assert run.code == 1
    doc = json.loads(out.read_text())
    assert doc["config"]["reference"] is None
    status = {(r["label"], r["quantity"]): r["status"] for r in doc["results"]}
    assert {s for (label, _), s in status.items() if label == "doubler"} == {"fail"}
    assert {s for (label, _), s in status.items() if label != "doubler"} == {"pass"}
    assert {r["reference"] for r in doc["results"]} == {"consensus"}
    wrong = next(r for r in doc["results"] if r["label"] == "doubler" and r["quantity"] == "grad")
    assert wrong["got"] == pytest.approx(2 * wrong["ref"]) and wrong["max_rel_error"] == 1.0
    texts = [n["text"] for n in doc["references"]]
    assert texts[0] == (
        "energy_nocf grad: no closed form; judged against the consensus of torch, jax, "
        "minigrad; finite agrees within its error estimate"
    )


@needs("torch")
@needs("jax")
def test_reference_jax_passes_when_all_agree(cli, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    run = cli(
        "check",
        "--targets-file",
        TARGETS,
        "-t",
        "energy_nocf",
        "-b",
        "torch,finite",
        "--reference",
        "jax",
        "-q",
        "grad,hessian",
        "-f",
        "json",
        "-o",
        str(out),
    )
    assert run.code == 0, run.out + run.err
    doc = json.loads(out.read_text())
    assert doc["config"]["reference"] == "jax" and doc["config"]["backends"][-1] == "jax"
    by = {r["label"]: r for r in doc["results"] if r["quantity"] == "grad"}
    assert by["jax"]["status"] == "reference" and by["torch"]["status"] == "pass"
    assert by["torch"]["reference"] == by["finite"]["reference"] == "jax"
    assert by["torch"]["max_abs_error"] < 1e-14
    assert "judged against jax (added to the backends)" in doc["references"][0]["text"]
    table = cli(
        "check",
        "--targets-file",
        TARGETS,
        "-t",
        "energy_nocf",
        "-b",
        "torch,jax",
        "--reference",
        "jax",
        "-q",
        "grad",
    )
    assert table.code == 0 and "ref" in table.out
    assert "All 1 checked cells pass (1 reference)" in table.out


@needs("torch")
@needs("jax")
@needs("tensorflow")
def test_control_flow_is_unsupported_under_jit_and_runs_op_by_op(cli) -> None:
    run = cli(
        "check",
        "--targets-file",
        TARGETS,
        "-t",
        "branchy_nocf",
        "-b",
        "torch,jax,jax:nojit,tensorflow,tensorflow:eager",
    )
    assert run.code == 0, run.out + run.err
    assert (
        "— jax: Python control flow on a traced value (`if x > 0`) cannot be traced by "
        "jax.jit: use xp.where, or run jax:nojit (branchy_nocf grad)"
    ) in run.out
    assert "cannot be traced by tf.function: use xp.where, or run tensorflow:eager" in run.out
    assert "Traceback" not in run.out + run.err and "TracerBool" not in run.out
    assert "judged against the consensus of torch, jax, tensorflow" in run.out
    assert "All 3 checked cells pass (2 unsupported)" in run.out
