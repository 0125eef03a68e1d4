"""A third-party backend that is wrong, for the reference tests: minigrad's gradient,
doubled.  Against a target without closed forms only the other backends can say so."""

from __future__ import annotations

from typing import Any

from autodiff_bench.backends.minigrad_backend import MinigradBackend


class DoublingBackend(MinigradBackend):
    """minigrad with every gradient twice too large."""

    name = "doubler"
    description = "minigrad's gradient times two (a test backend)"

    def grad(self, f: Any, create_graph: bool) -> Any:
        inner = super().grad(f, create_graph)
        return lambda x, *rest: 2 * inner(x, *rest)
