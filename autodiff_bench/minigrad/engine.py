"""The minigrad ``Tensor``: a NumPy array that remembers how it was computed.

Each operation is one short method: it computes the forward value with NumPy and, right
beside it, gives one *rule* per input. A rule ``rule(g, out, *inputs)`` receives the gradient
``g`` of the result and returns that input's share of it (a vector-Jacobian product).
``backward`` sorts the recorded graph topologically and runs the rules from the output back.

Every rule is written once and runs in two modes:

* first order (the default): ``g``, ``out`` and the inputs are plain ndarrays, so the
  backward pass costs one NumPy call per rule and records nothing;
* ``create_graph=True``: they are Tensors, so running the rules records a new graph and the
  gradient can itself be differentiated (Hessians, the 4th derivative of tanh).

That is why rules use only operators, the methods ndarrays and Tensors share (``reshape``,
``sum``, ``transpose``, ``T``) and NumPy ufuncs, which Tensors accept via ``__array_ufunc__``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Rule = Callable[..., Any]
"""``rule(g, out, *inputs) -> share``: one input's part of the gradient ``g`` of ``out``."""

_grad_enabled = True


class _GradMode:
    """Context manager that switches graph recording on or off and restores it on exit."""

    __slots__ = ("enabled", "previous")

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.previous = True

    def __enter__(self) -> None:
        global _grad_enabled
        self.previous, _grad_enabled = _grad_enabled, self.enabled

    def __exit__(self, *exc_info: object) -> None:
        global _grad_enabled
        _grad_enabled = self.previous


def no_grad() -> _GradMode:
    """Return a context manager inside which operations record no graph (e.g. an SGD step).

    The switch is process-wide, not per thread.
    """
    return _GradMode(False)


def enable_grad() -> _GradMode:
    """Return a context manager that turns graph recording back on (e.g. inside ``no_grad``)."""
    return _GradMode(True)


