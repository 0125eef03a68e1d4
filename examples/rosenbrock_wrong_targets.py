"""The Rosenbrock target of ``rosenbrock_targets.py`` with a mistake in its gradient, as a
student might make it (100 where the factor is 200).  See what check says:

    adbench check --targets-file examples/rosenbrock_wrong_targets.py -t rosenbrock_wrong
"""

import numpy as np

from autodiff_bench import Point, Target, register


def rosenbrock(xp, x, p):
    """f(x) = Σᵢ 100(xᵢ₊₁ − xᵢ²)² + (1 − xᵢ)²."""
    head, tail = x[:-1], x[1:]
    return xp.sum(100.0 * (tail - head * head) ** 2 + (1.0 - head) ** 2)


def rosenbrock_grad(x, p):
    """The gradient, derived by hand."""
    g = np.zeros_like(x)
    head, tail = x[:-1], x[1:]
    g[:-1] = -400.0 * head * (tail - head**2) - 2.0 * (1.0 - head)
    g[1:] += 100.0 * (tail - head**2)  # wrong: the factor is 200
    return g


def rosenbrock_hessian(x, p):
    """The Hessian, tridiagonal."""
    n = x.size
    h = np.zeros((n, n))
    i = np.arange(n - 1)
    h[i, i] = 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
    h[i + 1, i + 1] += 200.0
    h[i, i + 1] = h[i + 1, i] = -400.0 * x[:-1]
    return h


register(
    Target(
        name="rosenbrock_wrong",
        formula="Σ 100(xᵢ₊₁ − xᵢ²)² + (1 − xᵢ)²",
        f=rosenbrock,
        closed_forms={"grad": rosenbrock_grad, "hessian": rosenbrock_hessian},
        closed_form_text={"grad": "hand-derived", "hessian": "tridiagonal"},
        sample=lambda rng, n: Point.of(rng.uniform(-2, 2, max(n, 2)), "random"),
        canonical=[Point.of([-1.2, 1.0], "x=(-1.2, 1)")],
    )
)
