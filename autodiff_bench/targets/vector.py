"""Vector-valued targets: f returns an array, derivatives ``jacobian``, ``jvp`` and ``vjp``.

The Jacobian has shape ``f(x).shape + x.shape``.  Each target also gives its own closed
forms for the two products, so ``manual`` computes J v and uᵀJ without forming J, as a
person who knows the structure would.  Written against ``xp`` (contract names only, no
``.T`` or ``[:, None]``): they run in NumPy and in every framework.

They are not in the default suite of ``check`` and ``time`` (``default_suite=False``): each
compiles three more functions per point shape in JAX and TensorFlow, about a quarter more
work for the default check.  ``--targets all`` or ``--quantities jacobian,jvp,vjp`` include
them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from autodiff_bench.targets import Point, Target, register

if TYPE_CHECKING:
    import numpy as np
else:
    from autodiff_bench.lazy import numpy as np


def _softmax(xp: Any, x: Any, p: object) -> Any:
    # exp(x − logsumexp x): the shift by the maximum is inside logsumexp, so a large x
    # neither overflows nor loses the small entries.
    return xp.exp(x - xp.logsumexp(x))


def _softmax_sample(rng: np.random.Generator, n: int) -> Point:
    return Point.of(2.0 * rng.standard_normal(n), "random")


register(
    Target(
        name="softmax",
        formula="softmax(x) = eˣ / Σ eˣ",
        f=_softmax,
        closed_forms={
            # diag(s) as eye(n)·s: the contract has no diag, and broadcasting s over the
            # columns of the identity is the same matrix.
            "jacobian": lambda xp, x, p: (
                xp.eye(x.shape[0]) * _softmax(xp, x, p)
                - xp.outer(_softmax(xp, x, p), _softmax(xp, x, p))
            ),
            # J is symmetric, so both products are s ⊙ (w − ⟨s, w⟩): O(n), no J.
            "jvp": lambda xp, x, p, v: _softmax_product(xp, x, v),
            "vjp": lambda xp, x, p, u: _softmax_product(xp, x, u),
        },
        closed_form_text={
            "jacobian": "diag(s) − ssᵀ  (s = softmax x)",
            "jvp": "s ⊙ (v − ⟨s, v⟩)",
            "vjp": "s ⊙ (u − ⟨s, u⟩)",
        },
        sample=_softmax_sample,
        canonical=lambda: [Point.of([1.0, 2.0, 3.0], "hand")],
        description="a vector function: its Jacobian is symmetric and singular",
        default_suite=False,
    )
)


def _softmax_product(xp: Any, x: Any, w: Any) -> Any:
    """(diag(s) − ssᵀ) w for a vector w."""
    s = _softmax(xp, x, None)
    return s * (w - xp.sum(s * w))


def _tanh_layer_sample(rng: np.random.Generator, n: int) -> Point:
    # One more output than inputs: a Jacobian written as Wᵀ diag(1 − t²) has the wrong
    # shape and fails, rather than passing by symmetry.
    m = n + 1
    return Point.of(
        rng.standard_normal(n),
        "random",
        W=rng.standard_normal((m, n)) / np.sqrt(n),
        b=0.5 * rng.standard_normal(m),
    )


def _pre_activation(xp: Any, x: Any, p: Any) -> Any:
    return xp.matmul(p["W"], x) + p["b"]


def _sech2(xp: Any, z: Any) -> Any:
    """1 − tanh²z as 4e/(1 + e)² with e = exp(−2|z|): no cancellation where tanh z ≈ ±1."""
    e = xp.exp(-2.0 * xp.abs(z))
    return 4.0 * e / (1.0 + e) ** 2


register(
    Target(
        name="tanh_layer",
        formula="tanh(Wx + b), W is (n+1)×n",
        f=lambda xp, x, p: xp.tanh(_pre_activation(xp, x, p)),
        closed_forms={
            "jacobian": lambda xp, x, p: (
                xp.expand_dims(_sech2(xp, _pre_activation(xp, x, p)), 1) * p["W"]
            ),
            "jvp": lambda xp, x, p, v: _sech2(xp, _pre_activation(xp, x, p)) * xp.matmul(p["W"], v),
            # Wᵀw written matmul(w, W): no transposed copy of W in any framework.
            "vjp": lambda xp, x, p, u: xp.matmul(u * _sech2(xp, _pre_activation(xp, x, p)), p["W"]),
        },
        closed_form_text={
            "jacobian": "diag(1 − t²) W  (t = tanh(Wx + b))",
            "jvp": "(1 − t²) ⊙ Wv",
            "vjp": "Wᵀ((1 − t²) ⊙ u)",
        },
        sample=_tanh_layer_sample,
        canonical=lambda: [
            Point.of(
                [0.5, -1.0],
                "hand",
                W=[[1.0, 2.0], [0.5, -1.0], [-2.0, 0.3]],
                b=[0.1, 0.0, -0.2],
            )
        ],
        description="a neural-network layer: a non-square Jacobian, (n+1)×n",
        default_suite=False,
    )
)