class Tensor:
    """An array of floats (any shape; float32 stays float32) that records its history.

    ``Tensor(data, requires_grad=True)`` makes a *leaf* whose ``.grad`` ``backward()`` fills.
    Results of operations on Tensors that require grad remember their inputs (``_parents``)
    and the derivative rules (``_rules``); constants record nothing and never get a ``.grad``.
    """

    __slots__ = ("_op", "_parents", "_rules", "data", "grad", "requires_grad")

    def __init__(self, data: Any, requires_grad: bool = False) -> None:
        array = np.asarray(data.data if isinstance(data, Tensor) else data)
        if array.dtype.kind != "f":  # ints and bools have no derivative: compute in float64
            array = array.astype(np.float64)
        self.data: np.ndarray = array
        self.requires_grad = requires_grad
        self.grad: Any = None  # an ndarray after backward(), a Tensor if create_graph=True
        self._parents: tuple[Tensor, ...] = ()
        self._rules: tuple[Rule, ...] = ()
        self._op = ""

    # ----- plain-array behaviour -----
    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of ``data``."""
        return self.data.shape

    @property
    def ndim(self) -> int:
        """The number of axes of ``data``."""
        return self.data.ndim

    @property
    def size(self) -> int:
        """The number of elements of ``data``."""
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        """The dtype of ``data`` (a floating type)."""
        return self.data.dtype

    def __repr__(self) -> str:
        made_by = f", op={self._op!r}" if self._op else ""
        return f"Tensor({self.data!r}{made_by}, requires_grad={self.requires_grad})"

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """Let ``np.asarray(tensor)`` return the values (without history)."""
        if copy:
            return np.array(self.data, dtype=dtype)
        return self.data if dtype is None else self.data.astype(dtype)

    def item(self) -> float:
        """Return the value of a one-element Tensor as a Python float."""
        return float(self.data.item())

    def __float__(self) -> float:
        return self.item()

    def detach(self) -> Tensor:
        """Return a constant Tensor sharing these values but none of the history."""
        return Tensor(self.data)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``backward()`` adds to ``.grad``; it never resets)."""
        self.grad = None

    # ----- arithmetic -----
    def __add__(self, other: Any) -> Tensor:
        other = _lift(other, self)
        return _node(self.data + other.data, "+", (self, other), (_same, _same))

    def __sub__(self, other: Any) -> Tensor:
        other = _lift(other, self)
        return _node(self.data - other.data, "-", (self, other), (_same, lambda g, *_: -g))

    def __mul__(self, other: Any) -> Tensor:
        other = _lift(other, self)
        rules = (lambda g, out, a, b: g * b, lambda g, out, a, b: g * a)
        return _node(self.data * other.data, "*", (self, other), rules)

    def __truediv__(self, other: Any) -> Tensor:
        other = _lift(other, self)
        rules = (lambda g, out, a, b: g / b, lambda g, out, a, b: -g * out / b)
        return _node(self.data / other.data, "/", (self, other), rules)

    def __pow__(self, other: Any) -> Tensor:
        if isinstance(other, (int, float, np.integer, np.floating)):
            # A constant exponent stays a Python number so that float32 stays float32.
            p = other.item() if isinstance(other, np.generic) else other
            rule = (lambda g, out, x: g * (p * x ** (p - 1))) if p != 0 else (lambda g, *_: g * 0.0)
            return _node(self.data**p, f"**{p}", (self,), (rule,))
        other = _lift(other, self)
        rules = (
            lambda g, out, x, y: g * y * x ** (y - 1),
            lambda g, out, x, y: g * out * np.log(x),
        )
        return _node(self.data**other.data, "**", (self, other), rules)

    def __neg__(self) -> Tensor:
        return _node(-self.data, "neg", (self,), (lambda g, *_: -g,))

    def __matmul__(self, other: Any) -> Tensor:
        other = _lift(other, self)
        if self.ndim > 2 or other.ndim > 2:
            return _batched_matmul(self, other)
        return _node(self.data @ other.data, "@", (self, other), (_matmul_rule_a, _matmul_rule_b))

    # Comparisons give plain boolean arrays (no derivative), for ``where``.  ``==`` too, so
    # __hash__ is set back to identity: the backward pass keys a dict by node, and a dict
    # looks at identity before it would ever call __eq__.
    __hash__ = object.__hash__

    def __eq__(self, other: Any) -> np.ndarray:  # type: ignore[override]
        return self.data == _lift(other, self).data

    def __ne__(self, other: Any) -> np.ndarray:  # type: ignore[override]
        return self.data != _lift(other, self).data

    def __lt__(self, other: Any) -> np.ndarray:
        return self.data < _lift(other, self).data

    def __le__(self, other: Any) -> np.ndarray:
        return self.data <= _lift(other, self).data

    def __gt__(self, other: Any) -> np.ndarray:
        return self.data > _lift(other, self).data

    def __ge__(self, other: Any) -> np.ndarray:
        return self.data >= _lift(other, self).data

    # Reflected operators: a number or ndarray on the left is lifted to a constant Tensor.
    def __radd__(self, other: Any) -> Tensor:
        return _lift(other, self) + self

    def __rsub__(self, other: Any) -> Tensor:
        return _lift(other, self) - self

    def __rmul__(self, other: Any) -> Tensor:
        return _lift(other, self) * self

    def __rtruediv__(self, other: Any) -> Tensor:
        return _lift(other, self) / self

    def __rpow__(self, other: Any) -> Tensor:
        return _lift(other, self) ** self

    def __rmatmul__(self, other: Any) -> Tensor:
        return _lift(other, self) @ self

    # ----- elementwise functions -----
    def exp(self) -> Tensor:
        """Elementwise e**x."""
        return _node(np.exp(self.data), "exp", (self,), (lambda g, out, x: g * out,))

    def log(self) -> Tensor:
        """Elementwise natural logarithm."""
        return _node(np.log(self.data), "log", (self,), (lambda g, out, x: g / x,))

    def log1p(self) -> Tensor:
        """Elementwise ln(1 + x), accurate for tiny x."""
        return _node(np.log1p(self.data), "log1p", (self,), (lambda g, out, x: g / (1 + x),))

    def sqrt(self) -> Tensor:
        """Elementwise square root."""
        return _node(np.sqrt(self.data), "sqrt", (self,), (lambda g, out, x: g * 0.5 / out,))

    def abs(self) -> Tensor:
        """Elementwise |x|; its derivative is sign(x): 0 at 0, as in HIPS autograd."""
        rules = (lambda g, out, x: g * np.sign(x.data if isinstance(x, Tensor) else x),)
        return _node(np.abs(self.data), "abs", (self,), rules)

    def sin(self) -> Tensor:
        """Elementwise sine."""
        return _node(np.sin(self.data), "sin", (self,), (lambda g, out, x: g * np.cos(x),))

    def cos(self) -> Tensor:
        """Elementwise cosine."""
        return _node(np.cos(self.data), "cos", (self,), (lambda g, out, x: -g * np.sin(x),))

    def tan(self) -> Tensor:
        """Elementwise tangent; tan' = 1 + tan²."""
        return _node(np.tan(self.data), "tan", (self,), (lambda g, out, x: g * (1 + out * out),))

    def sinh(self) -> Tensor:
        """Elementwise hyperbolic sine."""
        return _node(np.sinh(self.data), "sinh", (self,), (lambda g, out, x: g * np.cosh(x),))

    def cosh(self) -> Tensor:
        """Elementwise hyperbolic cosine."""
        return _node(np.cosh(self.data), "cosh", (self,), (lambda g, out, x: g * np.sinh(x),))

    def expm1(self) -> Tensor:
        """Elementwise e**x - 1, accurate for tiny x; its derivative is e**x = out + 1."""
        return _node(np.expm1(self.data), "expm1", (self,), (lambda g, out, x: g * (out + 1),))

    def tanh(self) -> Tensor:
        """Elementwise hyperbolic tangent; its rule reuses the output: tanh' = 1 - tanh²."""
        return _node(np.tanh(self.data), "tanh", (self,), (lambda g, out, x: g * (1 - out * out),))

    def sigmoid(self) -> Tensor:
        """Elementwise logistic function σ(x) = 1/(1+e**-x), stable for any x."""
        # σ' = σ(x)·σ(-x), not out * (1 - out): 1 - σ(x) cancels to 0 for x > 37 or so.
        rules = (lambda g, out, x: g * out * _sigmoid(-x),)
        return _node(_sigmoid(self.data), "sigmoid", (self,), rules)

    def logaddexp(self, other: Any) -> Tensor:
        """Elementwise ln(e**x + e**y), finite and exact even where e**x overflows."""
        other = _lift(other, self)
        # d/dx = e**x / (e**x + e**y) = σ(x - y): bounded, so huge |x - y| stays finite, and
        # differentiating it again gives σ(x - y)·σ(y - x), accurate in both tails.
        rules = (lambda g, out, a, b: g * _sigmoid(a - b), lambda g, out, a, b: g * _sigmoid(b - a))
        return _node(np.logaddexp(self.data, other.data), "logaddexp", (self, other), rules)

    def softplus(self) -> Tensor:
        """Elementwise ln(1 + e**x), stable for any x (see ``logaddexp``)."""
        return self.logaddexp(0.0)

    # ----- reductions and shape changes -----
    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """Sum over ``axis`` (all axes when None), like ``ndarray.sum``."""
        total = self.data.sum(axis=axis, keepdims=keepdims)
        shape = self.data.shape
        if axis is None:
            kept = (1,) * len(shape)
        else:
            axes = _normalize_axes(axis, len(shape))
            kept = tuple(1 if i in axes else n for i, n in enumerate(shape))
        # Each summed element gets the whole g: restore the summed axes, then broadcast.
        rules = (lambda g, *_: _broadcast_to(g.reshape(kept), shape),)
        return _node(total, "sum", (self,), rules)

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """Mean over ``axis`` (all axes when None), like ``ndarray.mean``."""
        total = self.sum(axis, keepdims)
        return total * (total.size / self.size)

    def trace(self) -> Tensor:
        """Sum of the main diagonal of a 2-D Tensor."""
        if self.ndim != 2:
            raise ValueError(f"trace() needs a 2-D Tensor, got shape {self.shape}")
        rules = (lambda g, out, x: g * np.eye(*x.shape, dtype=x.dtype),)
        return _node(np.trace(self.data), "trace", (self,), rules)

    def reshape(self, *shape: Any) -> Tensor:
        """Same values in a new shape (``t.reshape(2, 3)`` or ``t.reshape((2, 3))``)."""
        new_shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        old_shape = self.data.shape
        rules = (lambda g, *_: g.reshape(old_shape),)
        return _node(self.data.reshape(new_shape), "reshape", (self,), rules)

    def transpose(self, *axes: Any) -> Tensor:
        """Permute the axes (reverse them when none are given), like ``ndarray.transpose``."""
        order = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        order = tuple(order) or tuple(reversed(range(self.ndim)))
        inverse = tuple(int(i) for i in np.argsort(order))
        rules = (lambda g, *_: g.transpose(inverse),)
        return _node(self.data.transpose(order), "transpose", (self,), rules)

    T = property(transpose, doc="The Tensor with its axes reversed (a matrix transpose).")

    def broadcast_to(self, shape: tuple[int, ...]) -> Tensor:
        """Repeat the values along new or size-1 axes, like ``np.broadcast_to``."""
        # The rule passes g through: backward sums it back to our shape (see _unbroadcast).
        return _node(np.broadcast_to(self.data, shape), "broadcast", (self,), (_same,))

    def __getitem__(self, index: Any) -> Tensor:
        """NumPy indexing and slicing; the rule scatters g back (repeated indices add up)."""
        shape = self.data.shape
        rules = (lambda g, *_: _scatter_add(g, index, shape),)
        return _node(self.data[index], "[]", (self,), rules)

    # ----- NumPy interoperability -----
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """Route ``np.sin(t)``, ``ndarray * t`` ... to the differentiable Tensor methods."""
        # It also lets one rule serve both modes: np.cos(x) works for both kinds of x.
        operation = _UFUNC_METHODS.get(ufunc)
        if method != "__call__" or kwargs or operation is None:
            return NotImplemented
        first, *rest = (_lift(value, self) for value in inputs)
        return operation(first, *rest)

    # ----- reverse mode -----
    def backward(self, gradient: Any = None, create_graph: bool = False) -> None:
        """Add d(self)/d(leaf) into ``.grad`` of every leaf Tensor that requires grad.

        ``gradient`` is the seed (the vector in the vector-Jacobian product); it may be left
        out only when ``self`` has a single element. With ``create_graph=True`` the gradients
        are Tensors with a graph of their own, so they can be differentiated again.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a Tensor that does not require grad: nothing it "
                "depends on was created with Tensor(..., requires_grad=True)"
            )
        if gradient is None and self.size != 1:
            raise RuntimeError(
                f"backward() needs a seed gradient for an output of shape {self.shape}: only a "
                "single-element output has the implicit seed 1. Reduce it first (e.g. "
                "y.sum().backward()) or pass backward(gradient=...) with that shape."
            )
        for node, g in _backprop(self, gradient, create_graph).items():
            if not node._parents:  # a leaf the user made
                node.grad = g if node.grad is None else node.grad + g


def _same(g: Any, *_: Any) -> Any:
    """The rule of an input that passes the gradient through unchanged (e.g. in ``a + b``)."""
    return g


def _node(data: Any, op: str, parents: tuple[Tensor, ...], rules: tuple[Rule, ...]) -> Tensor:
    """Make the result Tensor of an operation; record its history only if it needs one."""
    out = Tensor.__new__(Tensor)  # skips __init__'s checks: data is already a float array
    out.data = data if type(data) is np.ndarray else np.asarray(data)
    out.grad = None
    out._op = op
    # A list, not a generator: any(...) over a generator costs more than the rest of _node.
    out.requires_grad = _grad_enabled and any([p.requires_grad for p in parents])
    out._parents, out._rules = (parents, rules) if out.requires_grad else ((), ())
    return out


def _lift(value: Any, like: Tensor) -> Tensor:
    """Wrap a number or array as a constant Tensor, with ``like``'s dtype for numbers."""
    if isinstance(value, Tensor):
        return value
    # A Python 2.0 meeting a float32 Tensor must not turn the result into float64.
    if isinstance(value, (int, float)):
        return Tensor(np.asarray(value, dtype=like.data.dtype))
    array = np.asarray(value)
    return Tensor(array if array.dtype.kind == "f" else array.astype(like.data.dtype))


