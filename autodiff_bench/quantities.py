"""Derivative quantities and their orders."""

from __future__ import annotations

SCALAR_QUANTITIES = ("d1", "d2", "d3", "d4")
VECTOR_QUANTITIES = ("grad", "hessian", "hvp")
QUANTITIES = SCALAR_QUANTITIES + VECTOR_QUANTITIES

_ORDER = {"primal": 0, "d1": 1, "d2": 2, "d3": 3, "d4": 4, "grad": 1, "hessian": 2, "hvp": 2}


def derivative_order(quantity: str) -> int:
    """How many times the function is differentiated to get ``quantity`` (``primal`` is 0)."""
    return _ORDER[quantity]


def describe(quantity: str) -> str:
    """A short human description of a quantity id."""
    return {
        "primal": "f itself",
        "grad": "gradient",
        "hessian": "Hessian",
        "hvp": "Hessian-vector product",
    }.get(quantity, f"derivative of order {quantity[1:]}")
