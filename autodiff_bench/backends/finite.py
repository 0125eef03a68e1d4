"""``finite``: central differences with Richardson extrapolation, the numeric baseline."""

from __future__ import annotations

from typing import Any

import numpy as np

from autodiff_bench.backends.base import Backend, Fn
from autodiff_bench.backends.namespace import numpy_namespace

#: First step, relative to max(1, |x_i|).  Richardson removes the h² and h⁴ error terms,
#: so a large step is accurate and keeps round-off (≈ eps/hⁿ for order n) small.
STEP = 0.05
#: Step halvings in the Richardson table (levels - 1 extrapolations).
LEVELS = 4


def richardson_jacobian(g: Fn, x: np.ndarray, *rest: Any) -> np.ndarray:
    """∂g/∂x of shape ``g.shape + x.shape`` by extrapolated central differences.

    For each coordinate, D(h) = (g(x+h) − g(x−h)) / 2h is computed for h, h/2, h/4, ...
    and combined in a Richardson table, T[k][j] = T[k][j-1] + (T[k][j-1] − T[k-1][j-1])
    / (4ʲ − 1), which cancels the even error terms one by one.
    """
    x = np.asarray(x, dtype=np.float64)
    flat = x.reshape(-1)
    columns = []
    for i in range(flat.size):
        h = STEP * max(1.0, abs(flat[i]))
        row: list[np.ndarray] = []
        for _ in range(LEVELS):
            up, down = flat.copy(), flat.copy()
            up[i] += h
            down[i] -= h
            d = (
                np.asarray(g(up.reshape(x.shape), *rest))
                - np.asarray(g(down.reshape(x.shape), *rest))
            ) / (2 * h)
            new = [d]
            for j, prev in enumerate(row, start=1):
                new.append(new[j - 1] + (new[j - 1] - prev) / (4**j - 1))
            row = new
            h /= 2
        columns.append(row[-1])
    out = np.stack(columns, axis=-1)
    return out.reshape(out.shape[:-1] + x.shape)


class FiniteBackend(Backend):
    """Extrapolated central differences; higher orders nest the same differencing.

    Differences are always taken in float64 (in float32 they lose every digit beyond the
    first derivative); the result is cast to the requested dtype.  Costs 2·LEVELS
    evaluations per coordinate per level of nesting.
    """

    tolerance_class = "finite"

    name = "finite"
    description = "central differences with Richardson extrapolation (numeric baseline)"
    is_autodiff = False

    def load(self) -> None:
        """The xp contract on NumPy in float64, the dtype differences are taken in."""
        self.xp = numpy_namespace("float64", self.label)

    def asarray(self, a: np.ndarray) -> Any:
        """Inputs are differenced in float64."""
        return np.asarray(a, dtype=np.float64)

    def to_numpy(self, a: Any) -> np.ndarray:
        """Results come back in the requested dtype."""
        return np.asarray(a).astype(self.dtype)

    def grad(self, f: Fn, create_graph: bool) -> Fn:
        """The Richardson derivative of a scalar function."""
        return lambda x, *rest: richardson_jacobian(f, x, *rest)

    def jacobian(self, f: Fn, create_graph: bool) -> Fn:
        """The Richardson Jacobian of an array function."""
        return lambda x, *rest: richardson_jacobian(f, x, *rest)

    def jvp(self, f: Fn) -> Fn:
        """J v as the derivative of t ↦ f(x + t v) at t = 0: one Richardson column, not a
        whole Jacobian (the same differences along v instead of along each axis)."""

        def along(x: Any, v: Any, *rest: Any) -> np.ndarray:
            return richardson_jacobian(lambda t: f(x + t * v, *rest), np.zeros(()))

        return along
