"""minigrad's engine and derivative operators on known values and closed forms."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest

from autodiff_bench import minigrad
from autodiff_bench.minigrad import (
    Tensor,
    enable_grad,
    grad,
    hessian,
    hvp,
    jacobian,
    no_grad,
    stack,
    vjp,
    xp,
)


def nth_derivative(f, n):
    """d^n f/dx^n, composed the way the backend adapter does: grad(grad(..., True), True)."""
    for _ in range(n - 1):
        f = grad(f, create_graph=True)
    return grad(f)


# ----- the seed example -----


def test_seed_example_gradient_and_constants_get_none() -> None:
    x = Tensor([[2.0, 3.0]])
    w = Tensor([[-1.0], [1.2]], requires_grad=True)
    y = Tensor([[0.2]])
    loss = ((x @ w - y) ** 2).sum()
    assert loss.item() == pytest.approx(1.96)
    loss.backward()
    np.testing.assert_allclose(w.grad, [[5.6], [8.4]], rtol=1e-14)
    assert x.grad is None
    assert y.grad is None


# ----- accumulation in a DAG -----


def test_value_used_twice_gets_both_contributions() -> None:
    x = Tensor(3.0, requires_grad=True)
    (x * x).backward()
    assert x.grad == pytest.approx(6.0)  # not 3.0, as a rule that overwrote would give

    x = Tensor(3.0, requires_grad=True)
    (x + x).backward()
    assert x.grad == pytest.approx(2.0)

    x = Tensor(3.0, requires_grad=True)
    ((x + x) * x).backward()  # 2x² → 4x
    assert x.grad == pytest.approx(12.0)


def test_subexpression_used_in_three_places() -> None:
    x = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    s = x.sin()
    y = (s * s + s.exp() - 3 * s).sum()
    y.backward()
    s_value = np.sin(x.data)
    expected = (2 * s_value + np.exp(s_value) - 3) * np.cos(x.data)
    np.testing.assert_allclose(x.grad, expected, rtol=1e-14)


def test_backward_accumulates_across_calls_until_zero_grad() -> None:
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * x).sum().backward()
    (3 * x).sum().backward()
    np.testing.assert_allclose(x.grad, [5.0, 7.0])
    x.zero_grad()
    assert x.grad is None
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, [2.0, 4.0])


def test_broadcast_operand_gradient_is_summed_back() -> None:
    p = Tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    y = Tensor(np.array([[1.0], [2.0], [3.0]]), requires_grad=True)
    (p - y).sum().backward()
    np.testing.assert_array_equal(y.grad, [[-4.0], [-4.0], [-4.0]])
    np.testing.assert_array_equal(p.grad, np.ones((3, 4)))


def test_repeated_index_accumulates() -> None:
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    x[np.array([0, 0, 2, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0.0, 1.0])


# ----- higher derivatives against closed forms -----


def test_fourth_derivative_of_tanh() -> None:
    t = math.tanh(0.5)
    closed_form = 8 * t * (1 - t * t) * (2 - 3 * t * t)
    assert closed_form == pytest.approx(3.9522195637245830, rel=1e-15)
    d4 = nth_derivative(xp.tanh, 4)(0.5).item()
    assert d4 == pytest.approx(3.9522195637245830, rel=1e-13)
    assert nth_derivative(xp.tanh, 2)(0.5).item() == pytest.approx(-2 * t * (1 - t * t), rel=1e-14)
    d3 = nth_derivative(xp.tanh, 3)(0.5).item()
    assert d3 == pytest.approx(-2 * (1 - t * t) * (1 - 3 * t * t), rel=1e-14)


def test_cubic_derivatives() -> None:
    def cubic(x):
        return x**3 + 2 * x

    assert cubic(Tensor(3.0)).item() == 33.0
    assert grad(cubic)(3.0).item() == pytest.approx(29.0, rel=1e-15)
    assert nth_derivative(cubic, 2)(3.0).item() == pytest.approx(18.0, rel=1e-15)
    assert nth_derivative(cubic, 3)(3.0).item() == pytest.approx(6.0, rel=1e-15)
    assert nth_derivative(cubic, 4)(3.0).item() == 0.0  # d3 is constant: zeros, not an error


def test_sin_x_squared_derivatives() -> None:
    def f(x):
        return xp.sin(x) * x**2

    x = 1.234
    assert grad(f)(x).item() == pytest.approx(2.8325610668434710, rel=1e-14)
    second = 2 * math.sin(x) + 4 * x * math.cos(x) - x * x * math.sin(x)
    assert nth_derivative(f, 2)(x).item() == pytest.approx(second, rel=1e-13)


def test_square_at_five() -> None:
    assert grad(lambda x: x * x)(5.0).item() == 10.0
    assert nth_derivative(lambda x: x * x, 2)(5.0).item() == 2.0


def test_taylor_cos_derivative_is_the_truncated_series() -> None:
    def taylor_cos(x, terms=10):
        return sum((-1) ** k * x ** (2 * k) / math.factorial(2 * k) for k in range(terms))

    x = 0.7
    closed_form = sum(
        (-1) ** k * 2 * k * x ** (2 * k - 1) / math.factorial(2 * k) for k in range(1, 10)
    )
    assert grad(taylor_cos)(x).item() == pytest.approx(closed_form, rel=1e-14)
    assert grad(taylor_cos)(x).item() == pytest.approx(-math.sin(x), abs=1e-15)


# ----- Hessians, hvp, jacobian -----


def quadratic_problem(n=4, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n))  # not symmetric on purpose
    b = rng.standard_normal(n)

    def f(x):
        return 0.5 * (x @ (A @ x)) + xp.sum(b * x) + 1.5

    return f, A, b, rng.standard_normal(n)


def test_quadratic_gradient_and_hessian() -> None:
    f, A, b, x = quadratic_problem()
    symmetric = 0.5 * (A + A.T)
    np.testing.assert_allclose(grad(f)(x).data, symmetric @ x + b, rtol=1e-13)
    H = hessian(f)(x)
    assert H.shape == (4, 4)
    np.testing.assert_allclose(H.data, symmetric, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(jacobian(grad(f, create_graph=True))(x).data, symmetric)


def test_hvp_matches_hessian_times_vector() -> None:
    f, A, _, x = quadratic_problem(n=5, seed=1)
    v = np.arange(1.0, 6.0)
    expected = 0.5 * (A + A.T) @ v
    np.testing.assert_allclose(hvp(f)(x, v).data, expected, rtol=1e-13)
    # The same composition the backend adapter uses.
    composed = grad(lambda y: xp.sum(grad(f, create_graph=True)(y) * v))(x)
    np.testing.assert_allclose(composed.data, expected, rtol=1e-13)


def test_least_squares_gradient_and_hessian() -> None:
    rng = np.random.default_rng(2)
    A, b, x = rng.standard_normal((6, 3)), rng.standard_normal(6), rng.standard_normal(3)

    def f(v):
        return 0.5 * xp.sum((xp.matmul(A, v) - b) ** 2)

    np.testing.assert_allclose(grad(f)(x).data, A.T @ (A @ x - b), rtol=1e-13)
    np.testing.assert_allclose(hessian(f)(x).data, A.T @ A, rtol=1e-13)


def test_trace_axb_gradient_is_a_matrix_and_hessian_is_zero() -> None:
    rng = np.random.default_rng(3)
    A, B, X = rng.standard_normal((2, 3)), rng.standard_normal((4, 2)), rng.standard_normal((3, 4))

    def f(x):
        return xp.trace(xp.matmul(xp.matmul(A, x), B))

    np.testing.assert_allclose(grad(f)(X).data, A.T @ B.T, rtol=1e-13)
    H = hessian(f)(X)
    assert H.shape == (3, 4, 3, 4)
    assert not H.data.any()


def test_hessian_of_linear_function_is_zeros_not_an_error() -> None:
    b = np.array([1.0, -2.0, 3.0])
    H = hessian(lambda x: xp.sum(b * x))(np.zeros(3))
    np.testing.assert_array_equal(H.data, np.zeros((3, 3)))
    assert hvp(lambda x: xp.sum(b * x))(np.zeros(3), b).data.tolist() == [0.0, 0.0, 0.0]
    assert grad(lambda x: Tensor(2.0))(1.0).item() == 0.0  # f does not depend on x at all


def test_scalar_inputs_give_scalar_derivatives() -> None:
    x = np.float64(0.3)
    assert grad(xp.sin)(x).shape == ()
    assert hessian(xp.sin)(x).shape == ()
    assert hessian(xp.sin)(x).item() == pytest.approx(-math.sin(0.3), rel=1e-15)
    assert jacobian(xp.exp)(x).item() == pytest.approx(math.exp(0.3), rel=1e-15)


def test_jacobian_shape_and_values() -> None:
    x = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    J = jacobian(lambda t: t.sum(axis=0) * t[0])(x)  # output (3,), input (2, 3)
    assert J.shape == (3, 2, 3)
    expected = np.zeros((3, 2, 3))
    for j in range(3):
        expected[j, 0, j] = x[:, j].sum() + x[0, j]
        expected[j, 1, j] = x[0, j]
    np.testing.assert_allclose(J.data, expected, rtol=1e-14)
    differentiable = jacobian(lambda t: t * t, create_graph=True)(Tensor(x, requires_grad=True))
    assert differentiable.requires_grad


def test_linreg_mse_gradient_at_the_canonical_point() -> None:
    data_x = np.arange(8.0)
    data_y = np.array([1.86, 1.31, 0.62, 0.33, 0.09, -0.67, -1.23, -1.37])

    def mse(params):
        residual = params[0] * data_x + params[1] - data_y
        return xp.mean(residual**2)

    params = np.array([0.9, 0.1])
    r = 0.9 * data_x + 0.1 - data_y
    expected = [2 * np.mean(data_x * r), 2 * np.mean(r)]
    np.testing.assert_allclose(grad(mse)(params).data, expected, rtol=1e-14)


# ----- numerical stability -----


@pytest.mark.parametrize("z", [800.0, -800.0, 1e4, -1e4, 30.0, -30.0])
def test_logaddexp_is_finite_and_correct_for_huge_arguments(z: float) -> None:
    def softplus(x):
        return xp.logaddexp(0.0, x)

    def sigma(u: float) -> float:  # σ(u) without overflow
        return 1.0 / (1.0 + math.exp(-u)) if u >= 0 else math.exp(u) / (1.0 + math.exp(u))

    assert softplus(z).item() == pytest.approx(max(z, 0.0) + math.log1p(math.exp(-abs(z))))
    assert grad(softplus)(z).item() == pytest.approx(sigma(z), rel=1e-14, abs=1e-300)
    second = nth_derivative(softplus, 2)(z).item()
    third = nth_derivative(softplus, 3)(z).item()
    assert math.isfinite(second) and math.isfinite(third)
    # σ(z)·σ(-z), to full relative precision even where it is 1e-13 (z = 30).
    assert second == pytest.approx(sigma(z) * sigma(-z), rel=1e-13, abs=1e-300)
    expected_third = sigma(z) * sigma(-z) * (sigma(-z) - sigma(z))
    assert third == pytest.approx(expected_third, rel=1e-12, abs=1e-300)


def test_logistic_target_is_stable_at_huge_margins() -> None:
    a = np.array([400.0, 400.0])

    def logistic(x):
        return xp.logaddexp(0.0, xp.sum(a * x))

    for sign in (1.0, -1.0):
        x = np.array([sign, sign])  # z = ±800
        value, g, H = logistic(x).item(), grad(logistic)(x).data, hessian(logistic)(x).data
        assert value == (800.0 if sign > 0 else 0.0)
        np.testing.assert_array_equal(g, a if sign > 0 else np.zeros(2))
        assert np.isfinite(H).all()
        np.testing.assert_array_equal(H, np.zeros((2, 2)))


def test_sigmoid_is_stable_and_accurate_in_the_tails() -> None:
    x = Tensor(np.array([-800.0, -40.0, 0.0, 40.0, 800.0]), requires_grad=True)
    s = x.sigmoid()
    expected = [0.0, math.exp(-40) / (1 + math.exp(-40)), 0.5, 1.0, 1.0]
    np.testing.assert_allclose(s.data, expected, rtol=1e-14)
    s.sum().backward()
    tail = math.exp(-40) / (1 + math.exp(-40)) ** 2  # σ'(±40); s * (1 - s) would give 0 at +40
    np.testing.assert_allclose(x.grad, [0.0, tail, 0.25, tail, 0.0], rtol=1e-14)


# ----- grad mode, errors, dtypes -----


def test_no_grad_records_nothing() -> None:
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with no_grad():
        y = (x * 3).sum()
        with enable_grad():
            z = (x * 3).sum()
    assert not y.requires_grad
    assert y._parents == ()
    assert z.requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()
    assert x.grad is None
    # Derivative operators still work when asked for inside no_grad().
    with no_grad():
        assert grad(lambda t: (t * t).sum())(np.array([3.0])).data.tolist() == [6.0]


def test_backward_on_non_scalar_explains_what_to_do() -> None:
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"seed gradient for an output of shape \(3,\)"):
        y.backward()
    with pytest.raises(RuntimeError, match=r"y\.sum\(\)\.backward\(\)"):
        y.backward()
    y.backward(gradient=np.array([1.0, 0.0, 2.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, 4.0])
    with pytest.raises(ValueError, match="seed gradient has shape"):
        y.backward(gradient=np.ones(2))
    with pytest.raises(ValueError, match="use jacobian"):
        grad(lambda t: t * 2)(np.ones(3))


def test_float32_is_preserved_through_every_derivative() -> None:
    x = np.array([0.5, 1.5], dtype=np.float32)
    A = np.eye(2, dtype=np.float32)

    def f(v):
        return xp.sum(xp.tanh(v) * 2.0 + xp.matmul(A, v) ** 2 / 3.0) + xp.logaddexp(0.0, v[0])

    assert f(Tensor(x)).dtype == np.float32
    assert grad(f)(x).dtype == np.float32
    assert hessian(f)(x).dtype == np.float32
    assert hvp(f)(x, x).dtype == np.float32
    assert nth_derivative(lambda v: xp.tanh(v) * 0.5, 4)(np.float32(0.5)).dtype == np.float32


def test_create_graph_backward_gives_differentiable_grad() -> None:
    x = Tensor(np.array([0.5, -0.25]), requires_grad=True)
    (x**3).sum().backward(create_graph=True)
    assert isinstance(x.grad, Tensor)
    first = x.grad
    x.zero_grad()
    first.sum().backward()
    np.testing.assert_allclose(x.grad, 6 * x.data, rtol=1e-15)


def test_vjp_and_stack() -> None:
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = stack([x * 2, x * x])
    np.testing.assert_array_equal(y.data, [[2.0, 4.0], [1.0, 4.0]])
    np.testing.assert_array_equal(vjp(y, x, np.array([[1.0, 0.0], [0.0, 1.0]])).data, [2.0, 4.0])
    unrelated = Tensor(np.ones(2), requires_grad=True)
    assert vjp(y, unrelated, np.ones((2, 2))).data.tolist() == [0.0, 0.0]


def test_xp_accepts_arrays_and_floats() -> None:
    assert xp.sin(0.5).item() == pytest.approx(math.sin(0.5))
    assert isinstance(xp.sum(np.ones(3)), Tensor)
    assert xp.logaddexp(0.0, 0.0).item() == pytest.approx(math.log(2))
    assert xp.matmul(np.eye(2), np.ones(2)).data.tolist() == [1.0, 1.0]
    assert xp.trace(np.eye(3)).item() == 3.0
    assert xp.transpose(np.ones((2, 3))).shape == (3, 2)
    assert np.asarray(xp.exp(np.zeros(2))).tolist() == [1.0, 1.0]


def test_walkthrough_in_the_package_docstring_runs() -> None:
    result = doctest.testmod(minigrad, verbose=False)
    assert result.attempted >= 5
    assert result.failed == 0