def _normalize_axes(axis: int | tuple[int, ...], ndim: int) -> tuple[int, ...]:
    return tuple(a % ndim for a in (axis if isinstance(axis, tuple) else (axis,)))


def _sigmoid(x: Any) -> Any:
    """σ(x) for a Tensor (differentiable) or an array, as exp(-softplus(-x))."""
    # 1/(1+exp(-x)) overflows for x << 0, and (1+tanh(x/2))/2 loses every digit there.
    return x.sigmoid() if isinstance(x, Tensor) else np.exp(-np.logaddexp(0.0, -x))


def _broadcast_to(g: Any, shape: tuple[int, ...]) -> Any:
    if isinstance(g, Tensor):
        return g.broadcast_to(shape)
    # A filled copy: np.broadcast_to's view costs ~3 µs to build, more than small copies.
    return np.full(shape, g)


def _scatter_add(g: Any, index: Any, shape: tuple[int, ...]) -> Any:
    """Return zeros of ``shape`` with ``g`` added at ``index``: the adjoint of ``x[index]``."""
    if isinstance(g, Tensor):
        return _node(_scatter_add(g.data, index, shape), "scatter", (g,), (lambda h, *_: h[index],))
    result = np.zeros(shape, dtype=g.dtype)
    np.add.at(result, index, g)  # unlike result[index] += g, adds repeated indices twice
    return result


