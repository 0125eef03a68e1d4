"""Whether a float32 mismatch is float32's own: the same computation redone in float64.

In float32 a function that cancels (``log(1 + x) − x`` at small x, ``(1 + x)² − 1 − 2x``)
loses digits in f itself, and every backend that follows f's operations — AD, and the closed
form evaluated in float32 — loses the same digits.  Such a cell is not wrong: float32 cannot
deliver more there.  A failing float32 value is therefore recomputed by the same backend, at
the same (float32) point, in float64: when that value agrees with the closed form under the
float64 tolerances, the float32 discrepancy is rounding, and the cell passes with a note.
When the float64 value disagrees too, the float32 verdict stands.  Only failing float32
cells pay for the second evaluation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from autodiff_bench.correctness import Verdict, arrays_agree

if TYPE_CHECKING:
    import numpy as np

    from autodiff_bench.targets import Point, Target
else:
    from autodiff_bench.lazy import numpy as np

#: The dtype a rounding suspicion is settled in.
WIDE = "float64"


def rounding_note(*, reference: bool) -> str:
    """The note a cell excused as float32 rounding carries (its float32 error stays in the
    record's ``max_rel_error``)."""
    if reference:
        return "the closed form loses precision in float32 here: its float64 value agrees"
    return "f loses precision in float32 here: float64 agrees"


def float64_agrees(
    wide: Backend64,
    target: Target,
    quantity: str,
    point: Point,
    v: np.ndarray | None,
    ref: np.ndarray,
    tolerance: tuple[float, float],
) -> bool:
    """Whether the backend's float64 value at ``point`` agrees with ``ref`` within
    ``tolerance`` (rtol, atol); False when it cannot load or raises."""
    backend = wide()
    if backend is None or isinstance(backend, tuple):
        return False
    try:
        got = np.asarray(backend.evaluate(target, quantity, point, v))
    except Exception:  # no second opinion: the float32 verdict stands
        return False
    if got.shape != np.shape(ref) or not np.all(np.isfinite(got)):
        return False
    return arrays_agree(got, ref, *tolerance)


#: A float64 adapter of the cell's backend, loaded on first use (or why it cannot load).
Backend64 = Callable[[], Any]


def judge_rounding(
    verdict: Verdict,
    dtype: str,
    wide: Backend64 | None,
    recompute: Callable[[Backend64], bool],
    *,
    reference: bool,
) -> Verdict:
    """``verdict``, or a pass with :func:`rounding_note` when it is a float32 mismatch the
    float64 computation does not have (``recompute`` says whether float64 agrees)."""
    if verdict.status not in ("fail", "nonfinite") or dtype == WIDE or wide is None:
        return verdict
    if not recompute(wide):
        return verdict
    return replace(
        verdict,
        status="pass",
        mismatched=0,
        factor=None,
        message=rounding_note(reference=reference),
    )


__all__ = ["WIDE", "Backend64", "float64_agrees", "judge_rounding", "rounding_note"]
