"""A Gaussian-mixture log-likelihood with several variables and static sizes, checked with

    adbench check --targets-file examples/gmm_targets.py -t gmm -b all

In the style of GradBench's (and ADBench's) ``gmm``, with a diagonal covariance so that the
closed-form gradient stays readable.  The variable is a dict of three arrays:

- ``alphas`` (k,): the mixture weights' logits,
- ``means`` (k, d): the component means,
- ``logdiag`` (k, d): the log-diagonal of each component's precision factor Q_k
  (GradBench's ``icf`` without its off-diagonal part), so Q_k = diag(exp(logdiag_k)).

The params are the data ``X`` (n, d) and the Wishart prior's ``gamma`` (arrays, cast to the
run's dtype), and the static ints ``k``, ``d`` and ``m``: Python values on every backend,
never traced, so Python arithmetic such as ``math.lgamma`` of them works under ``jax.jit``
and ``tf.function``.

    f = Σᵢ logsumexpₖ(αₖ + Σⱼ qₖⱼ − ½ Σⱼ Pₖⱼ (xᵢⱼ − μₖⱼ)²) − n logsumexp(α)
        − n d/2 log 2π + ½γ² Σₖⱼ Pₖⱼ − m Σₖⱼ qₖⱼ − k C(d, m, γ),       P = exp(2q)

(the last three terms are GradBench's Wishart prior term, ``log_wishart_prior``, with a
diagonal Q: Frobenius norm Σ P, no off-diagonal part).  The gradient, with the
responsibilities rᵢₖ = softmaxₖ of the bracket and Rₖ = Σᵢ rᵢₖ:

    ∂f/∂αₖ   = Rₖ − n softmax(α)ₖ
    ∂f/∂μₖⱼ  = Pₖⱼ ((rᵀX)ₖⱼ − μₖⱼ Rₖ)
    ∂f/∂qₖⱼ  = Rₖ − Pₖⱼ Σᵢ rᵢₖ (xᵢⱼ − μₖⱼ)² + γ² Pₖⱼ − m

It returns a dict shaped like the variable.  Only the gradient has a closed form, so ``check``
has one row, ``grad``; Hessian blocks would be ``H[a][b]`` of shape
``x[a].shape + x[b].shape``.
"""

import math

import numpy as np

from autodiff_bench import Point, Target, register


def wishart_constant(d: int, m: int, gamma, xp):
    """C(d, m, γ) of the Wishart prior: n_w d (log γ − ½ log 2) − log Γ_d(n_w / 2), with
    n_w = d + m + 1 and Γ_d the multivariate gamma function (Python arithmetic on the
    static ints)."""
    n_w = d + m + 1
    log_gamma_d = 0.25 * d * (d - 1) * math.log(math.pi) + sum(
        math.lgamma(0.5 * n_w + 0.5 * (1 - j)) for j in range(1, d + 1)
    )
    return n_w * d * (xp.log(gamma) - 0.5 * math.log(2.0)) - log_gamma_d


def _bracket(xp, x, p):
    """The log-density of each point under each component, before the mixture: (n, k)."""
    X = p["X"]
    alphas, means, q = x["alphas"], x["means"], x["logdiag"]
    prec = xp.exp(2.0 * q)  # (k, d): Pₖⱼ
    # Σⱼ Pₖⱼ (xᵢⱼ − μₖⱼ)², expanded so that no (n, k, d) array is formed.
    squared = (
        xp.einsum("ij,kj->ik", X * X, prec)
        - 2.0 * xp.einsum("ij,kj->ik", X, prec * means)
        + xp.sum(prec * means * means, axis=1)
    )
    return alphas + xp.sum(q, axis=1) - 0.5 * squared


def gmm(xp, x, p):
    """The mixture's log-likelihood plus GradBench's Wishart prior term."""
    k, d, m = p["k"], p["d"], p["m"]
    n = p["X"].shape[0]
    gamma, q = p["gamma"], x["logdiag"]
    likelihood = xp.sum(xp.logsumexp(_bracket(xp, x, p), axis=1)) - n * xp.logsumexp(x["alphas"])
    prior = (
        0.5 * gamma * gamma * xp.sum(xp.exp(2.0 * q))
        - m * xp.sum(q)
        - k * wishart_constant(d, m, gamma, xp)
    )
    return likelihood - 0.5 * n * d * math.log(2.0 * math.pi) + prior


def gmm_grad(xp, x, p):
    """The gradient as a dict shaped like x (see the module's docstring)."""
    X, gamma, m = p["X"], p["gamma"], p["m"]
    n = X.shape[0]
    alphas, means, q = x["alphas"], x["means"], x["logdiag"]
    bracket = _bracket(xp, x, p)
    r = xp.exp(bracket - xp.logsumexp(bracket, axis=1, keepdims=True))  # (n, k)
    weights = xp.exp(alphas - xp.logsumexp(alphas))
    R = xp.sum(r, axis=0)  # (k,)
    rX = xp.einsum("ik,ij->kj", r, X)  # (rᵀX)ₖⱼ
    rXX = xp.einsum("ik,ij->kj", r, X * X)
    prec = xp.exp(2.0 * q)
    spread = rXX - 2.0 * means * rX + means * means * xp.expand_dims(R, 1)
    return {
        "alphas": R - n * weights,
        "means": prec * (rX - means * xp.expand_dims(R, 1)),
        "logdiag": xp.expand_dims(R, 1) - prec * spread + gamma * gamma * prec - m,
    }


def sample(rng: np.random.Generator, n: int, k: int = 3, d: int = 2) -> Point:
    """n data points in d dimensions and a random mixture of k components near them."""
    n = max(n, 2)
    return Point.of(
        {
            "alphas": rng.standard_normal(k),
            "means": rng.standard_normal((k, d)),
            "logdiag": 0.3 * rng.standard_normal((k, d)),
        },
        f"n={n}, k={k}, d={d}",
        X=rng.standard_normal((n, d)),
        gamma=1.0,
        k=k,
        d=d,
        m=0,
    )


def canonical() -> list[Point]:
    """GradBench-like sizes: 10 points, k = 3 components in d = 2 dimensions, prior m = 2."""
    rng = np.random.default_rng(7)
    p = sample(rng, 10)
    return [Point.of(p.x, "n=10, k=3, d=2, m=2", **{**p.params, "m": 2})]


register(
    Target(
        name="gmm",
        formula="Σᵢ logsumexpₖ(αₖ + Σq − ½‖Qₖ(xᵢ − μₖ)‖²) − n logsumexp(α) + Wishart prior",
        f=gmm,
        closed_forms={"grad": gmm_grad},
        closed_form_text={"grad": "responsibilities r = softmax of the bracket (see file)"},
        sample=sample,
        canonical=canonical,
        default_size=12,
        description="Gaussian mixture, diagonal covariance: variables alphas, means, logdiag",
    )
)

# The same log-likelihood without a closed form, as a benchmark suite ships it: check judges
# it against a backend you name (--reference jax) or the AD backends' agreement.
register(
    Target(
        name="gmm_nocf",
        formula="the gmm log-likelihood, no closed form",
        f=gmm,
        closed_forms={},
        quantities=("grad", "hessian", "hvp"),
        sample=sample,
        canonical=canonical,
        default_size=12,
        description="gmm checked against a reference backend instead of a closed form",
    )
)