def _matmul_rule_a(g: Any, out: Any, a: Any, b: Any) -> Any:
    """Share of ``a`` in ``a @ b``; vectors follow NumPy (a 1-D ``a`` is a row, ``b`` a column)."""
    if b.ndim == 1:
        return g * b if a.ndim == 1 else g.reshape((-1, 1)) * b  # outer(g, b)
    return b @ g if a.ndim == 1 else g @ b.T


def _matmul_rule_b(g: Any, out: Any, a: Any, b: Any) -> Any:
    """Share of ``b`` in ``a @ b``."""
    if a.ndim == 1:
        return g * a if b.ndim == 1 else a.reshape((-1, 1)) * g  # outer(a, g)
    return g @ a if b.ndim == 1 else a.T @ g


def _batched_matmul(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` on stacks of matrices; a 1-D operand is made a matrix and back, like NumPy."""
    if a.ndim == 1:
        return _batched_matmul(a.reshape((1, -1)), b).reshape(b.shape[:-2] + b.shape[-1:])
    if b.ndim == 1:
        return _batched_matmul(a, b.reshape((-1, 1))).reshape(a.shape[:-1])
    # The 2-D rules, matrix by matrix; backward sums the shares over broadcast batch axes.
    rules = (
        lambda g, out, a, b: g @ _swap_last(b),
        lambda g, out, a, b: _swap_last(a) @ g,
    )
    return _node(a.data @ b.data, "@", (a, b), rules)


def _swap_last(a: Any) -> Any:
    """Transpose the last two axes (each matrix of a stack), for an ndarray or a Tensor."""
    order = (*range(a.ndim - 2), a.ndim - 1, a.ndim - 2)
    return a.transpose(order)


def _unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``g`` over the axes broadcasting added or stretched, giving it ``shape`` again."""
    lead = g.ndim - len(shape)
    stretched = [lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1]
    axes = tuple(range(lead)) + tuple(stretched)
    return (g.sum(axis=axes, keepdims=True) if axes else g).reshape(shape)


def _topological_order(root: Tensor) -> list[Tensor]:
    """Nodes of root's graph that require grad, each after all of its parents."""
    # Iterative depth-first search: a deep graph (a 4th derivative) would hit the recursion limit.
    order: list[Tensor] = []
    visited: set[Tensor] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
        elif node not in visited:
            visited.add(node)
            stack.append((node, True))
            stack += [(p, False) for p in node._parents if p.requires_grad]
    return order


def _backprop(root: Tensor, seed: Any, create_graph: bool) -> dict[Tensor, Any]:
    """Return {node: d(seed·root)/d(node)} for every node of root's graph that requires grad."""
    if seed is None:
        seed = np.ones(root.shape, root.dtype)
    seed = seed.data if isinstance(seed, Tensor) else np.asarray(seed, dtype=root.dtype)
    if seed.shape != root.shape:
        raise ValueError(f"seed gradient has shape {seed.shape}, the output {root.shape}")
    grads: dict[Tensor, Any] = {root: Tensor(seed) if create_graph else seed}
    with _GradMode(create_graph):
        for node in reversed(_topological_order(root)):
            if not node._parents:
                continue
            g = grads[node]  # complete: every node that uses it came earlier in this loop
            parents = node._parents
            # The mode switch: rules see Tensors (and record) or plain arrays (and are fast).
            out: Any
            inputs: Sequence[Any]
            if create_graph:
                out, inputs = node, parents
            else:
                out, inputs = node.data, [p.data for p in parents]
            for parent, rule in zip(parents, node._rules, strict=True):
                if not parent.requires_grad:
                    continue  # e.g. A in A @ x: its (costly) share is never computed
                share = rule(g, out, *inputs)
                if not create_graph and isinstance(share, Tensor):
                    # A rule built from namespace functions (ops.py) returns a Tensor with
                    # no history here: keep the first-order pass on plain arrays.
                    share = share.data
                if share.shape != parent.data.shape:
                    share = _unbroadcast(share, parent.data.shape)
                previous = grads.get(parent)
                # A value used twice gets both contributions. Never +=: in a + b, both
                # inputs receive the very same g object.
                grads[parent] = share if previous is None else previous + share
    return grads


def vjp(output: Tensor, wrt: Tensor, seed: Any = None, create_graph: bool = False) -> Tensor:
    """Return the vector-Jacobian product seedᵀ·∂output/∂wrt, shaped like ``wrt``.

    One backward pass over ``output``'s graph. ``seed`` defaults to 1 (``output`` must then
    have a single element). Zeros when ``output`` does not depend on ``wrt``. With
    ``create_graph=True`` the result is itself differentiable.
    """
    if output.requires_grad and wrt.requires_grad:
        share = _backprop(output, seed, create_graph).get(wrt)
        if share is not None:
            return share if isinstance(share, Tensor) else Tensor(share)
    return Tensor(np.zeros_like(wrt.data))


def stack(tensors: Sequence[Tensor]) -> Tensor:
    """Join same-shaped Tensors along a new first axis, like ``np.stack``."""
    parents = tuple(tensors)
    rules = tuple((lambda g, *_, i=i: g[i]) for i in range(len(parents)))
    return _node(np.stack([t.data for t in parents]), "stack", parents, rules)


def where(condition: Any, a: Tensor, b: Tensor) -> Tensor:
    """``a`` where ``condition`` holds, else ``b`` (broadcast); each gets g where it was chosen."""
    chosen = np.asarray(condition.data if isinstance(condition, Tensor) else condition, bool)
    data = np.where(chosen, a.data, b.data)
    rules = (
        lambda g, *_: g * chosen.astype(data.dtype),
        lambda g, *_: g * (~chosen).astype(data.dtype),
    )
    return _node(data, "where", (a, b), rules)


def as_tensor(value: Any, like: Tensor | None = None) -> Tensor:
    """Return ``value`` if it is a Tensor, else a constant Tensor (``like``'s dtype for numbers)."""
    if isinstance(value, Tensor):
        return value
    return Tensor(value) if like is None else _lift(value, like)


_UFUNC_METHODS: dict[np.ufunc, Callable[..., Tensor]] = {
    np.add: Tensor.__add__,
    np.subtract: Tensor.__sub__,
    np.multiply: Tensor.__mul__,
    np.true_divide: Tensor.__truediv__,
    np.power: Tensor.__pow__,
    np.negative: Tensor.__neg__,
    np.matmul: Tensor.__matmul__,
    np.exp: Tensor.exp,
    np.log: Tensor.log,
    np.log1p: Tensor.log1p,
    np.sqrt: Tensor.sqrt,
    np.sin: Tensor.sin,
    np.cos: Tensor.cos,
    np.tanh: Tensor.tanh,
    np.tan: Tensor.tan,
    np.sinh: Tensor.sinh,
    np.cosh: Tensor.cosh,
    np.expm1: Tensor.expm1,
    np.absolute: Tensor.abs,
    np.logaddexp: Tensor.logaddexp,
}
