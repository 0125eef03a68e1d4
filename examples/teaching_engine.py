"""A teaching autodiff engine — reverse mode, first order — checked by adbench as a backend.

    adbench check -b lessongrad --backends-file examples/teaching_engine.py

Every operation records its inputs and, beside its forward computation, the rule that maps
the output's gradient to each input's (its vector-Jacobian product).  ``backward`` visits
the graph from the output in reverse topological order and *adds* each contribution to the
input's gradient: a value used twice (``x * x``) receives two.  The twin,
``teaching_engine_buggy.py``, assigns instead of adding — the classic bug.

What it lacks is ``unsupported`` in the report, not an error: second derivatives (its
gradients are plain arrays, not graphs) and any xp function it does not define.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autodiff_bench.backends import Backend, QuantityUnsupported


class Tensor:
    """A value and how it was computed: ``parents`` is ((input, vjp), ...)."""

    __array_ufunc__ = None  # ``array * tensor`` calls Tensor.__rmul__, not NumPy's loop

    def __init__(self, value: Any, parents: tuple = ()) -> None:
        self.value = np.asarray(value)
        self.parents = parents

    def __add__(self, other: Any) -> Tensor:
        a, b = self, lift(other)
        return Tensor(a.value + b.value, ((a, lambda g: fit(g, a)), (b, lambda g: fit(g, b))))

    def __mul__(self, other: Any) -> Tensor:
        a, b = self, lift(other)
        return Tensor(
            a.value * b.value,
            ((a, lambda g: fit(g * b.value, a)), (b, lambda g: fit(g * a.value, b))),
        )

    def __truediv__(self, other: Any) -> Tensor:
        a, b = self, lift(other)
        return Tensor(
            a.value / b.value,
            (
                (a, lambda g: fit(g / b.value, a)),
                (b, lambda g: fit(-g * a.value / b.value**2, b)),
            ),
        )

    def __neg__(self) -> Tensor:
        return self * -1.0

    def __sub__(self, other: Any) -> Tensor:
        return self + -lift(other)

    def __rsub__(self, other: Any) -> Tensor:
        return lift(other) + -self

    def __rtruediv__(self, other: Any) -> Tensor:
        return lift(other) / self

    def __pow__(self, k: float) -> Tensor:
        a = self
        return Tensor(a.value**k, ((a, lambda g: g * k * a.value ** (k - 1)),))

    def __getitem__(self, index: Any) -> Tensor:
        a = self

        def vjp(g: np.ndarray) -> np.ndarray:
            out = np.zeros_like(a.value)
            np.add.at(out, index, g)  # an element picked twice gets both contributions
            return out

        return Tensor(a.value[index], ((a, vjp),))

    __radd__ = __add__
    __rmul__ = __mul__


def lift(v: Any) -> Tensor:
    """A constant (number or array) as a tensor with no parents."""
    return v if isinstance(v, Tensor) else Tensor(v)


def fit(g: np.ndarray, t: Tensor) -> np.ndarray:
    """Sum ``g`` over the axes that broadcasting added to ``t``'s shape."""
    while g.ndim > t.value.ndim:
        g = g.sum(axis=0)
    return g.sum(axis=tuple(i for i, n in enumerate(t.value.shape) if n == 1), keepdims=True)


def unary(value: Any, x: Tensor, local: Any) -> Tensor:
    """An elementwise function: ``value`` = f(x), ``local`` = f'(x)."""
    return Tensor(value, ((x, lambda g: g * local),))


