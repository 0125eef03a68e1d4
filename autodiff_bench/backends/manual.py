"""``manual``: the closed forms themselves, the reference and the manual side of timing."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from autodiff_bench.backends.base import Backend, QuantityUnsupported

if TYPE_CHECKING:
    from autodiff_bench.targets import Point, Target


class ManualBackend(Backend):
    """Closed-form derivatives in NumPy, computed in the requested dtype."""

    name = "manual"
    description = "the target's closed-form derivatives (NumPy)"
    is_autodiff = False

    def prepare(
        self, target: Target, quantity: str, point: Point, v: np.ndarray | None = None
    ) -> Callable[[], Any]:
        """The closed form of ``quantity`` on the point cast to this dtype."""
        self.ensure_loaded()
        cast = point.astype(self.dtype)
        # np.asarray with a dtype copies only when a closed form returned another dtype, so a
        # timed call is the closed form itself.
        if quantity == "primal":
            return lambda: np.asarray(target.f(np, cast.x, cast.params), dtype=self.dtype)
        if quantity not in target.quantities:
            raise QuantityUnsupported(f"'{target.name}' has no closed form for '{quantity}'")
        vc = None if v is None else v.astype(self.dtype)
        return lambda: np.asarray(target.closed_form(quantity, cast, vc), dtype=self.dtype)
