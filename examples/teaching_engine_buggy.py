"""The teaching engine with the classic bug: gradients *assigned* instead of accumulated.

    adbench check -b lessongrad_buggy --backends-file examples/teaching_engine_buggy.py

Everything but ``backward`` is the engine of ``teaching_engine.py``.  Where f uses a value
once the bug is invisible; where it uses one twice (``x * x``) the second contribution
overwrites the first, and adbench's check fails exactly those targets.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from teaching_engine import LessonGrad, Tensor, topological_order


def backward_assigning(out: Tensor) -> dict[int, np.ndarray]:
    """Reverse topological order as in the engine — but each contribution replaces the
    gradient gathered so far instead of adding to it."""
    grads: dict[int, np.ndarray] = {id(out): np.ones_like(out.value)}
    for node in reversed(topological_order(out)):
        g = grads.get(id(node))
        for parent, vjp in node.parents if g is not None else ():
            grads[id(parent)] = vjp(g)  # the bug: `=` where the engine has `+=`
    return grads


class LessonGradBuggy(LessonGrad):
    """The engine with :func:`backward_assigning`."""

    name = "lessongrad_buggy"
    description = "the teaching engine with gradients assigned, not accumulated"

    def backward(self, out: Tensor) -> dict[int, np.ndarray]:
        """The assigning backward pass."""
        return backward_assigning(out)
