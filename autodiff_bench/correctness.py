"""The correctness policy: tolerances per dtype × derivative order, and array verdicts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
else:
    from autodiff_bench.lazy import numpy as np


#: (rtol, atol) by dtype and derivative order, for automatic differentiation.  AD is exact
#: up to round-off, so these sit orders of magnitude above it and far below any real error.
AD_TOLERANCES: dict[str, dict[int, tuple[float, float]]] = {
    "float64": {
        0: (1e-12, 1e-12),
        1: (1e-9, 1e-9),
        2: (1e-8, 1e-8),
        3: (1e-7, 1e-7),
        4: (1e-6, 1e-6),
    },
    "float32": {
        0: (1e-5, 1e-5),
        1: (1e-4, 1e-4),
        2: (3e-4, 3e-4),
        3: (1e-3, 1e-3),
        4: (3e-3, 3e-3),
    },
}
#: Looser for finite differences: truncation and round-off grow with the order.
FINITE_TOLERANCES: dict[str, dict[int, tuple[float, float]]] = {
    "float64": {
        0: (1e-12, 1e-12),
        1: (1e-6, 1e-6),
        2: (1e-5, 1e-5),
        3: (1e-4, 1e-4),
        4: (1e-3, 1e-3),
    },
    "float32": {
        0: (1e-5, 1e-5),
        1: (1e-4, 1e-4),
        2: (3e-4, 3e-4),
        3: (1e-3, 1e-3),
        4: (3e-3, 3e-3),
    },
}
DTYPES = tuple(AD_TOLERANCES)
#: How far past its own error estimate a finite-difference result may lie: the estimate is
#: the disagreement of neighbouring extrapolations, good to about an order of magnitude.
ESTIMATE_SAFETY = 10.0


def allowance(ref: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    """The error each element may have: ``atol·scale + rtol·|ref|``, ``scale`` the largest
    |ref| of the array (1 when the reference is 0 everywhere).

    The absolute part scales with the reference, so a 1% error on a Hessian whose entries
    are 1e-13 fails, while an element that is 0 among large ones is not judged relatively.
    """
    ref = np.abs(np.asarray(ref, dtype=np.float64))
    peak = float(ref.max()) if ref.size else 0.0
    scale = peak if peak > 0 and np.isfinite(peak) else 1.0
    return atol * scale + rtol * ref


def estimated_allowance(
    ref: np.ndarray,
    estimate: np.ndarray,
    table: tuple[float, float],
    floor: tuple[float, float],
) -> np.ndarray:
    """A backend's own error estimate as its allowance: ``ESTIMATE_SAFETY·estimate``, never
    below the ``floor`` (rtol, atol) (round-off: the reference's own) and never above the
    ``table`` (rtol, atol) (a backend that says it is inaccurate still fails)."""
    low = allowance(ref, *floor)
    high = allowance(ref, *table)
    if np.shape(estimate) != np.shape(ref):  # no estimate for these elements: the table
        return high
    est = np.broadcast_to(np.abs(np.asarray(estimate, dtype=np.float64)), np.shape(ref))
    est = np.where(np.isnan(est), np.inf, est)  # no estimate: the table
    return np.minimum(np.maximum(ESTIMATE_SAFETY * est, low), high)


@dataclass(frozen=True)
class Tolerances:
    """The tolerance table in force, with the overrides from a config."""

    ad: Mapping[str, Mapping[int, tuple[float, float]]]
    finite: Mapping[str, Mapping[int, tuple[float, float]]]
    #: target name -> quantity -> (rtol, atol); beats the tables.
    per_target: Mapping[str, Mapping[str, tuple[float, float]]]

    @classmethod
    def default(cls) -> Tolerances:
        """The built-in tables, no overrides."""
        return cls(AD_TOLERANCES, FINITE_TOLERANCES, {})

    def lookup(
        self,
        dtype: str,
        order: int,
        *,
        finite: bool,
        target: str = "",
        quantity: str = "",
        target_overrides: Mapping[str, tuple[float, float]] | None = None,
    ) -> tuple[float, float]:
        """(rtol, atol): config per target, then the target's own, then the table."""
        if quantity in self.per_target.get(target, {}):
            return self.per_target[target][quantity]
        if target_overrides and quantity in target_overrides:
            return target_overrides[quantity]
        table = self.finite if finite else self.ad
        return table[dtype][order]


@dataclass(frozen=True)
class Verdict:
    """How a computed array compares with the reference."""

    status: str  # pass | fail | nonfinite | error (a reference that is not finite)
    max_abs_error: float | None
    max_rel_error: float | None
    worst_index: tuple[int, ...] | None
    got: float | None
    ref: float | None
    mismatched: int
    total: int
    message: str


def compare_arrays(
    got: np.ndarray,
    ref: np.ndarray,
    rtol: float,
    atol: float,
    dtype: str,
    *,
    allowed: np.ndarray | None = None,
    index_label: Callable[[tuple[int, ...]], str] | None = None,
) -> Verdict:
    """Check ``|got − ref| ≤ atol·max|ref| + rtol·|ref|`` element by element (see
    :func:`allowance`; ``allowed`` replaces it), plus shape and dtype.  ``index_label``
    names an index in the message (a dict variable's ``means[1, 0]``).

    A result in a *narrower* float type than asked for fails (digits were lost); a wider one
    (HIPS autograd returns float64 from some float32 rules) is compared and noted.
    """
    got = np.asarray(got)
    ref = np.asarray(ref, dtype=np.float64)
    total = int(ref.size)
    if got.shape != ref.shape:
        return Verdict(
            "fail",
            None,
            None,
            None,
            None,
            None,
            total,
            total,
            f"shape {got.shape}, expected {ref.shape}",
        )
    if not np.all(np.isfinite(ref)):
        # NaN compares false and Inf ≤ Inf: a broken reference would let anything pass.
        bad = int((~np.isfinite(ref)).sum())
        return Verdict(
            "error",
            None,
            None,
            None,
            None,
            None,
            bad,
            total,
            f"the reference has {bad}/{total} NaN or Inf elements: nothing to compare with",
        )
    note = ""
    if got.dtype != np.dtype(dtype):
        if (
            not np.issubdtype(got.dtype, np.floating)
            or got.dtype.itemsize < np.dtype(dtype).itemsize
        ):
            return Verdict(
                "fail",
                None,
                None,
                None,
                None,
                None,
                total,
                total,
                f"dtype {got.dtype}, expected {dtype}",
            )
        note = f"returned {got.dtype} for {dtype} inputs"
    g = got.astype(np.float64)
    if not np.all(np.isfinite(g)):
        bad = ~np.isfinite(g)
        idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), g.shape))
        return Verdict(
            "nonfinite",
            None,
            None,
            idx,
            _item(g, idx),
            _item(ref, idx),
            int(bad.sum()),
            total,
            f"{int(bad.sum())}/{total} elements are NaN or Inf",
        )
    diff = np.abs(g - ref)
    if allowed is None:
        allowed = allowance(ref, rtol, atol)
    bad = diff > allowed
    mismatched = int(bad.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(ref != 0, diff / np.abs(ref), np.where(diff == 0, 0.0, np.inf))
    # Undefined (None) when any element differs from a reference of exactly 0.
    max_rel = float(rel.max()) if rel.size and np.all(np.isfinite(rel)) else None
    max_abs = float(diff.max()) if total else 0.0
    # The worst element is the one furthest past its allowance (or closest to it).
    worst = np.unravel_index(int(np.argmax(diff - allowed)), g.shape) if total else ()
    idx = tuple(int(i) for i in worst)
    if mismatched:
        message = (
            f"{mismatched}/{total} mismatched; worst at "
            f"{index_label(idx) if index_label and idx else _fmt_index(idx)}: "
            f"got {_item(g, idx):.17g}, expected {_item(ref, idx):.17g}"
        )
        status = "fail"
    else:
        message = ""
        status = "pass"
    if note:
        message = f"{message}; {note}" if message else note
    return Verdict(
        status, max_abs, max_rel, idx, _item(g, idx), _item(ref, idx), mismatched, total, message
    )


def _item(a: np.ndarray, idx: tuple[int, ...]) -> float:
    return float(a[idx]) if a.ndim else float(a)


def _fmt_index(idx: tuple[int, ...]) -> str:
    return "[" + ", ".join(map(str, idx)) + "]" if idx else "the value"


def arrays_agree(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> bool:
    """Whether two results agree with each other under the same test (shapes must match)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= allowance(b, rtol, atol)))
