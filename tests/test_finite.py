"""``finite``: a step that follows the function's scale, an error estimate that bounds the
real error, O(n²) evaluations for a Hessian and O(n) for an hvp, and a tolerance that uses
the estimate (scaled to the reference's magnitude)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from autodiff_bench.backends.finite import (
    LEVELS,
    STEPS,
    central_jacobian,
    central_step,
    gradient_difference_hvp,
    mixed_hessian,
    nth_derivative,
    search_jacobian,
)
from autodiff_bench.check import resolve_check_plan, run_check
from autodiff_bench.config import EMPTY
from autodiff_bench.correctness import allowance, compare_arrays, estimated_allowance


def _lse(x: np.ndarray) -> float:
    m = float(np.max(x))
    return m + float(np.log(np.sum(np.exp(x - m))))


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - np.max(x))
    return e / e.sum()


@pytest.mark.parametrize("x0", [-0.3, 0.0, 0.5, 3.0])
def test_the_step_follows_the_scale_of_exp_100x(x0: float) -> None:
    # f varies on a scale of 0.01: the old step, 0.05·max(1, |x|), was five scales wide.
    exact = 100.0 * np.exp(100.0 * x0)
    value, error = search_jacobian(lambda x: np.exp(100.0 * x), np.asarray(x0))
    assert abs(float(value) - exact) <= 1e-11 * exact
    assert abs(float(value) - exact) <= float(error)  # the estimate bounds the real error
    assert float(error) <= 1e-10 * exact  # ... and is not vacuous


def test_log_sum_exp_shifted_by_800() -> None:
    # |x| ≈ 800 but f varies on a scale of 1: the old step was 40.
    x = np.array([800.0, 801.0, 799.5, 800.25])
    s = _softmax(x)
    grad, grad_err = search_jacobian(_lse, x)
    assert np.max(np.abs(grad - s)) <= 1e-10
    assert np.all(np.abs(grad - s) <= grad_err)
    exact = np.diag(s) - np.outer(s, s)
    hess, hess_err = mixed_hessian(_lse, x)
    assert np.max(np.abs(hess - exact)) <= 1e-7
    assert np.all(np.abs(hess - exact) <= hess_err)
    v = np.array([1.0, -2.0, 0.5, 0.0])
    hv, hv_err = gradient_difference_hvp(_lse, x, v)
    assert np.max(np.abs(hv - exact @ v)) <= 1e-7
    assert np.all(np.abs(hv - exact @ v) <= hv_err)


@pytest.mark.parametrize("x0", [0.5, -1.3, 10.0])
def test_higher_derivatives_of_tanh(x0: float) -> None:
    t = np.tanh(x0)
    s = 1.0 / np.cosh(x0) ** 2
    exact = {1: s, 2: -2 * t * s, 3: -2 * s * (1 - 3 * t * t), 4: 8 * t * s * (2 - 3 * t * t)}
    for n, ref in exact.items():
        value, error = nth_derivative(np.tanh, n, np.asarray(x0))
        err = abs(float(value) - ref)
        assert err <= float(error), (n, err, float(error))
        # The check's tables for finite (1e-6 .. 1e-3 by order), met with room to spare.
        assert err <= 10.0 ** (-8 + n) * max(abs(ref), 1e-300), (n, err, ref)


class Counting:
    """f(x) = ½‖Ax − b‖², counting its calls."""

    def __init__(self, n: int) -> None:
        rng = np.random.default_rng(n)
        self.a = rng.standard_normal((n + 3, n))
        self.b = rng.standard_normal(n + 3)
        self.calls = 0

    def __call__(self, x: np.ndarray, *rest: Any) -> float:
        self.calls += 1
        r = self.a @ x - self.b
        return 0.5 * float(r @ r)


@pytest.mark.parametrize("n", [6, 20])
def test_a_hessian_costs_order_n_squared_evaluations(n: int) -> None:
    f = Counting(n)
    x = np.linspace(-1.0, 1.0, n)
    hess, _ = mixed_hessian(f, x)
    np.testing.assert_allclose(hess, f.a.T @ f.a, rtol=1e-8, atol=1e-8 * np.abs(f.a.T @ f.a).max())
    # f(x) once, the per-axis search (2 per step per axis), 4 per pair i < j per level.
    assert f.calls == 1 + 2 * STEPS * n + 4 * LEVELS * n * (n - 1) // 2
    assert f.calls <= 2 * LEVELS * n * n + 2 * STEPS * n + 1
    # Nested extrapolated differences (the Jacobian of a searched gradient) would cost
    # (2·STEPS·n)²: far above.
    assert f.calls < (2 * STEPS * n) ** 2 / 20


@pytest.mark.parametrize("n", [6, 20])
def test_an_hvp_is_two_gradients_per_level(n: int) -> None:
    f = Counting(n)
    x = np.linspace(-1.0, 1.0, n)
    v = np.cos(np.arange(n))
    hv, _ = gradient_difference_hvp(f, x, v)
    exact = f.a.T @ (f.a @ v)
    np.testing.assert_allclose(hv, exact, rtol=1e-7, atol=1e-7 * np.abs(exact).max())
    # The searches (along every axis and along v) plus 2 gradients of 2n values per level:
    # O(n), and cheaper than the Hessian.
    assert f.calls == (1 + 2 * STEPS * n) + (1 + 2 * STEPS) + LEVELS * 2 * 2 * n
    g = Counting(n)
    mixed_hessian(g, x)
    assert f.calls < g.calls


def test_a_one_percent_error_on_a_tiny_reference_fails() -> None:
    # The logistic Hessian at z = 30: entries ~9.4e-14.  An absolute 1e-8 would pass anything.
    ref = 9.357622968839e-14 * np.outer([1.0, 2.0, -1.0], [1.0, 2.0, -1.0])
    off = ref * 1.01
    assert compare_arrays(off, ref, 1e-8, 1e-8, "float64").status == "fail"
    assert compare_arrays(ref * (1 + 1e-12), ref, 1e-8, 1e-8, "float64").status == "pass"
    # The absolute part is atol·max|ref|: a 0 among large elements is not judged relatively.
    big = np.array([1.0e3, 0.0])
    assert compare_arrays(np.array([1.0e3, 1e-6]), big, 1e-8, 1e-8, "float64").status == "pass"
    assert compare_arrays(np.array([1.0e3, 1e-4]), big, 1e-8, 1e-8, "float64").status == "fail"
    # A reference that is 0 everywhere keeps atol as an absolute tolerance.
    np.testing.assert_array_equal(allowance(np.zeros(2), 1e-8, 1e-6), [1e-6, 1e-6])


def test_the_estimate_sets_finite_s_allowance_within_its_table() -> None:
    ref = np.array([2.0, -4.0])
    table, floor = (1e-6, 1e-6), (1e-9, 1e-9)
    # A small estimate tightens the allowance (never below the exact backends' floor)...
    tight = estimated_allowance(ref, np.array([1e-9, 1e-14]), table, floor)
    np.testing.assert_allclose(tight, [1e-8, allowance(ref, *floor)[1]])
    got = ref + np.array([5e-8, 0.0])  # within the table, past 10× the estimate
    assert compare_arrays(got, ref, *table, "float64").status == "pass"
    assert compare_arrays(got, ref, *table, "float64", allowed=tight).status == "fail"
    # ... a large one never loosens it past the table: a backend that says it is
    # inaccurate still fails.
    loose = estimated_allowance(ref, np.array([1.0, np.inf]), table, floor)
    np.testing.assert_allclose(loose, allowance(ref, *table))


def _stress_records(stress: bool) -> dict[tuple[str, str], Any]:
    plan = resolve_check_plan(
        EMPTY,
        targets=["logistic"],
        backends=["finite,minigrad"],
        quantities=["hessian"],
        points=0,
        stress=stress,
    )
    report = run_check(plan, in_process=True)
    return {(r.label, r.point): r for r in report.records}


def test_stress_points_join_the_check_only_when_asked() -> None:
    default = _stress_records(False)
    assert {point for _, point in default} == {"z=-0.6", "z=800", "z=-800"}
    assert all(r.status == "pass" for r in default.values())
    stressed = _stress_records(True)
    assert {point for _, point in stressed} == {"z=-0.6", "z=800", "z=-800", "z=30", "z=-30"}
    # minigrad's Hessian is right in the tail; finite's cannot be (f ≈ 30 there: its
    # round-off, 30·ε, swamps a curvature of 1e-13), and its own estimate says so.
    assert stressed[("minigrad", "z=30")].status == "pass"
    assert stressed[("finite", "z=-30")].status == "pass"
    tail = stressed[("finite", "z=30")]
    assert tail.status == "fail"
    estimate = float(tail.message.rsplit("its own error estimate is up to ", 1)[1])
    assert estimate >= tail.max_abs_error


# ---- finite:central across a kink (train's finite) -------------------------------------


def _counting(f: Any) -> tuple[Any, list[int]]:
    calls = [0]

    def g(x: np.ndarray) -> Any:
        calls[0] += 1
        return f(x)

    return g, calls


@pytest.mark.parametrize("offset", [0.3, 0.9, 1.5, -0.3, -0.9, -1.5, 1e-3, -1e-3])
def test_central_difference_is_right_beside_a_kink(offset: float) -> None:
    # f = 3·relu(x₀ − c) + x₀² + x₁³ with the kink c a fraction of a step from x₀, on either
    # side: a plain central difference whose step straddles it is off by up to 3/2.
    x = np.array([0.7, -0.4])
    c = x[0] + offset * central_step(float(x[0]))

    def f(v: np.ndarray) -> float:
        return float(3.0 * max(v[0] - c, 0.0) + v[0] ** 2 + v[1] ** 3)

    exact = np.array([(3.0 if x[0] > c else 0.0) + 2 * x[0], 3 * x[1] ** 2])
    h = central_step(float(x[0]))
    step = np.array([h, 0.0])
    plain = (f(x + step) - f(x - step)) / (2 * h)
    if abs(offset) < 1:
        assert abs(plain - exact[0]) > 1e-3  # the step straddles the kink
    value, error = central_jacobian(f, x)
    assert np.all(np.abs(value - exact) <= np.maximum(error, 1e-9)), (value, exact, error)


def test_central_difference_of_a_relu_network_loss_matches_backpropagation() -> None:
    # The parabola_mlp lesson's loss at a point where 12 of its 1153 coordinates straddle a
    # kink of some sample (step 13 of its run): the closed form within the estimate.
    from autodiff_bench.backends.namespace import numpy_namespace
    from autodiff_bench.train import get_workload
    from autodiff_bench.train.plan import TrainPlan

    w = get_workload("parabola_mlp")
    plan = TrainPlan(w, [], [], steps=13, batch_size=128, seed=0)
    data = plan.dataset()
    order, _ = plan.batches(data.size)
    xp = numpy_namespace("float64")
    opt = w.optimizers[0]
    theta = plan.initial_parameters(data)
    state = opt.init(xp, theta)
    for k, idx in enumerate(order, start=1):
        batch = {n: v[idx] for n, v in data.train.items()}
        g = w.grad(xp, theta, batch)
        if k == 13:
            break
        theta, state = opt.update(xp, theta, g, state)
    assert w.grad is not None
    value, error = central_jacobian(lambda t: w.loss(xp, t, batch), theta)
    h = np.array([central_step(float(t)) for t in theta])
    straddled = 0
    for i in range(theta.size):  # a plain central difference is wrong at some of these
        e = np.zeros_like(theta)
        e[i] = h[i]
        plain = (w.loss(xp, theta + e, batch) - w.loss(xp, theta - e, batch)) / (2 * h[i])
        straddled += abs(plain - g[i]) > 1e3 * error[i]
    assert straddled >= 1
    assert np.all(np.abs(value - g) <= error)


@pytest.mark.parametrize(
    ("f", "x"),
    [
        (lambda v: float(np.sum(np.sin(v) * np.exp(v))), np.linspace(-2, 3, 6)),
        (lambda v: float(np.log1p(np.exp(-v @ v))), np.array([0.3, -1.2, 2.0])),
        (lambda v: float(np.sum(v**4) / 1e6), np.array([10.0, -30.0, 200.0])),
    ],
)
def test_central_difference_of_a_smooth_function_takes_three_evaluations(f: Any, x: Any) -> None:
    # No kink: f at x, then x + h, x − h, x + 2h per coordinate, and no more.
    g, calls = _counting(f)
    value, _ = central_jacobian(g, x)
    assert calls[0] == 1 + 3 * x.size
    h = np.array([central_step(float(t)) for t in x])
    plain = [
        (f(x + np.eye(x.size)[i] * h[i]) - f(x - np.eye(x.size)[i] * h[i])) / (2 * h[i])
        for i in range(x.size)
    ]
    assert np.array_equal(value, plain)
