"""Targets and backends for ``tests/test_verdicts_that_matter.py``, written the way a user
writes them: a file passed with ``--targets-file``, which ``check`` also imports in each of
its worker processes.  The tests load it in-process too (and unload it afterwards).

Each target has a true closed form; what makes it interesting is *where* a value stops
being finite, or how large or how sensitive the derivative is.
"""

import math

import numpy as np

from autodiff_bench import Point, Target, register, scalar_sampler
from autodiff_bench.backends import Backend, BackendUnavailable, register_backend
from autodiff_bench.backends.minigrad_backend import MinigradBackend

#: Where e^x overflows float64 (e^709.78…) but e^(x − ln 2) = e^x / 2 does not.
OVERFLOW_X = 710.0
#: Length of the vector points; each vector target gets one canonical point per position
#: of the bad element, labelled ``bad@i``.
N = 4


def _positions(good: float, bad: float) -> list[Point]:
    """One point per position i, with ``bad`` at i and ``good`` elsewhere."""
    points = []
    for i in range(N):
        x = np.full(N, good) + np.arange(N) * 0.25
        x[i] = bad
        points.append(Point.of(x, f"bad@{i}"))
    return points


def _vector_sampler(rng: np.random.Generator, n: int) -> Point:
    return Point.of(rng.uniform(0.5, 2.0, n), "random")


# ---- the AD result is not finite, the closed form is ------------------------------------
# |x| written as sqrt(x²): every chain rule gives (1 / 2√(x²)) · 2x = ∞ · 0 = NaN at 0,
# while the derivative (the subgradient sign(x), 0 at the kink) is finite.
register(
    Target(
        name="vt_abs_sqrt",
        formula="√(x²)",
        f=lambda xp, x, p: xp.sqrt(x * x),
        closed_forms={"d1": lambda x, p: np.sign(x)},
        sample=scalar_sampler(0.5, 2.0),
        canonical=[Point.scalar(0.0)],
    )
)
register(
    Target(
        name="vt_abs_sqrt_sum",
        formula="Σ √(xᵢ²)",
        f=lambda xp, x, p: xp.sum(xp.sqrt(x * x)),
        closed_forms={"grad": lambda x, p: np.sign(x)},
        sample=_vector_sampler,
        canonical=_positions(1.0, 0.0),
    )
)
# e^x / 2: AD computes e^x first, which overflows to Inf at x = 710; the closed form
# e^(x − ln 2) is the same number, finite (≈ 1.1e308).
register(
    Target(
        name="vt_half_exp",
        formula="eˣ / 2",
        f=lambda xp, x, p: xp.exp(x) * 0.5,
        closed_forms={"d1": lambda x, p: np.exp(x - math.log(2.0))},
        sample=scalar_sampler(0.5, 2.0),
        canonical=[Point.scalar(OVERFLOW_X)],
    )
)
register(
    Target(
        name="vt_half_exp_sum",
        formula="Σ e^xᵢ / 2",
        f=lambda xp, x, p: xp.sum(xp.exp(x) * 0.5),
        closed_forms={"grad": lambda x, p: np.exp(x - math.log(2.0))},
        sample=_vector_sampler,
        canonical=_positions(1.0, OVERFLOW_X),
    )
)


