"""The correctness policy: verdicts, worst elements, NaN, shapes and dtypes, tolerances."""

from __future__ import annotations

import numpy as np
import pytest

from autodiff_bench.correctness import Tolerances, arrays_agree, compare_arrays


def test_pass_within_tolerance_reports_errors() -> None:
    v = compare_arrays(np.array([1.0, 2.0 + 1e-12]), np.array([1.0, 2.0]), 1e-9, 1e-9, "float64")
    assert v.status == "pass"
    assert v.mismatched == 0 and v.total == 2
    assert v.max_abs_error == pytest.approx(1e-12, rel=1e-3)
    assert v.max_rel_error == pytest.approx(5e-13, rel=1e-3)


def test_fail_names_the_worst_element() -> None:
    ref = np.arange(6.0).reshape(2, 3)
    got = ref.copy()
    got[1, 2] += 0.5
    got[0, 1] += 0.1
    v = compare_arrays(got, ref, 1e-9, 1e-9, "float64")
    assert v.status == "fail"
    assert v.mismatched == 2 and v.total == 6
    assert v.worst_index == (1, 2)
    assert (v.got, v.ref) == (5.5, 5.0)
    assert "2/6 mismatched; worst at [1, 2]: got 5.5" in v.message
    assert v.max_abs_error == pytest.approx(0.5)


def test_nan_and_inf_are_their_own_verdict() -> None:
    v = compare_arrays(np.array([1.0, np.nan, np.inf]), np.ones(3), 1.0, 1.0, "float64")
    assert v.status == "nonfinite"
    assert v.mismatched == 2 and v.worst_index == (1,)


def test_shape_mismatch_fails() -> None:
    v = compare_arrays(np.ones((2, 3)), np.ones((3, 2)), 1e-9, 1e-9, "float64")
    assert v.status == "fail" and "shape" in v.message


def test_a_narrower_dtype_fails_and_a_wider_one_is_noted() -> None:
    ref = np.ones(3)
    narrow = compare_arrays(np.ones(3, np.float32), ref, 1e-3, 1e-3, "float64")
    assert narrow.status == "fail" and "dtype float32" in narrow.message
    wide = compare_arrays(np.ones(3, np.float64), ref, 1e-3, 1e-3, "float32")
    assert wide.status == "pass" and "returned float64" in wide.message


def test_zero_reference_uses_atol_only() -> None:
    v = compare_arrays(np.array([1e-10]), np.array([0.0]), 1e-9, 1e-9, "float64")
    # A reference of 0 everywhere: the relative error is over the floor, 1 (not undefined).
    assert v.status == "pass" and v.max_rel_error == 1e-10
    v = compare_arrays(np.array([1e-8]), np.array([0.0]), 1e-9, 1e-9, "float64")
    assert v.status == "fail"


def test_tolerance_table_grows_with_order_and_for_finite() -> None:
    tol = Tolerances.default()
    orders = [tol.lookup("float64", k, finite=False)[0] for k in range(1, 5)]
    assert orders == sorted(orders)
    assert tol.lookup("float64", 1, finite=True)[0] > tol.lookup("float64", 1, finite=False)[0]
    assert tol.lookup("float32", 1, finite=False)[0] > tol.lookup("float64", 1, finite=False)[0]
    over = Tolerances(tol.ad, tol.finite, {"cubic": {"d1": (0.5, 0.5)}})
    assert over.lookup("float64", 1, finite=False, target="cubic", quantity="d1") == (0.5, 0.5)
    assert over.lookup(
        "float64", 1, finite=False, target="x", quantity="d1", target_overrides={"d1": (1, 2)}
    ) == (1, 2)


def test_arrays_agree() -> None:
    assert arrays_agree(np.ones(3), np.ones(3) + 1e-12, 1e-9, 1e-9)
    assert not arrays_agree(np.ones(3), np.ones(3) * 1.1, 1e-9, 1e-9)
    assert not arrays_agree(np.ones(3), np.ones(4), 1.0, 1.0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_reference_that_is_not_finite_never_passes(bad: float) -> None:
    ref = np.array([1.0, bad, 3.0])
    verdict = compare_arrays(ref.copy(), ref, 1e-9, 1e-9, "float64")
    assert verdict.status == "error"
    assert "reference" in verdict.message and "NaN or Inf" in verdict.message


def test_an_error_exactly_at_the_allowance_passes() -> None:
    # |got − ref| ≤ atol·max|ref| + rtol·|ref| is inclusive: zero tolerances demand an exact
    # match and accept one (a config may ask for that), and an error of exactly
    # atol·max|ref| (here 0.25·2) passes.
    ref = np.array([1.0, -2.0, 0.0])
    assert compare_arrays(ref.copy(), ref, 0.0, 0.0, "float64").status == "pass"
    assert compare_arrays(ref + 0.5, ref, 0.0, 0.25, "float64").status == "pass"
    assert compare_arrays(ref + 0.5, ref, 0.0, 0.2, "float64").status == "fail"
