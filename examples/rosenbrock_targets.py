"""Your own targets: the Rosenbrock function, checked with

    adbench check --targets-file examples/rosenbrock_targets.py --targets rosenbrock

A target is written once against ``xp`` (each backend's array namespace) and comes with its
closed-form derivatives, a seeded sampler and, optionally, canonical points.

The gradient is written against ``xp`` too, ``closed(xp, x, params)``: it runs in NumPy and,
as ``manual:torch``, ``manual:jax`` or ``manual:tensorflow``, inside each framework.  The
Hessian is written in plain NumPy, ``closed(x, params)`` (it assigns into an array, which
not every framework can): it serves ``check`` and NumPy ``manual``, and a framework's
``manual`` reports it unsupported.  The number of positional parameters tells the two apart.
"""

import numpy as np

from autodiff_bench import Point, Target, register


def rosenbrock(xp, x, p):
    """f(x) = Σᵢ 100(xᵢ₊₁ − xᵢ²)² + (1 − xᵢ)²."""
    head, tail = x[:-1], x[1:]
    return xp.sum(100.0 * (tail - head * head) ** 2 + (1.0 - head) ** 2)


def rosenbrock_grad(xp, x, p):
    """The gradient, derived by hand: each term of the sum feeds xᵢ and xᵢ₊₁."""
    head, tail = x[:-1], x[1:]
    inner = tail - head * head
    zero = xp.zeros_like(x[:1])
    to_head = -400.0 * head * inner - 2.0 * (1.0 - head)  # ∂/∂xᵢ, i < n
    to_tail = 200.0 * inner  # ∂/∂xᵢ₊₁
    return xp.concat([to_head, zero]) + xp.concat([zero, to_tail])


def rosenbrock_hessian(x, p):
    """The Hessian, tridiagonal (plain NumPy)."""
    n = x.size
    h = np.zeros((n, n))
    i = np.arange(n - 1)
    h[i, i] = 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
    h[i + 1, i + 1] += 200.0
    h[i, i + 1] = h[i + 1, i] = -400.0 * x[:-1]
    return h


register(
    Target(
        name="rosenbrock",
        formula="Σ 100(xᵢ₊₁ − xᵢ²)² + (1 − xᵢ)²",
        f=rosenbrock,
        closed_forms={"grad": rosenbrock_grad, "hessian": rosenbrock_hessian},
        closed_form_text={"grad": "hand-derived", "hessian": "tridiagonal"},
        sample=lambda rng, n: Point.of(rng.uniform(-2, 2, max(n, 2)), "random"),
        canonical=[Point.of([-1.2, 1.0], "x=(-1.2, 1)")],
    )
)
