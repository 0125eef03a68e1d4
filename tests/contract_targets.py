"""A user targets file whose one target uses every name of the xp contract.

``adbench check --targets-file tests/contract_targets.py -t contract_kitchen_sink -b all``
passes on every backend in float64 and float32: a target written against the contract runs
everywhere.  ``f`` is a sum of small terms, each with an easy derivative; the closed-form
gradient below is written against ``xp`` too, term by term.

The points keep a margin from every kink (``abs``, ``sign``, ``maximum``, ``minimum``,
``where``, ``clip``) and every tie (``max``, ``min``, ``argmax``, ``argmin``) wider than the
steps of the finite-difference backend, so all backends see a smooth function there.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autodiff_bench import Point, Target, register

#: The canonical x; random points perturb it by at most ±0.03.
BASE = np.array([0.35, -0.75, 1.1, 0.55])
#: Indices ``take`` gathers in f (a plain list: Python values are accepted).
PICK = [0, 2, 2]

_rng = np.random.default_rng(11)
_C = 0.3 * _rng.standard_normal((4, 4))
PARAMS = {
    "A": 0.5 * _rng.standard_normal((4, 4)),
    "B": 2.0 * np.eye(4) + _C @ _C.T,  # symmetric positive definite: B + xxᵀ is too
    "b": 0.5 * _rng.standard_normal(4),
}


def kitchen_sink(xp: Any, x: Any, p: Any) -> Any:
    """A scalar function of x ∈ R⁴ built from every function of the contract."""
    A, B, b = p["A"], p["B"], p["b"]
    M = xp.reshape(x, (2, 2))
    elementwise = xp.sum(
        xp.abs(x) * xp.sign(x)
        + xp.exp(0.5 * x)
        + xp.expm1(0.3 * x)
        + xp.log(xp.square(x) + 1.0)
        + xp.log1p(x * x)
        + xp.sqrt(x * x + 2.0)
        + xp.sin(x) * xp.cos(x)
        + xp.tan(0.3 * x)
        + xp.tanh(x)
        + xp.sinh(0.5 * x) * xp.cosh(0.5 * x)
        + xp.logaddexp(x, 0.5)
        + 2.0 * xp.maximum(x, 0.2)
        + xp.minimum(x, 0.2)
        + xp.where(x > 0, x * x, -x)
        + xp.where(x < -0.3, 0.0, x)
        + xp.clip(x, -0.5, 0.8) ** 2
    ) + xp.sqrt(2.0) * xp.sum(x)
    reductions = (
        xp.mean(x * x)
        + xp.prod(1.0 + 0.1 * x)
        + xp.take(x, xp.argmax(x))
        + xp.min(x)
        + xp.sum(xp.max(M, axis=1))
        + xp.sum(xp.min(M, axis=0, keepdims=True))
        + 0.1 * xp.sum(xp.cumsum(x) ** 2)
        + xp.sum(xp.cumprod(1.0 + 0.1 * x))
        + xp.logsumexp(x)
        + xp.sum(xp.logsumexp(M, axis=1))
        + xp.sum(xp.sum(M, axis=0) ** 2)
    )
    shape = (
        xp.sum(M * xp.transpose(M))
        + xp.sum(xp.concat([x, 2.0 * x]) ** 2) / 10.0
        + xp.sum(xp.stack([x, x * x], axis=1)[:, 1])
        + xp.sum(xp.expand_dims(x, 0) * xp.expand_dims(b, 1))
        + x[0] * x[3]
        + xp.sum(x[1:3])
    )
    linear = (
        0.5 * xp.matmul(x, xp.matmul(A, x))
        + xp.trace(xp.outer(x, b))
        + 0.25 * xp.tensordot(xp.outer(x, x), A, axes=2)
        + xp.einsum("i,ij,j->", x, A, b)
        + xp.sum(x * xp.roll(x, 1))
        + xp.sum(xp.take(x, PICK) ** 2)
    )
    S = B + xp.outer(x, x)
    sign, logdet = xp.linalg.slogdet(S)
    linalg = (
        sign * logdet
        + 0.1 * xp.linalg.det(S)
        + xp.trace(xp.linalg.inv(S))
        + xp.sum(b * xp.linalg.solve(S, b))
        + xp.sum(xp.square(xp.linalg.cholesky(S)))
        + xp.linalg.norm(x)
    )
    creation = (
        xp.sum(x * xp.ones((4,)) + xp.zeros((4,)) + xp.zeros_like(x))
        + xp.sum(xp.full((4,), 0.5) * x)
        + xp.sum(xp.matmul(xp.eye(4), x) * xp.ones_like(x))
    )
    return elementwise + reductions + shape + linear + linalg + creation


def _reverse_cumsum(xp: Any, c: Any) -> Any:
    """Σ_{k ≥ j} c_k for every j."""
    return xp.sum(c) - xp.cumsum(c) + c


def kitchen_sink_grad(xp: Any, x: Any, p: Any) -> Any:
    """∇f, term by term in the order of :func:`kitchen_sink`."""
    A, B, b = p["A"], p["B"], p["b"]
    M = xp.reshape(x, (2, 2))
    one_hot = xp.eye(4)
    elementwise = (
        1.0
        + 0.5 * xp.exp(0.5 * x)
        + 0.3 * xp.exp(0.3 * x)
        + 4.0 * x / (x * x + 1.0)
        + x / xp.sqrt(x * x + 2.0)
        + xp.cos(x) ** 2
        - xp.sin(x) ** 2
        + 0.3 * (1.0 + xp.tan(0.3 * x) ** 2)
        + 1.0
        - xp.tanh(x) ** 2
        + 0.5 * (xp.cosh(0.5 * x) ** 2 + xp.sinh(0.5 * x) ** 2)
        + xp.exp(x - xp.logaddexp(x, 0.5))
        + xp.where(x > 0.2, 2.0, 1.0)
        + xp.where(x > 0, 2.0 * x, -1.0)
        + xp.where(x < -0.3, 0.0, 1.0)
        + xp.where(x > -0.5, xp.where(x < 0.8, 2.0 * x, 0.0), 0.0)
        + math.sqrt(2.0)
    )
    rows_max = xp.take(xp.eye(2), xp.argmax(M, axis=1), axis=0)
    cols_min = xp.transpose(xp.take(xp.eye(2), xp.argmin(M, axis=0), axis=0))
    running = xp.cumprod(1.0 + 0.1 * x)
    reductions = (
        x / 2.0
        + xp.prod(1.0 + 0.1 * x) * 0.1 / (1.0 + 0.1 * x)
        + xp.take(one_hot, xp.argmax(x), axis=0)
        + xp.take(one_hot, xp.argmin(x), axis=0)
        + xp.reshape(rows_max + cols_min, (4,))
        + 0.2 * _reverse_cumsum(xp, xp.cumsum(x))
        + 0.1 / (1.0 + 0.1 * x) * _reverse_cumsum(xp, running)
        + xp.exp(x - xp.logsumexp(x))
        + xp.reshape(xp.exp(M - xp.logsumexp(M, axis=1, keepdims=True)), (4,))
        + xp.reshape(2.0 * xp.sum(M, axis=0, keepdims=True) * xp.ones((2, 2)), (4,))
    )
    shape = (
        xp.reshape(2.0 * xp.transpose(M), (4,))
        + x
        + 2.0 * x
        + xp.sum(b)
        + xp.stack([x[3], 1.0, 1.0, x[0]])
    )
    counts = xp.sum(xp.take(one_hot, PICK, axis=0), axis=0)
    linear = (
        0.5 * (xp.matmul(A, x) + xp.matmul(x, A))
        + b
        + 0.25 * (xp.matmul(A, x) + xp.matmul(x, A))
        + xp.matmul(A, b)
        + xp.roll(x, 1)
        + xp.roll(x, -1)
        + 2.0 * counts * x
    )
    S = B + xp.outer(x, x)
    s_x = xp.linalg.solve(S, x)
    u = xp.linalg.solve(S, b)
    linalg = (
        2.0 * s_x
        + 0.1 * xp.linalg.det(S) * 2.0 * s_x
        - 2.0 * xp.linalg.solve(S, s_x)
        - 2.0 * xp.sum(u * x) * u
        + 2.0 * x
        + x / xp.linalg.norm(x)
    )
    creation = 2.5 * xp.ones_like(x)
    return elementwise + reductions + shape + linear + linalg + creation


def _sample(rng: np.random.Generator, size: int) -> Point:
    """BASE moved by at most ±0.03 per element (``size`` is fixed at 4)."""
    return Point.of(BASE + rng.uniform(-0.03, 0.03, BASE.shape), "random", **PARAMS)


register(
    Target(
        name="contract_kitchen_sink",
        formula="Σ of terms using every xp contract function",
        f=kitchen_sink,
        closed_forms={"grad": kitchen_sink_grad},
        closed_form_text={"grad": "term by term (tests/contract_targets.py)"},
        sample=_sample,
        canonical=[Point.of(BASE, "x=BASE", **PARAMS)],
        default_size=4,
        description="every function of the xp contract in one target",
    )
)
