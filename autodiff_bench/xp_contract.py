"""The xp contract: the one written list of names a target may use on ``xp``.

Every backend's namespace exposes exactly these names (NumPy, torch, TensorFlow, JAX, HIPS
autograd and minigrad alike), following the Python array API standard's spelling where it
has one, so a target that runs on one backend runs on all.  A name outside this list is one
error, the same on every backend (:func:`outside_contract`).

Besides the functions below, the arrays a namespace returns support the operators
``+ - * / ** @`` with Python scalars on either side, unary minus, the comparisons
``< <= > >= ==`` (usable in ``where``), ``.shape`` and basic indexing and slicing.
"""

from __future__ import annotations

#: Elementwise functions.
ELEMENTWISE = (
    "abs",
    "sign",
    "exp",
    "expm1",
    "log",
    "log1p",
    "sqrt",
    "square",
    "sin",
    "cos",
    "tan",
    "tanh",
    "sinh",
    "cosh",
    "logaddexp",
    "maximum",
    "minimum",
    "where",
    "clip",
)
#: Reductions (each takes ``axis``; ``logsumexp`` is the stable one).
REDUCTIONS = (
    "sum",
    "mean",
    "prod",
    "max",
    "min",
    "argmax",
    "argmin",
    "cumsum",
    "cumprod",
    "logsumexp",
)
#: Shape manipulation.
SHAPE = ("reshape", "stack", "concat", "transpose", "expand_dims")
#: Products, gathers and shifts.
LINEAR = ("matmul", "outer", "tensordot", "einsum", "trace", "take", "roll")
#: Array creation (in the target's dtype and on its device).
CREATION = ("eye", "zeros", "ones", "zeros_like", "ones_like", "full")
#: ``xp.linalg.<name>``.
LINALG = ("det", "slogdet", "inv", "solve", "cholesky", "norm")

#: Every top-level name of the contract (``linalg`` is the sub-namespace of :data:`LINALG`).
NAMES: tuple[str, ...] = (*ELEMENTWISE, *REDUCTIONS, *SHAPE, *LINEAR, *CREATION, "linalg")

#: Where the README documents the contract (error messages point here).
README_SECTION = "Checking your own gradient"


class OutsideContract(AttributeError):
    """A target used a name that is not in the xp contract."""


def outside_contract(name: str, backend: str) -> OutsideContract:
    """The one error for a name outside the contract, worded the same on every backend."""
    where = "xp.linalg" if name.startswith("linalg.") else "xp"
    short = name.removeprefix("linalg.")
    return OutsideContract(
        f"{where}.{short} is not in adbench's xp contract (seen on {backend}); use the "
        f"names listed in README, '{README_SECTION}', so the target runs on every backend"
    )
