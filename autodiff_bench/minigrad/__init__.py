"""minigrad: a small reverse-mode automatic differentiation engine on NumPy arrays.

It is adbench's own backend and a reading exercise: ``engine.py`` is the whole engine.

How it works, on one example
----------------------------
Take x = [[2, 3]], w = [[-1], [1.2]], y = [[0.2]] and the loss L = ((x @ w - y) ** 2).sum(),
with only w a variable::

    >>> from autodiff_bench.minigrad import Tensor
    >>> x, y = Tensor([[2.0, 3.0]]), Tensor([[0.2]])
    >>> w = Tensor([[-1.0], [1.2]], requires_grad=True)
    >>> L = ((x @ w - y) ** 2).sum()

**Forward.** Every operation computes its value with NumPy and returns a new ``Tensor``
that remembers its inputs and, for each input, a *rule*: a small function that turns the
gradient of the result into that input's share (a vector-Jacobian product). The code built
this graph, values on the nodes, each node drawn after its inputs::

    x [[2, 3]]  ───────┐
                       ├─ @ ── p [[1.6]] ──┐
    w [[-1], [1.2]] ───┘                   ├─ - ── r [[1.4]] ── **2 ── s [[1.96]] ── sum ── L 1.96
    y [[0.2]]  ────────────────────────────┘

x and y were made without ``requires_grad``, so they are constants: their edges carry no rule
that will ever run, and they never get a ``.grad``.

**Backward.** ``L.backward()`` sorts the graph so that every node comes after everything it
feeds (a topological order), seeds dL/dL = 1, and walks the order backwards; at each node it
runs each input's rule on the node's finished gradient and adds the result into the input::

    dL/dL = 1
    dL/ds = 1 broadcast to s's shape         = [[1]]        (rule of sum)
    dL/dr = dL/ds * 2 r                      = [[2.8]]      (rule of **2)
    dL/dp = dL/dr                            = [[2.8]]      (rule of -, first input)
    dL/dw = xᵀ @ dL/dp = [[2], [3]] @ [[2.8]] = [[5.6], [8.4]]   (rule of @, second input)

    >>> L.backward()
    >>> w.grad
    array([[5.6],
           [8.4]])
    >>> x.grad is None
    True

Three details make this more than a textbook toy:

* **Accumulation.** A value used twice (``x * x``, a shared subexpression) gets one share
  from each use; the topological order guarantees all shares are in before its own rules run.
* **Broadcasting.** ``p - y`` would broadcast a (3, 1) y against a (3, 4) p; the share for y
  is then summed back over the stretched axis, so every gradient has its input's shape.
* **Higher derivatives.** A rule is written once with operators and NumPy functions that
  work both on arrays and on Tensors. ``backward()`` runs it on arrays (fast);
  ``backward(create_graph=True)`` runs it on Tensors, so the backward pass records a graph of
  its own and the gradient can be differentiated again: ``grad(grad(f, True))`` is f''.

Public API
----------
``Tensor`` (operators ``+ - * / ** @``, comparisons, ``exp expm1 log log1p sqrt abs sin cos
tan tanh sinh cosh sigmoid logaddexp softplus``, ``sum mean trace reshape transpose T`` and
indexing, ``backward``, ``zero_grad``), ``no_grad``, ``vjp``, and the derivative operators
``grad``, ``jacobian``, ``hessian``, ``hvp`` from ``functional``.

``xp`` is the array namespace adbench's targets are written against: exactly the xp
contract (``autodiff_bench.xp_contract``), every function differentiable to every order.
``ops.py`` holds its functions and ``linalg.py`` its ``xp.linalg``, in the same style as
``engine.py``: each rule beside its forward computation, built from differentiable
operations.  Their conventions at kinks (HIPS autograd's) are listed in ``ops.py``.
"""

from . import ops, xp
from .engine import Tensor, as_tensor, enable_grad, no_grad, stack, vjp
from .functional import grad, hessian, hvp, jacobian

__all__ = [
    "Tensor",
    "as_tensor",
    "enable_grad",
    "grad",
    "hessian",
    "hvp",
    "jacobian",
    "no_grad",
    "ops",
    "stack",
    "vjp",
    "xp",
]
