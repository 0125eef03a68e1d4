"""Derivative operators built by composing one primitive, ``vjp`` (one backward pass).

Like HIPS autograd's ``differential_operators``: ``grad`` is a vjp with seed 1, ``jacobian``
is one vjp per output element, ``hessian`` is ``jacobian(grad)``, and ``hvp`` is the gradient
of ⟨grad f, v⟩. Higher derivatives are ``grad(grad(f, create_graph=True), ...)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .engine import Tensor, as_tensor, enable_grad, stack, vjp

Function = Callable[[Tensor], Any]


def _variable(x: Any) -> Tensor:
    """The Tensor to differentiate with respect to.

    A Tensor that already requires grad is used as it is, so that an outer derivative
    (``grad(grad(f, create_graph=True))``) can see through the inner one.
    """
    if isinstance(x, Tensor) and x.requires_grad:
        return x
    return Tensor(x, requires_grad=True)


def _evaluate(f: Function, x: Tensor) -> Tensor:
    with enable_grad():  # a derivative asked for inside no_grad() still needs its graph
        return as_tensor(f(x), like=x)


def grad(f: Function, create_graph: bool = False) -> Callable[[Any], Tensor]:
    """Return a function computing the gradient ∂f/∂x, shaped like x.

    ``f`` takes one Tensor and returns a one-element Tensor. The returned function accepts a
    Tensor, ndarray or float. Cost: one evaluation of ``f`` and one backward pass. With
    ``create_graph=True`` the gradient stays differentiable, so ``grad(grad(f, True))`` is the
    second derivative. A gradient that does not depend on x (f linear) gives zeros downstream.
    """

    def gradient(x: Any) -> Tensor:
        x = _variable(x)
        y = _evaluate(f, x)
        if y.size != 1:
            raise ValueError(
                f"grad() needs a function with a single-element output, got shape "
                f"{y.shape}; use jacobian() for vector outputs"
            )
        return vjp(y, x, create_graph=create_graph)

    return gradient


def jacobian(f: Function, create_graph: bool = False) -> Callable[[Any], Tensor]:
    """Return a function computing the Jacobian ∂f(x)/∂x, of shape f(x).shape + x.shape.

    Cost: one evaluation of ``f`` and one backward pass per element of f(x) (seeded with
    each one-hot vector in turn). ``create_graph=True`` keeps the result differentiable.
    """

    def jac(x: Any) -> Tensor:
        x = _variable(x)
        y = _evaluate(f, x)
        rows = []
        for i in range(y.size):
            seed = np.zeros(y.size, dtype=y.dtype)
            seed[i] = 1
            rows.append(vjp(y, x, seed.reshape(y.shape), create_graph=create_graph))
        if not rows:
            return Tensor(np.zeros(y.shape + x.shape, dtype=x.dtype))
        joined = stack(rows) if create_graph else Tensor(np.stack([r.data for r in rows]))
        return joined.reshape(y.shape + x.shape)

    return jac


def hessian(f: Function) -> Callable[[Any], Tensor]:
    """Return a function computing the Hessian of scalar ``f``: ``jacobian(grad(f))``.

    Cost: one backward pass per element of x through the graph of the gradient.
    """
    return jacobian(grad(f, create_graph=True))


def hvp(f: Function) -> Callable[[Any, Any], Tensor]:
    """Return a function (x, v) ↦ H(x)·v, the Hessian of scalar ``f`` times a vector.

    It differentiates ⟨∇f(x), v⟩, so it costs about two gradients and never forms H.
    """

    def product(x: Any, v: Any) -> Tensor:
        return grad(lambda y: (grad(f, create_graph=True)(y) * v).sum())(x)

    return product
