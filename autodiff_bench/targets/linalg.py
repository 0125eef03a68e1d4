"""Vector and matrix targets from linear algebra: gradients and Hessians.

Closed forms are written against ``xp`` with ``xp.matmul`` and ``xp.transpose`` (no ``.T``,
no ``@`` on vectors: a TensorFlow tensor has neither with NumPy's meaning).  ``Aᵀv`` is
written ``matmul(v, A)``: the same numbers, without a transposed copy of A in any framework.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from autodiff_bench.targets import Point, Target, register

if TYPE_CHECKING:
    import numpy as np
else:
    from autodiff_bench.lazy import numpy as np


def _quadratic_sample(rng: np.random.Generator, n: int) -> Point:
    return Point.of(
        rng.standard_normal(n),
        "random",
        A=rng.standard_normal((n, n)),
        b=rng.standard_normal(n),
        c=rng.standard_normal(),
    )


register(
    Target(
        name="quadratic",
        formula="½xᵀAx + bᵀx + c",
        f=lambda xp, x, p: 0.5 * xp.sum(x * xp.matmul(p["A"], x)) + xp.sum(p["b"] * x) + p["c"],
        closed_forms={
            # Two matrix-vector products, not A + Aᵀ (an n×n temporary on every call).
            "grad": lambda xp, x, p: 0.5 * (xp.matmul(p["A"], x) + xp.matmul(x, p["A"])) + p["b"],
            "hessian": lambda xp, x, p: 0.5 * (p["A"] + xp.transpose(p["A"])),
            "hvp": lambda xp, x, p, v: 0.5 * (xp.matmul(p["A"], v) + xp.matmul(v, p["A"])),
        },
        closed_form_text={
            "grad": "½(A + Aᵀ)x + b",
            "hessian": "½(A + Aᵀ)",
            "hvp": "½(Av + Aᵀv)",
        },
        sample=_quadratic_sample,
        # A is deliberately not symmetric: a closed form that forgets ½(A + Aᵀ) fails here.
        canonical=lambda: [
            Point.of([1.0, 2.0], "hand", A=[[2.0, 1.0], [0.0, 3.0]], b=[1.0, -1.0], c=0.5)
        ],
    )
)


def _trace_sample(rng: np.random.Generator, n: int) -> Point:
    # Three different sides, so a transposed closed form cannot pass by luck.
    m, k, p = n, n + 1, n + 2
    return Point.of(
        rng.standard_normal((m, k)),
        "random",
        A=rng.standard_normal((p, m)),
        B=rng.standard_normal((k, p)),
    )


register(
    Target(
        name="trace_axb",
        formula="tr(AXB), X is m×n",
        f=lambda xp, x, p: xp.trace(xp.matmul(xp.matmul(p["A"], x), p["B"])),
        closed_forms={
            # AᵀBᵀ = (BA)ᵀ: one product, one transpose.
            "grad": lambda xp, x, p: xp.transpose(xp.matmul(p["B"], p["A"])),
            "hessian": lambda xp, x, p: xp.zeros(x.shape + x.shape, dtype=x.dtype),
            "hvp": lambda xp, x, p, v: xp.zeros_like(x),
        },
        closed_form_text={"grad": "AᵀBᵀ  (an m×n matrix)", "hessian": "0", "hvp": "0"},
        sample=_trace_sample,
        # X is n×(n+1), so the Hessian has ~n⁴ entries: 816 MB per call at n = 100.
        timing_sizes=(5, 20),
        canonical=lambda: [
            Point.of(
                [[1.0, 2.0, 0.0], [0.5, -1.0, 3.0]],
                "hand",
                A=[[1.0, 0.0], [2.0, 1.0]],
                B=[[1.0, 2.0], [0.0, 1.0], [-1.0, 0.5]],
            )
        ],
        default_size=3,
        description="a matrix-valued variable: the gradient has X's shape",
    )
)


def _least_squares_sample(rng: np.random.Generator, n: int) -> Point:
    rows = n + 3
    return Point.of(
        rng.standard_normal(n),
        "random",
        A=rng.standard_normal((rows, n)),
        b=rng.standard_normal(rows),
    )


def _residual(xp, x, p):
    return xp.matmul(p["A"], x) - p["b"]


register(
    Target(
        name="least_squares",
        formula="½‖Ax − b‖²",
        f=lambda xp, x, p: 0.5 * xp.sum(_residual(xp, x, p) ** 2),
        closed_forms={
            "grad": lambda xp, x, p: xp.matmul(_residual(xp, x, p), p["A"]),
            "hessian": lambda xp, x, p: xp.matmul(xp.transpose(p["A"]), p["A"]),
            "hvp": lambda xp, x, p, v: xp.matmul(xp.matmul(p["A"], v), p["A"]),
        },
        closed_form_text={"grad": "Aᵀ(Ax − b)", "hessian": "AᵀA", "hvp": "Aᵀ(Av)"},
        sample=_least_squares_sample,
        canonical=lambda: [
            Point.of([1.0, -1.0], "hand", A=[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], b=[1.0, 0.0, 2.0])
        ],
    )
)