# ---- the closed form is not finite, the AD result is ------------------------------------
def _cube_d1_naive(x: np.ndarray, p: object) -> np.ndarray:
    """3x³/x: right everywhere but at 0, where it is 0/0 = NaN."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return 3.0 * x**3 / x


def _half_exp_naive(x: np.ndarray, p: object) -> np.ndarray:
    """e^x / 2 computed as written: Inf at x = 710, where e^(x − ln 2) is finite."""
    with np.errstate(over="ignore"):
        return np.exp(x) / 2.0


register(
    Target(
        name="vt_cube_nan_closed_form",
        formula="x³",
        f=lambda xp, x, p: x * x * x,
        closed_forms={"d1": _cube_d1_naive},
        sample=scalar_sampler(0.5, 2.0),
        canonical=[Point.scalar(0.0)],
    )
)
register(
    Target(
        name="vt_cube_sum_nan_closed_form",
        formula="Σ xᵢ³",
        f=lambda xp, x, p: xp.sum(x * x * x),
        closed_forms={"grad": _cube_d1_naive},
        sample=_vector_sampler,
        canonical=_positions(1.0, 0.0),
    )
)
register(
    Target(
        name="vt_half_exp_inf_closed_form",
        formula="e^(x − ln 2)",
        f=lambda xp, x, p: xp.exp(x - math.log(2.0)),
        closed_forms={"d1": _half_exp_naive},
        sample=scalar_sampler(0.5, 2.0),
        canonical=[Point.scalar(OVERFLOW_X)],
    )
)
register(
    Target(
        name="vt_half_exp_sum_inf_closed_form",
        formula="Σ e^(xᵢ − ln 2)",
        f=lambda xp, x, p: xp.sum(xp.exp(x - math.log(2.0))),
        closed_forms={"grad": _half_exp_naive},
        sample=_vector_sampler,
        canonical=_positions(1.0, OVERFLOW_X),
    )
)

# ---- large magnitude: only the relative tolerance makes round-off acceptable ------------
#: e^30 ≈ 1.07e13: one ulp is ≈ 2e-3, six orders of magnitude above the float64 atol (1e-9).
BIG_X = [30.1, 30.2, 30.3, 30.4]
register(
    Target(
        name="vt_big_exp",
        formula="Σ e^xᵢ",
        f=lambda xp, x, p: xp.sum(xp.exp(x)),
        # The same function, rounded differently than any AD chain rule rounds it.
        closed_forms={"grad": lambda x, p: np.exp(x / 2.0) ** 2},
        sample=lambda rng, n: Point.of(rng.uniform(29.0, 31.0, n), "random"),
        canonical=[Point.of(BIG_X, "x≈30")],
    )
)

# ---- a derivative that depends on the last bits of x ------------------------------------
#: A power of two, so that every operation below is exact in float32 too.
SCALE = 2.0**30
#: 1 + 2.4 ulp(1) in float32: the float32 cast rounds it to 1 + 2 ulp, so x − 1 (and the
#: derivative 2·SCALE·(x − 1)) changes by 1/6 — while a float32 evaluation at the cast point
#: is exact (x − 1 is exact by Sterbenz's lemma, the rest are powers of two).
NEAR_ONE = 1.0 + 2.4 * 2.0**-23
register(
    Target(
        name="vt_near_one_square",
        formula="2³⁰ (x − 1)²",
        f=lambda xp, x, p: SCALE * ((x - 1.0) * (x - 1.0)),
        closed_forms={
            # Written against xp, so manual:torch/jax/tensorflow are tested at the cast
            # point too (the other targets here keep the NumPy-only style).
            "d1": lambda xp, x, p: 2.0 * SCALE * (x - 1.0),
            "d2": lambda xp, x, p: 2.0 * SCALE * xp.ones_like(x),
        },
        sample=scalar_sampler(0.5, 1.5),
        canonical=[Point.scalar(NEAR_ONE, "x=1+2.4·2⁻²³")],
    )
)


# ---- backends -----------------------------------------------------------------------------
@register_backend
class MinigradTwinBackend(MinigradBackend):
    """A second, always-installed AD backend: minigrad under another name, so that two AD
    backends can outvote a wrong closed form without any optional framework."""

    name = "vt_minigrad_twin"
    description = "minigrad again (test-only), a second AD vote"


@register_backend
class CrashingImportBackend(Backend):
    """A framework that is installed but whose import crashes (a broken native library)."""

    name = "vt_crashing_import"
    description = "load() raises RuntimeError (test-only)"

    def load(self) -> None:
        """Fail the way a broken wheel does."""
        raise RuntimeError("libfake.so: undefined symbol _ZN3fooEv")


@register_backend
class NotInstalledBackend(Backend):
    """A framework that reports itself missing from load() (BackendUnavailable)."""

    name = "vt_not_installed"
    description = "load() raises BackendUnavailable (test-only)"

    def load(self) -> None:
        """Say that the framework is absent."""
        raise BackendUnavailable("vt_not_installed is not installed (pip install nothing)")
