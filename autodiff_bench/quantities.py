"""Derivative quantities and their orders."""

from __future__ import annotations

#: Derivatives of a scalar function of one number.
SCALAR_QUANTITIES = ("d1", "d2", "d3", "d4")
#: Derivatives of a scalar-valued function of an array.
VECTOR_QUANTITIES = ("grad", "hessian", "hvp")
#: Derivatives of an array-valued (vector) function: the Jacobian J, the forward-mode
#: product J v and the reverse-mode product uᵀ J.
JACOBIAN_QUANTITIES = ("jacobian", "jvp", "vjp")
QUANTITIES = SCALAR_QUANTITIES + VECTOR_QUANTITIES + JACOBIAN_QUANTITIES
#: Quantities that take a second array besides x: ``hvp`` and ``jvp`` a direction v shaped
#: like x, ``vjp`` a cotangent u shaped like f(x).
DIRECTIONAL = ("hvp", "jvp", "vjp")

_ORDER = {
    "primal": 0,
    "d1": 1,
    "d2": 2,
    "d3": 3,
    "d4": 4,
    "grad": 1,
    "hessian": 2,
    "hvp": 2,
    "jacobian": 1,
    "jvp": 1,
    "vjp": 1,
}


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
        "jacobian": "Jacobian",
        "jvp": "Jacobian-vector product J v (forward mode)",
        "vjp": "vector-Jacobian product uᵀJ (reverse mode)",
    }.get(quantity, f"derivative of order {quantity[1:]}")
