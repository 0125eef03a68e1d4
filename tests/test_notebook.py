"""The notebook call ``check_function``: the engine of ``check`` on one function, in this
process, and the example notebook of ``examples/``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from autodiff_bench import check_function
from autodiff_bench.check.run import IN_PROCESS_BACKENDS
from autodiff_bench.errors import UsageError
from tests.conftest import ROOT, needs

NUMPY_BACKENDS = ["manual", "finite", "minigrad"]


def cubes(xp, x):
    return xp.sum(x**3)


def test_a_correct_gradient_is_ok_at_every_point_on_every_backend() -> None:
    report = check_function(
        cubes, at=[1.0, -2.0, 0.5], grad=lambda xp, x: 3 * x**2, backends=NUMPY_BACKENDS, points=2
    )
    assert report.ok
    grads = [r for r in report.records if r.quantity == "grad"]
    assert {r.label for r in grads} == set(NUMPY_BACKENDS)
    assert {r.point for r in grads} == {"x=(1, -2, 0.5)", "random#1", "random#2"}
    assert all(r.status == "pass" for r in grads)


@needs("autograd")
def test_a_doubled_gradient_fails_and_the_closed_form_is_the_suspect() -> None:
    report = check_function(
        cubes,
        at=[1.0, -2.0, 0.5],
        grad=lambda xp, x: 6 * x**2,
        backends=["manual", "finite", "minigrad", "autograd"],
    )
    assert not report.ok
    failed = [r for r in report.records if r.status == "fail"]
    assert {r.label for r in failed} == {"finite", "minigrad", "autograd"}
    at_x = next(r for r in failed if r.label == "minigrad" and r.point.startswith("x="))
    # minigrad's 3x² at x = -2 is 12; the closed form says 24.
    assert at_x.ref == pytest.approx(2 * at_x.got)
    assert {s.quantity for s in report.suspects} == {"grad"}
    assert "closed form is the suspect" in str(report)


def test_scalar_functions_take_d1_to_d4_and_numpy_only_closed_forms() -> None:
    report = check_function(
        lambda xp, x: x * x * x,
        at=2.0,
        d1=lambda x: 3 * x * x,
        d2=lambda xp, x: 6 * x,
        backends=["minigrad"],
        dtype="float32",
    )
    assert report.ok
    d2 = next(r for r in report.records if r.quantity == "d2" and r.point == "x=2")
    assert d2.got == pytest.approx(12.0) and d2.dtype == "float32"


def test_hessian_and_hvp_with_a_direction() -> None:
    report = check_function(
        cubes,
        at=[1.0, 2.0],
        hessian=lambda x: np.diag(6 * x),
        hvp=lambda xp, x, v: 6 * x * v,
        backends=["minigrad"],
        points=0,
    )
    assert report.ok
    assert {r.quantity for r in report.records} == {"hessian", "hvp"}


def test_a_second_call_reuses_the_loaded_backends() -> None:
    check_function(cubes, at=[1.0], grad=lambda xp, x: 3 * x**2, backends=["minigrad"])
    loaded = {k: v for k, v in IN_PROCESS_BACKENDS.items() if k[0] == "minigrad"}
    check_function(cubes, at=[2.0], grad=lambda xp, x: 3 * x**2, backends=["minigrad"])
    again = {k: v for k, v in IN_PROCESS_BACKENDS.items() if k[0] == "minigrad"}
    assert loaded and all(again[k] is v for k, v in loaded.items())


def test_the_report_prints_as_the_check_table_and_renders_html() -> None:
    report = check_function(cubes, at=[1.0], grad=lambda xp, x: 3 * x**2, backends=["minigrad"])
    text = str(report)
    assert "adbench check (float64)" in text and "✓" in text and "All 1 checked" in text
    html = report._repr_html_()
    assert html.startswith("<pre") and "minigrad" in html and "✓" in html
    assert "ok=True" in repr(report)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "at least one closed form"),
        ({"d1": lambda x: 3 * x * x}, "does not apply"),
        ({"grad": lambda xp, x, y, z: x}, "takes 4 positional parameters"),
        ({"grad": lambda xp, x: x, "dtype": "float16"}, "unknown dtype 'float16'"),
        ({"grad": lambda xp, x: x, "backends": ["torchh"]}, "did you mean 'torch'"),
        ({"grad": lambda xp, x: x, "points": -1}, "points must be 0 or more"),
    ],
)
def test_bad_input_is_a_usage_error(kwargs: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        check_function(cubes, at=[1.0, 2.0], **kwargs)


@needs("autograd")
def test_the_example_notebook_runs() -> None:
    # Every code cell, in order, in one namespace (as a kernel runs them); its cells assert
    # the verdicts themselves.
    nb = json.loads((ROOT / "examples" / "check_your_gradient.ipynb").read_text())
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert len(code) >= 3
    namespace: dict = {}
    for cell in code:
        exec(compile(cell, "check_your_gradient.ipynb", "exec"), namespace)
    assert namespace["report"].ok and not namespace["wrong"].ok