class Namespace:
    """The part of adbench's xp contract this engine implements."""

    def sin(self, x: Any) -> Tensor:
        x = lift(x)
        return unary(np.sin(x.value), x, np.cos(x.value))

    def cos(self, x: Any) -> Tensor:
        x = lift(x)
        return unary(np.cos(x.value), x, -np.sin(x.value))

    def tanh(self, x: Any) -> Tensor:
        x = lift(x)
        t = np.tanh(x.value)
        return unary(t, x, 1.0 - t * t)

    def exp(self, x: Any) -> Tensor:
        x = lift(x)
        e = np.exp(x.value)
        return unary(e, x, e)

    def log(self, x: Any) -> Tensor:
        x = lift(x)
        return unary(np.log(x.value), x, 1.0 / x.value)

    def logaddexp(self, a: Any, b: Any) -> Tensor:
        a, b = lift(a), lift(b)
        out = np.logaddexp(a.value, b.value)
        da, db = np.exp(a.value - out), np.exp(b.value - out)
        return Tensor(out, ((a, lambda g: fit(g * da, a)), (b, lambda g: fit(g * db, b))))

    def sum(self, x: Any) -> Tensor:
        x = lift(x)
        return Tensor(x.value.sum(), ((x, lambda g: np.broadcast_to(g, x.value.shape)),))

    def mean(self, x: Any) -> Tensor:
        return self.sum(x) / lift(x).value.size

    def trace(self, x: Any) -> Tensor:
        x = lift(x)
        return Tensor(np.trace(x.value), ((x, lambda g: g * np.eye(*x.value.shape)),))

    def matmul(self, a: Any, b: Any) -> Tensor:
        a, b = lift(a), lift(b)
        # 1-D operands as a row (left) or a column (right), as numpy.matmul does.
        A = a.value if a.value.ndim > 1 else a.value[None, :]
        B = b.value if b.value.ndim > 1 else b.value[:, None]

        def as2d(g: np.ndarray) -> np.ndarray:
            return g.reshape(A.shape[0], B.shape[1])

        return Tensor(
            np.matmul(a.value, b.value),
            (
                (a, lambda g: (as2d(g) @ B.T).reshape(a.value.shape)),
                (b, lambda g: (A.T @ as2d(g)).reshape(b.value.shape)),
            ),
        )

    def __getattr__(self, name: str) -> Any:
        raise QuantityUnsupported(f"lessongrad implements no xp.{name}")


def topological_order(out: Tensor) -> list[Tensor]:
    """Every node of ``out``'s graph, each after all the nodes it was computed from."""
    order: list[Tensor] = []
    seen: set[int] = set()

    def visit(t: Tensor) -> None:
        if id(t) not in seen:
            seen.add(id(t))
            for parent, _ in t.parents:
                visit(parent)
            order.append(t)

    visit(out)
    return order


def backward(out: Tensor) -> dict[int, np.ndarray]:
    """d out / d node for every node of the graph, by ``id``: reverse topological order,
    contributions *accumulated* (a value used twice gets the sum of both)."""
    grads: dict[int, np.ndarray] = {id(out): np.ones_like(out.value)}
    for node in reversed(topological_order(out)):
        g = grads.get(id(node))
        for parent, vjp in node.parents if g is not None else ():
            grads[id(parent)] = grads.get(id(parent), 0.0) + vjp(g)
    return grads


class LessonGrad(Backend):
    """adbench's view of the engine: arrays in, the gradient of a scalar function out."""

    name = "lessongrad"
    description = "a teaching reverse-mode engine, first order (examples/teaching_engine.py)"

    def load(self) -> None:
        """Nothing to import: the engine is this file."""
        self.xp = Namespace()

    def to_numpy(self, a: Any) -> np.ndarray:
        """A tensor's value (f itself comes back as a tensor)."""
        return np.asarray(a.value if isinstance(a, Tensor) else a).astype(self.dtype)

    def backward(self, out: Tensor) -> dict[int, np.ndarray]:
        """The engine's backward pass (the buggy twin overrides it)."""
        return backward(out)

    def grad(self, f: Any, create_graph: bool) -> Any:
        """The gradient of a scalar ``f`` by one backward pass."""
        if create_graph:
            raise QuantityUnsupported("lessongrad differentiates once (no second derivatives)")

        def gradient(x: Any, *rest: Any) -> np.ndarray:
            xt = Tensor(x)
            out = lift(f(xt, *rest))
            if out.value.ndim != 0:
                raise QuantityUnsupported("lessongrad differentiates scalar functions only")
            return self.backward(out).get(id(xt), np.zeros_like(xt.value))

        return gradient

    def jacobian(self, f: Any, create_graph: bool) -> Any:
        """Not implemented: the engine differentiates scalar functions only."""
        raise QuantityUnsupported("lessongrad differentiates scalar functions only")
