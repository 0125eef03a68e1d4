"""The correctness policy: tolerances per dtype × derivative order, and array verdicts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
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


def relative_floor(ref: np.ndarray, rtol: float, atol: float) -> float:
    """The denominator below which a reference element is not judged relatively:
    ``(atol/rtol)·scale``, ``scale`` the largest |ref| (1 when the reference is 0
    everywhere), as in :func:`allowance`.  With the built-in tables (atol = rtol) it is the
    largest |ref| itself."""
    mag = np.abs(np.asarray(ref, dtype=np.float64))
    peak = float(mag.max()) if mag.size else 0.0
    scale = peak if peak > 0 and np.isfinite(peak) else 1.0
    return scale * (atol / rtol if rtol > 0 else 1.0)


def relative_errors(got: np.ndarray, ref: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    """The one definition of relative error: ``|got − ref| / max(|ref|, floor)`` element by
    element, ``floor`` from :func:`relative_floor`.  Finite wherever ``got`` is, whatever
    zeros the reference holds; an element within ``rtol`` of it passes the allowance, and a
    passing element is within ``2·rtol``."""
    g = np.asarray(got, dtype=np.float64)
    r = np.asarray(ref, dtype=np.float64)
    return np.abs(g - r) / np.maximum(np.abs(r), relative_floor(r, rtol, atol))


#: The largest numerator and denominator of a factor written as a fraction (``0.25``,
#: ``1/3``); other factors are named only where ≥ :data:`FACTOR_MIN_ELEMENTS` elements
#: share them (one element always has *some* ratio to another).
FACTOR_DENOMINATOR = 12
FACTOR_MIN_ELEMENTS = 3


def explaining_factor(got: np.ndarray, ref: np.ndarray, allowed: np.ndarray) -> float | None:
    """``c`` with ``ref ≈ c·got`` at every element (within ``allowed``), when one constant
    explains the whole mismatch: a gradient N times too large, or of the wrong sign.  A
    round factor (an integer or a small fraction, either way up) is preferred to the
    least-squares one; None when no constant does, or it would be 0 or 1."""
    g = np.asarray(got, dtype=np.float64).ravel()
    r = np.asarray(ref, dtype=np.float64).ravel()
    a = np.broadcast_to(np.asarray(allowed, dtype=np.float64), np.shape(ref)).ravel()
    norm = float(g @ g)
    if not norm > 0 or not np.isfinite(norm):
        return None
    fitted = float(g @ r) / norm
    if not np.isfinite(fitted) or fitted == 0:
        return None

    def explains(c: float) -> bool:
        return bool(np.all(np.abs(c * g - r) <= a))

    rounded = _round_factor(fitted)
    if rounded is not None and explains(rounded):
        return rounded
    nonzero = int(np.count_nonzero(r))
    if nonzero >= FACTOR_MIN_ELEMENTS and explains(fitted):
        return fitted
    return None


def _round_factor(c: float) -> float | None:
    """``c`` rounded to p/q or q/p with small p, q (4, 0.25, −1, 1.5, 1/3), or None."""
    big = abs(c) >= 1
    k = abs(c) if big else 1.0 / abs(c)
    frac = Fraction(k).limit_denominator(FACTOR_DENOMINATOR)
    if frac == 0 or frac.numerator > 1000:
        return None
    value = float(frac) if big else 1.0 / float(frac)
    return value if c > 0 else -value


def factor_phrase(c: float, elements: int = 2) -> str:
    """How a factor reads: ``expected = 4 × got``, ``got = 4 × expected`` (c = 0.25),
    ``expected = −got`` — "at every element" when there are several."""
    where = " at every element" if elements > 1 else ""
    if c == -1:
        return f"expected = −got{where}"
    if abs(c) >= 1:
        return f"expected = {_number(c)} × got{where}"
    return f"got = {_number(1.0 / c)} × expected{where}"


def _number(x: float) -> str:
    return f"{x:.4g}".replace("-", "−")


@dataclass(frozen=True)
class Verdict:
    """How a computed array compares with the reference.  ``max_rel_error`` is the largest
    :func:`relative_errors` element and ``worst_index`` where it lies; ``factor`` is the
    constant ``c`` with expected = c·got everywhere, when one explains a mismatch."""

    status: str  # pass | fail | nonfinite | error (a reference that is not finite)
    max_abs_error: float | None
    max_rel_error: float | None
    worst_index: tuple[int, ...] | None
    got: float | None
    ref: float | None
    mismatched: int
    total: int
    message: str
    factor: float | None = None


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
    :func:`allowance`; ``allowed`` replaces it), plus shape and dtype.  A mismatch that one
    constant factor explains (see :func:`explaining_factor`) is named in the message;
    ``index_label`` names an index (a dict variable's ``means[1, 0]``).

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
            f"got shape {_fmt_shape(got.shape)}, expected {_fmt_shape(ref.shape)}",
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
    rel = relative_errors(g, ref, rtol, atol)
    max_rel = float(rel.max()) if total else 0.0
    max_abs = float(diff.max()) if total else 0.0
    # The worst element is the one with the largest relative error: the cell's number and
    # its "worst at" line are the same element.
    worst = np.unravel_index(int(np.argmax(rel)), g.shape) if total else ()
    idx = tuple(int(i) for i in worst)
    factor = None
    if mismatched:
        factor = explaining_factor(g, ref, allowed)
        explained = f"{factor_phrase(factor, total)}; " if factor is not None else ""
        message = (
            f"{mismatched}/{total} mismatched; {explained}worst at "
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
        status,
        max_abs,
        max_rel,
        idx,
        _item(g, idx),
        _item(ref, idx),
        mismatched,
        total,
        message,
        factor,
    )


def _item(a: np.ndarray, idx: tuple[int, ...]) -> float:
    return float(a[idx]) if a.ndim else float(a)


def _fmt_shape(shape: tuple[int, ...]) -> str:
    return str(tuple(shape)) if shape else "() (a scalar)"


def _fmt_index(idx: tuple[int, ...]) -> str:
    return "[" + ", ".join(map(str, idx)) + "]" if idx else "the value"


def arrays_agree(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> bool:
    """Whether two results agree with each other under the same test (shapes must match)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= allowance(b, rtol, atol)))
