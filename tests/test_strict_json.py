"""The JSON writer ("strict JSON only"): NaN and ±Inf, wherever they sit in a
document and whatever their type (Python float, NumPy scalar), are written as null, so the
text parses with a strict reader; finite values and everything else pass through unchanged."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from autodiff_bench.model import (
    CheckRecord,
    TimeRecord,
    dumps,
    load_document,
    make_document,
    strict,
    write_atomic,
)

NAN, INF = float("nan"), float("inf")


def strict_loads(text: str) -> Any:
    """Parse ``text`` refusing the NaN/Infinity/-Infinity literals Python's json accepts."""

    def refuse(literal: str) -> None:
        raise AssertionError(f"non-strict JSON literal {literal} in the output")

    return json.loads(text, parse_constant=refuse)


def nonfinite_check_record() -> CheckRecord:
    """A check cell whose backend returned NaN against a finite closed form."""
    return CheckRecord(
        target="logistic",
        quantity="grad",
        backend="minigrad",
        mode="default",
        dtype="float64",
        point="z=800",
        status="nonfinite",
        max_abs_error=INF,
        max_rel_error=NAN,
        worst_index=[2],
        got=NAN,
        ref=1.0,
        mismatched=1,
        total=3,
        message="the gradient is not finite",
        rtol=1e-10,
        atol=-INF,
    )


def test_nan_and_infinities_in_a_record_are_written_as_null() -> None:
    doc = make_document("check", {"targets": ["logistic"]}, [nonfinite_check_record()])
    text = dumps(doc)
    for literal in ("NaN", "Infinity"):
        assert literal not in text
    (rec,) = strict_loads(text)["results"]
    assert rec["max_abs_error"] is None and rec["max_rel_error"] is None
    assert rec["got"] is None and rec["atol"] is None
    # Finite values are untouched, NaN did not leak into the neighbours.
    assert rec["ref"] == 1.0 and rec["rtol"] == 1e-10 and rec["worst_index"] == [2]
    assert rec["status"] == "nonfinite" and rec["mismatched"] == 1 and rec["total"] == 3


def test_nested_lists_dicts_and_tuples_are_made_strict() -> None:
    doc = {
        "schema_version": 1,
        "results": [{"times_s": [1e-3, NAN, 2e-3, INF, -INF], "pair": (NAN, 0.5)}],
        "config": {"tolerances": {"float32": {"d1": [NAN, {"deep": -INF}]}}},
    }
    parsed = strict_loads(dumps(doc))
    assert parsed["results"] == [{"times_s": [1e-3, None, 2e-3, None, None], "pair": [None, 0.5]}]
    assert parsed["config"] == {"tolerances": {"float32": {"d1": [None, {"deep": None}]}}}


@pytest.mark.parametrize(
    "value",
    [
        np.float64("nan"),
        np.float64("inf"),
        np.float32("inf"),
        np.float32("-inf"),
        np.float32("nan"),
        np.float16("inf"),
    ],
    ids=repr,
)
def test_numpy_non_finite_scalars_are_written_as_null(value: Any) -> None:
    doc = {"results": [{"median_s": value, "times_s": [value, np.float32(0.25)]}]}
    parsed = strict_loads(dumps(doc))
    assert parsed["results"] == [{"median_s": None, "times_s": [None, 0.25]}]


def test_finite_numpy_scalars_become_plain_json_numbers() -> None:
    doc = {
        "a": np.float32(1.5),
        "b": np.float64(-2.25),
        "c": np.int64(7),
        "d": np.bool_(True),
        "e": [np.float64(1e300), 0, True, None, "NaN"],
    }
    parsed = strict_loads(dumps(doc))
    assert parsed == {"a": 1.5, "b": -2.25, "c": 7, "d": True, "e": [1e300, 0, True, None, "NaN"]}
    assert type(parsed["c"]) is int and type(parsed["d"]) is bool


def test_strict_returns_plain_python_values() -> None:
    out = strict({"x": [np.float64("nan"), np.float32(2.0)], 3: (INF,)})
    assert out == {"x": [None, 2.0], "3": [None]}  # keys become strings, as JSON's are
    assert type(out["x"][1]) is float


def test_a_time_record_with_non_finite_figures_survives_a_write_and_a_load(
    tmp_path: Path,
) -> None:
    rec = TimeRecord(
        target="least_squares",
        size=10,
        quantity="grad",
        backend="jax",
        mode="jit",
        median_s=1e-5,
        iqr_s=NAN,
        cold_s=INF,
        times_s=[1e-5, NAN],
        ratio_to_primal=np.float64("inf"),  # a zero primal median
        ratio_to_manual=np.float32("nan"),
    )
    path = tmp_path / "time.json"
    write_atomic(path, dumps(make_document("time", {}, [rec])))
    strict_loads(path.read_text(encoding="utf-8"))
    (loaded,) = load_document(path, "time")["results"]
    expected = {**asdict(rec), "iqr_s": None, "cold_s": None, "times_s": [1e-5, None]}
    expected.update(ratio_to_primal=None, ratio_to_manual=None)
    assert loaded == expected
    assert not any(isinstance(v, float) and not math.isfinite(v) for v in loaded.values())
