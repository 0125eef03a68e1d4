"""``finite``: central differences, Richardson-extrapolated, with the step chosen per point
from the function's own scale and an error estimate for every element.

**Step selection** (numdifftools' idea, after Ridders): along each axis, central differences
are taken at a geometric sequence of steps ``h_k = h₀·2⁻ᵏ`` spanning eight decades below
``max(1, |x_i|)``; every window of ``LEVELS`` consecutive steps is Richardson-extrapolated,
and each element keeps the window whose estimated error (disagreement with its neighbouring
windows, plus round-off ≈ ε·Σ|f|/hⁿ) is smallest.  So the step follows the scale on which f
varies, not the size of x: exp(100·x) wants steps near 1e-4, a log-sum-exp shifted by +800
wants steps near 1e-2, although |x| is 1 and 800.

**Cost.** A gradient is ``2·STEPS`` evaluations of f per coordinate.  A Hessian is the
Jacobian of the central-difference gradient, extrapolated over ``LEVELS`` step sizes: the
gradient differenced along e_j with step a_j, itself differenced along e_i with step a_i, is
the four-point mixed difference of f, the same four values for (i, j) and (j, i), so only
i < j is evaluated (``2·LEVELS`` f-values per pair: O(n²) in all); the diagonal and the steps
a_i come from the per-axis search.  A Hessian-vector product is two gradients, at x ± τv,
per level (O(n)).  ``d2``..``d4`` of a scalar are the n-th central difference, searched and
extrapolated the same way (never nested: a nested search would cost STEPSⁿ).

Every quantity leaves its element-wise error estimate in :meth:`FiniteBackend.error_estimate`;
``check`` judges ``finite`` against that estimate, within its tolerance table.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from autodiff_bench.backends.base import Backend, Fn, QuantityUnsupported
from autodiff_bench.backends.namespace import numpy_namespace

if TYPE_CHECKING:
    import numpy as np
else:
    from autodiff_bench.lazy import numpy as np

#: Steps tried per axis: h₀·2⁻ᵏ for k = 1..STEPS, h₀ the power of two at or below
#: max(1, |x_i|) (powers of two keep x ± h exactly representable).
STEPS = 26
#: Steps per Richardson window: two extrapolations, truncation error O(h⁶).
LEVELS = 3
#: Round-off of one difference, in units of ε·Σ|w_k f_k|/hⁿ: f's own rounding (a few ulp)
#: amplified by the extrapolation weights.
ROUNDOFF = 10.0
EPS = 2.0**-52  # float64's machine epsilon


def richardson(d: np.ndarray, ratio: float, order: int = 2) -> np.ndarray:
    """Richardson tables of central differences ``d[k]`` taken at steps ``h·ratio⁻ᵏ``: entry
    ``k`` extrapolates the window ``d[k − LEVELS + 1 .. k]``, removing the h², h⁴, ... terms
    (central differences have even error expansions)."""
    t = d
    for j in range(1, LEVELS):
        factor = ratio ** (order * j) - 1.0
        t = t[1:] + (t[1:] - t[:-1]) / factor
    return t


def best_window(d: np.ndarray, roundoff: np.ndarray, ratio: float) -> tuple[np.ndarray, ...]:
    """Per element, the extrapolated value with the smallest estimated error.

    ``d[k]`` and ``roundoff[k]`` are a difference and its round-off at step ``k`` (steps
    decreasing by ``ratio``).  A window's truncation error is estimated by how far its value
    lies from its two neighbours' (numdifftools' estimate, made two-sided so that a chance
    agreement of two windows cannot win), its round-off by the smallest step's.  Returns
    ``(value, error, index)``, ``index`` the last step of the winning window.
    """
    with np.errstate(all="ignore"):
        r = richardson(d, ratio)
        gap = np.full(r.shape, np.inf)
        if len(r) >= 3:
            gap[1:-1] = np.maximum(np.abs(r[1:-1] - r[:-2]), np.abs(r[1:-1] - r[2:]))
        err = gap + roundoff[LEVELS - 1 :]
        err = np.where(np.isfinite(err) & np.isfinite(r), err, np.inf)
    pick = np.argmin(err, axis=0)
    value = np.take_along_axis(r, pick[None], axis=0)[0]
    error = np.take_along_axis(err, pick[None], axis=0)[0]
    return value, error, pick + (LEVELS - 1)


def axis_steps(xi: float) -> np.ndarray:
    """The steps tried along one axis at coordinate value ``xi``, largest first."""
    h0 = 2.0 ** math.floor(math.log2(max(1.0, abs(xi))))
    return h0 * 2.0 ** -np.arange(1, STEPS + 1)


class AxisSearch:
    """f at x ± h_k·e_i for every coordinate i and step k: the first and second
    differences of each axis, from one set of evaluations.

    ``g`` may be array-valued (a Jacobian).  ``plus[i][k]`` and ``minus[i][k]`` hold
    g(x ± h_k e_i); ``steps[i]`` the steps.
    """

    def __init__(self, g: Fn, x: np.ndarray, rest: tuple[Any, ...]) -> None:
        self.x = x
        self.f0 = np.asarray(g(x, *rest), dtype=np.float64)
        flat = x.reshape(-1)
        self.steps = np.stack([axis_steps(float(v)) for v in flat]) if flat.size else None
        self.plus: list[np.ndarray] = []
        self.minus: list[np.ndarray] = []
        with np.errstate(all="ignore"):
            for i in range(flat.size):
                up, down = [], []
                for h in self.steps[i]:  # type: ignore[index]
                    y = flat.copy()
                    y[i] = flat[i] + h
                    up.append(np.asarray(g(y.reshape(x.shape), *rest), dtype=np.float64))
                    y[i] = flat[i] - h
                    down.append(np.asarray(g(y.reshape(x.shape), *rest), dtype=np.float64))
                self.plus.append(np.stack(up))
                self.minus.append(np.stack(down))

    def _steps(self, i: int, ndim: int) -> np.ndarray:
        return self.steps[i].reshape((-1,) + (1,) * ndim)  # type: ignore[index]

    def first(self, i: int) -> tuple[np.ndarray, ...]:
        """∂g/∂x_i: (value, error, index of the chosen step)."""
        h = self._steps(i, self.f0.ndim)
        p, m = self.plus[i], self.minus[i]
        with np.errstate(all="ignore"):
            d = (p - m) / (2 * h)
            roundoff = ROUNDOFF * EPS * (np.abs(p) + np.abs(m)) / (2 * h)
        return best_window(d, roundoff, 2.0)

    def second(self, i: int) -> tuple[np.ndarray, ...]:
        """∂²g/∂x_i²: (value, error, index of the chosen step)."""
        h = self._steps(i, self.f0.ndim)
        p, m, f0 = self.plus[i], self.minus[i], self.f0
        with np.errstate(all="ignore"):
            d = (p - 2 * f0 + m) / (h * h)
            roundoff = ROUNDOFF * EPS * (np.abs(p) + 2 * np.abs(f0) + np.abs(m)) / (h * h)
        return best_window(d, roundoff, 2.0)

    def curvature_step(self, i: int) -> float:
        """The largest step of the window the second difference chose along axis i: the
        scale on which f curves there (the Hessian's and hvp's steps)."""
        _, _, k = self.second(i)
        return float(self.steps[i][int(np.min(k)) - (LEVELS - 1)])  # type: ignore[index]


def central_step(x: float) -> float:
    """The step of one central difference at coordinate value x: ε^⅓·max(1, |x|), the step
    that balances truncation, ∝ h², against round-off, ∝ ε/h, for a function varying on the
    scale of x."""
    return EPS ** (1 / 3) * max(1.0, abs(x))


#: A third difference above this many times its own round-off is not a smooth function: a
#: kink (ReLU, abs, max) lies inside the stencil.
KINK_MARGIN = 10.0
#: Smaller steps tried, each a quarter of the last, before a kinked coordinate falls back
#: to the one-sided difference on the smoother side.
KINK_SHRINKS = 3


def _kinked(f0: np.ndarray, down: np.ndarray, up: np.ndarray, up2: np.ndarray) -> np.ndarray:
    """Where f(x−h), f(x), f(x+h), f(x+2h) do not lie on one smooth curve.  Their third
    difference is f‴·h³ for a smooth f — with h = ε^⅓·max(1, |x|) that is of the order of
    its own round-off — and exactly 0 for a quadratic; a kink inside [x−h, x+2h] adds its
    jump in slope times a fraction of h, orders of magnitude more."""
    d3 = up2 - 3 * up + 3 * f0 - down
    roundoff = ROUNDOFF * EPS * (np.abs(up2) + 3 * np.abs(up) + 3 * np.abs(f0) + np.abs(down))
    return np.abs(d3) > KINK_MARGIN * roundoff


def central_jacobian(g: Fn, x: np.ndarray, *rest: Any) -> tuple[np.ndarray, np.ndarray]:
    """∂g/∂x by one central difference per coordinate, step :func:`central_step`; the error
    estimate is the round-off part, ε·ROUNDOFF·(|g₊| + |g₋|)/2h.

    A difference whose step straddles a kink of g (a ReLU's, for one sample of a batch) is
    not the derivative on either side: 4% off on ``parabola_mlp``, where it happens at one
    step in ten.  So each coordinate also evaluates g(x + 2h) and checks the third
    difference (:func:`_kinked`); where a kink shows, the step shrinks by 4 until the
    stencil is clean (up to :data:`KINK_SHRINKS` times), and failing that the one-sided
    second-order difference is taken on the side whose second difference is smaller (the
    side without the kink).  3 evaluations of g per coordinate and one at x."""
    x = np.asarray(x, dtype=np.float64)
    flat = x.reshape(-1)
    columns, errors = [], []
    with np.errstate(all="ignore"):
        f0 = np.asarray(g(x, *rest), dtype=np.float64)
        for i in range(flat.size):
            y = flat.copy()

            def at(t: float, i: int = i, y: np.ndarray = y) -> np.ndarray:
                y[i] = flat[i] + t
                return np.asarray(g(y.reshape(x.shape), *rest), dtype=np.float64)

            h = central_step(float(flat[i]))
            up, down, up2 = at(h), at(-h), at(2 * h)
            kink = _kinked(f0, down, up, up2)
            column = (up - down) / (2 * h)
            error = ROUNDOFF * EPS * (np.abs(up) + np.abs(down)) / (2 * h)
            if np.any(kink):
                column, error = _around_kink(at, h, f0, down, up, up2, kink, column, error)
            columns.append(column)
            errors.append(error)
    if not columns:
        empty = np.zeros(np.shape(f0) + x.shape)
        return empty, empty
    value, error = np.stack(columns, axis=-1), np.stack(errors, axis=-1)
    shape = value.shape[:-1] + x.shape
    return value.reshape(shape), error.reshape(shape)


def _around_kink(
    at: Callable[[float], np.ndarray],
    h: float,
    f0: np.ndarray,
    down: np.ndarray,
    up: np.ndarray,
    up2: np.ndarray,
    kink: np.ndarray,
    column: np.ndarray,
    error: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The derivative along one coordinate where the stencil at step h holds a kink (the
    elements in ``kink``): a smaller clean stencil, else the smoother side's one-sided
    second-order difference (exact on a quadratic piece)."""
    step = h
    for _ in range(KINK_SHRINKS):
        step /= 4
        u, d, u2 = at(step), at(-step), at(2 * step)
        fix = kink & ~_kinked(f0, d, u, u2)
        column = np.where(fix, (u - d) / (2 * step), column)
        error = np.where(fix, ROUNDOFF * EPS * (np.abs(u) + np.abs(d)) / (2 * step), error)
        kink = kink & ~fix
        if not np.any(kink):
            return column, error
    down2 = at(-2 * h)
    left = np.abs(f0 - 2 * down + down2)
    right = np.abs(up2 - 2 * up + f0)
    backward = (3 * f0 - 4 * down + down2) / (2 * h)
    forward = (-3 * f0 + 4 * up - up2) / (2 * h)
    one_sided = np.where(left < right, backward, forward)
    total = np.abs(f0) + np.abs(down) + np.abs(up) + np.abs(up2) + np.abs(down2)
    column = np.where(kink, one_sided, column)
    error = np.where(kink, 4 * ROUNDOFF * EPS * total / (2 * h), error)
    return column, error


def search_jacobian(g: Fn, x: np.ndarray, *rest: Any) -> tuple[np.ndarray, np.ndarray]:
    """∂g/∂x of shape ``g.shape + x.shape`` and its element-wise error estimate, each
    column from its own searched, extrapolated step."""
    x = np.asarray(x, dtype=np.float64)
    search = AxisSearch(g, x, rest)
    if x.size == 0:
        empty = np.zeros(search.f0.shape + x.shape)
        return empty, empty
    columns = [search.first(i) for i in range(x.size)]
    value = np.stack([c[0] for c in columns], axis=-1)
    error = np.stack([c[1] for c in columns], axis=-1)
    shape = search.f0.shape + x.shape
    return value.reshape(shape), error.reshape(shape)


def richardson_jacobian(g: Fn, x: np.ndarray, *rest: Any) -> np.ndarray:
    """∂g/∂x of shape ``g.shape + x.shape`` (:func:`search_jacobian` without its estimate)."""
    return search_jacobian(g, x, *rest)[0]


def nth_derivative(f: Fn, n: int, x: np.ndarray, *rest: Any) -> tuple[np.ndarray, np.ndarray]:
    """f⁽ⁿ⁾ at a scalar x by the n-th central difference Σₖ (−1)ᵏ C(n,k) f(x + (n/2 − k)h)/hⁿ,
    searched and extrapolated over h: (value, error)."""
    x = np.asarray(x, dtype=np.float64)
    steps = axis_steps(float(x))
    weights = np.array([(-1) ** k * math.comb(n, k) for k in range(n + 1)], dtype=np.float64)
    d, roundoff = [], []
    with np.errstate(all="ignore"):
        for h in steps:
            values = np.array(
                [float(f(x + (n / 2 - k) * h, *rest)) for k in range(n + 1)], dtype=np.float64
            )
            d.append(weights @ values / h**n)
            roundoff.append(ROUNDOFF * EPS * (np.abs(weights) @ np.abs(values)) / h**n)
    value, error, _ = best_window(np.array(d), np.array(roundoff), 2.0)
    return value.reshape(x.shape), error.reshape(x.shape)


def mixed_hessian(f: Fn, x: np.ndarray, *rest: Any) -> tuple[np.ndarray, np.ndarray]:
    """∂²f/∂x² and its error estimate: the Jacobian of the central-difference gradient.

    Differencing g_i (a central difference along e_i with step a_i) along e_j with step a_j
    gives the four-point mixed difference Σ±f(x ± a_i e_i ± a_j e_j)/(4 a_i a_j), symmetric
    in (i, j): each pair i < j costs four values per level, LEVELS levels (all steps halved
    together, so the error stays even in the common factor) are extrapolated, and the
    estimate is the last extrapolation's correction plus round-off.  The diagonal and the
    steps a_i come from the per-axis search (O(n·STEPS) values).  O(n²) evaluations in all.
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    flat = x.reshape(-1)
    search = AxisSearch(f, x, rest)
    diagonal, diagonal_error, steps = np.empty(n), np.empty(n), np.empty(n)
    for i in range(n):
        v, e, _ = search.second(i)
        diagonal[i], diagonal_error[i] = float(v), float(e)
        steps[i] = search.curvature_step(i)

    # d[level, i, j] for i < j: the mixed difference; size[...] the magnitude of its terms
    # (its round-off).  One vector is shifted along e_i per (level, sign), and e_j is set and
    # restored in place: no copy per evaluation.
    d = np.zeros((LEVELS, n, n))
    size = np.zeros((LEVELS, n, n))
    with np.errstate(all="ignore"):
        for level in range(LEVELS):
            a_all = steps / 2**level
            for i in range(n - 1):
                a = a_all[i]
                total = np.zeros(n)
                sums = np.zeros(n)
                for sign_i in (1.0, -1.0):
                    y = flat.copy()
                    y[i] = flat[i] + sign_i * a
                    for j in range(i + 1, n):
                        b = a_all[j]
                        y[j] = flat[j] + b
                        fp = float(f(y.reshape(x.shape), *rest))
                        y[j] = flat[j] - b
                        fm = float(f(y.reshape(x.shape), *rest))
                        y[j] = flat[j]
                        total[j] += sign_i * (fp - fm)
                        sums[j] += abs(fp) + abs(fm)
                d[level, i] = total / (4 * a * a_all)
                size[level, i] = sums / (4 * a * a_all)
        t1 = d[1:] + (d[1:] - d[:-1]) / 3.0
        t2 = richardson(d, 2.0)[0]
        mixed_error = np.abs(t2 - t1[-1]) + ROUNDOFF * EPS * size[-1]
        mixed_error = np.where(np.isfinite(t2), mixed_error, np.inf)
    upper = np.triu(np.ones((n, n), dtype=bool), k=1)
    value = np.where(upper, t2, 0.0)
    value = value + value.T + np.diag(diagonal)
    error = np.where(upper, mixed_error, 0.0)
    error = error + error.T + np.diag(diagonal_error)
    return value.reshape(x.shape + x.shape), error.reshape(x.shape + x.shape)


def gradient_difference_hvp(
    f: Fn, x: np.ndarray, v: np.ndarray, *rest: Any
) -> tuple[np.ndarray, np.ndarray]:
    """(∂²f/∂x²)·v and its error estimate: (g(x + τv) − g(x − τv))/2τ, g the central
    gradient with per-axis steps a_i, extrapolated over LEVELS halvings of τ and every a_i
    together.  τ comes from a search of the second difference along v.  O(n) evaluations.
    """
    x = np.asarray(x, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    shape = x.shape
    flat, vf = x.reshape(-1), v.reshape(-1)
    norm = float(np.max(np.abs(vf))) if vf.size else 0.0
    if norm == 0.0:
        return np.zeros(shape), np.zeros(shape)
    search = AxisSearch(f, x, rest)
    steps = np.array([search.curvature_step(i) for i in range(flat.size)])

    # The search along v: f(x + s·v/|v|∞) is a scalar function of s.
    def along(s: Any) -> Any:
        return f((flat + float(s) * vf / norm).reshape(shape), *rest)

    line = AxisSearch(along, np.zeros(()), ())
    tau = line.curvature_step(0) / norm

    def gradient(y: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
        out, mag = np.empty(flat.size), np.empty(flat.size)
        for i in range(flat.size):
            a = steps[i] * scale
            up, down = y.copy(), y.copy()
            up[i] += a
            down[i] -= a
            fu, fd = float(f(up.reshape(shape), *rest)), float(f(down.reshape(shape), *rest))
            out[i] = (fu - fd) / (2 * a)
            mag[i] = (abs(fu) + abs(fd)) / (2 * a)
        return out, mag

    d, roundoff = [], []
    with np.errstate(all="ignore"):
        for level in range(LEVELS):
            scale = 2.0**-level
            t = tau * scale
            gp, mp = gradient(flat + t * vf, scale)
            gm, mm = gradient(flat - t * vf, scale)
            d.append((gp - gm) / (2 * t))
            roundoff.append(ROUNDOFF * EPS * (mp + mm) / (2 * t))
        table = np.array(d)
        t2 = richardson(table, 2.0)[0]
        t1 = table[-1] + (table[-1] - table[-2]) / 3.0
        error = np.abs(t2 - t1) + roundoff[-1]
        error = np.where(np.isfinite(t2), error, np.inf)
    return t2.reshape(shape), error.reshape(shape)


class FiniteBackend(Backend):
    """Extrapolated central differences with searched steps and an error estimate.

    Differences are always taken in float64 (in float32 they lose every digit beyond the
    first derivative); the result is cast to the requested dtype.  Each quantity leaves its
    element-wise error estimate for :meth:`error_estimate`.
    """

    tolerance_class = "finite"

    name = "finite"
    description = (
        "central differences, Richardson-extrapolated, step searched per point, "
        "with an error estimate (numeric baseline)"
    )
    is_autodiff = False
    modes = ("default", "central")
    training_mode = "central"
    mode_descriptions: ClassVar[dict[str, str]] = {
        "default": "every quantity searched and extrapolated, with an error estimate",
        "central": "first derivatives only, one central difference per coordinate with "
        "step ε^⅓·max(1, |xᵢ|), checked for a kink by f(x + 2h): 3 evaluations of f each, "
        "more only beside a kink (train's finite: a search per step would cost 17× that)",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._error: np.ndarray | None = None
        self.max_order = 1 if self.mode == "central" else 99

    def load(self) -> None:
        """The xp contract on NumPy in float64, the dtype differences are taken in."""
        self.xp = numpy_namespace("float64", self.label)

    def asarray(self, a: np.ndarray) -> Any:
        """Inputs are differenced in float64."""
        return np.asarray(a, dtype=np.float64)

    def to_numpy(self, a: Any) -> np.ndarray:
        """Results come back in the requested dtype."""
        return np.asarray(a).astype(self.dtype)

    def error_estimate(self) -> np.ndarray | None:
        """The element-wise error estimate of the last value computed (None when the last
        quantity computed has none)."""
        return self._error

    def evaluate(self, *args: Any, **kwargs: Any) -> np.ndarray:
        """As :meth:`Backend.evaluate`, forgetting the previous value's error estimate."""
        self._error = None
        return super().evaluate(*args, **kwargs)

    def _keeping_error(
        self, compute: Callable[..., tuple[np.ndarray, np.ndarray]], *args: Any
    ) -> Fn:
        """A quantity function that returns the value and keeps its error estimate."""

        def fn(*call: Any) -> np.ndarray:
            value, error = compute(*args, *call)
            self._error = error
            return value

        return fn

    def grad(self, f: Fn, create_graph: bool) -> Fn:
        """The searched, extrapolated gradient of a scalar function (``central``: one
        central difference per coordinate)."""
        return self.jacobian(f, create_graph)

    def jacobian(self, f: Fn, create_graph: bool) -> Fn:
        """The searched, extrapolated Jacobian of an array function (``central``: one
        central difference per coordinate; it differentiates once)."""
        if self.mode == "central":
            if create_graph:
                raise QuantityUnsupported(
                    "finite:central differentiates once; use finite for higher orders"
                )
            return self._keeping_error(central_jacobian, f)
        return self._keeping_error(search_jacobian, f)

    def hessian(self, f: Fn) -> Fn:
        """The Jacobian of the central gradient, O(n²) evaluations (:func:`mixed_hessian`)."""
        self._first_order_only()
        return self._keeping_error(mixed_hessian, f)

    def hvp(self, f: Fn) -> Fn:
        """Two central gradients at x ± τv per level (:func:`gradient_difference_hvp`)."""
        self._first_order_only()
        return self._keeping_error(gradient_difference_hvp, f)

    def _first_order_only(self) -> None:
        if self.mode == "central":
            raise QuantityUnsupported(
                "finite:central differentiates once; use finite for higher orders"
            )

    def derivative(self, f: Fn, quantity: str) -> Fn:
        """``d2``..``d4`` as one n-th central difference (not nested gradients); the rest
        as :meth:`Backend.derivative` composes them."""
        if quantity in ("d2", "d3", "d4"):
            self._first_order_only()
            return self._keeping_error(nth_derivative, f, int(quantity[1:]))
        return super().derivative(f, quantity)

    def jvp(self, f: Fn) -> Fn:
        """J v as the derivative of t ↦ f(x + t v) at t = 0: one searched column, not a
        whole Jacobian (the same differences along v instead of along each axis)."""

        def along(x: Any, v: Any, *rest: Any) -> tuple[np.ndarray, np.ndarray]:
            return search_jacobian(lambda t: f(x + t * v, *rest), np.zeros(()))

        return self._keeping_error(along)
