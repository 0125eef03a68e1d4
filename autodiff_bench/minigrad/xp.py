"""The array namespace targets use on minigrad: exactly adbench's xp contract.

The functions live in ``ops.py`` (and ``linalg.py``); this module exposes the names of
:mod:`autodiff_bench.xp_contract` and nothing else: any other name is the contract's one
error, so a target that runs here runs on every backend.
"""

from typing import NoReturn as _NoReturn

from autodiff_bench.xp_contract import LINALG as _LINALG
from autodiff_bench.xp_contract import NAMES as _NAMES
from autodiff_bench.xp_contract import outside_contract as _outside_contract

from . import linalg as _linalg_functions
from .ops import (
    abs,
    argmax,
    argmin,
    clip,
    concat,
    cos,
    cosh,
    cumprod,
    cumsum,
    einsum,
    exp,
    expand_dims,
    expm1,
    eye,
    full,
    log,
    log1p,
    logaddexp,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    ones,
    ones_like,
    outer,
    prod,
    reshape,
    roll,
    sign,
    sin,
    sinh,
    sqrt,
    square,
    stack,
    sum,
    take,
    tan,
    tanh,
    tensordot,
    trace,
    transpose,
    where,
    zeros,
    zeros_like,
)


class _Linalg:
    """``xp.linalg``: the contract's linear algebra, and the contract's error for any other."""

    __slots__ = _LINALG

    def __init__(self) -> None:
        for name in _LINALG:
            setattr(self, name, getattr(_linalg_functions, name))

    def __getattr__(self, name: str) -> _NoReturn:
        raise _outside_contract(f"linalg.{name}", "minigrad")

    def __dir__(self) -> list[str]:
        return list(_LINALG)


linalg = _Linalg()


def __getattr__(name: str) -> _NoReturn:
    raise _outside_contract(name, "minigrad")


def __dir__() -> list[str]:
    return list(_NAMES)


#: Exactly the contract's names (a test compares them with ``xp_contract.NAMES``).
__all__ = [
    "abs",
    "argmax",
    "argmin",
    "clip",
    "concat",
    "cos",
    "cosh",
    "cumprod",
    "cumsum",
    "einsum",
    "exp",
    "expand_dims",
    "expm1",
    "eye",
    "full",
    "linalg",
    "log",
    "log1p",
    "logaddexp",
    "logsumexp",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "ones",
    "ones_like",
    "outer",
    "prod",
    "reshape",
    "roll",
    "sign",
    "sin",
    "sinh",
    "sqrt",
    "square",
    "stack",
    "sum",
    "take",
    "tan",
    "tanh",
    "tensordot",
    "trace",
    "transpose",
    "where",
    "zeros",
    "zeros_like",
]
