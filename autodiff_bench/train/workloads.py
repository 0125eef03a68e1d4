"""The workload registry of ``train``: the seeds' optimisation lessons and a user's own.

A workload is written once, like a target: a loss over **one flat parameter vector**
written against ``xp`` (unpacked inside with slicing and ``reshape``), its data built in
and seeded (nothing downloaded), an optional closed-form gradient, also against ``xp`` (the
``manual`` side: for the network, backpropagation by hand), the optimizers and settings of
the lesson, and the lesson's canonical numbers.  Built-ins live in
:mod:`autodiff_bench.train.lessons`; a user's file calls :func:`register_workload`.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autodiff_bench.errors import UsageError, unknown_name
from autodiff_bench.train.optim import Optimizer
from autodiff_bench.userfiles import import_user_file

if TYPE_CHECKING:
    import numpy as np
else:
    from autodiff_bench.lazy import numpy as np

#: ``loss(xp, theta, batch) -> scalar``: ``batch`` maps names to arrays (rows = samples).
Loss = Callable[[Any, Any, Mapping[str, Any]], Any]
#: ``grad(xp, theta, batch) -> array like theta``: the closed-form gradient of the loss.
Gradient = Callable[[Any, Any, Mapping[str, Any]], Any]


@dataclass(frozen=True)
class Dataset:
    """A workload's data: the arrays it trains on and, optionally, held-out ones."""

    train: dict[str, np.ndarray]
    valid: dict[str, np.ndarray] | None = None

    @property
    def size(self) -> int:
        """How many training samples there are (rows of every training array)."""
        return len(next(iter(self.train.values())))


@dataclass(frozen=True)
class RunView:
    """What a canonical number or a metric may read from one finished run (host arrays)."""

    #: Parameters by step: ``params[k]`` after ``k`` updates (0: the initial ones).
    params: Mapping[int, np.ndarray]
    final: np.ndarray
    #: The gradient at the initial parameters, on the first batch.
    first_grad: np.ndarray
    #: Loss on each step's batch, before that step's update.
    losses: list[float]
    final_loss: float
    dataset: Dataset
    #: The step at the end of each epoch (1-based counts of updates).
    epoch_steps: tuple[int, ...] = ()


@dataclass(frozen=True)
class Canonical:
    """One of the lesson's printed numbers: ``expected`` as the lesson prints it (its digits
    are its precision: ``0.300`` holds for anything that rounds to it) and how to read it."""

    label: str
    expected: str
    read: Callable[[RunView], float]

    @property
    def value(self) -> float:
        """The number itself."""
        return float(self.expected)

    @property
    def tolerance(self) -> float:
        """Half a unit in the last printed digit (plus round-off)."""
        decimals = len(self.expected.partition(".")[2]) if "." in self.expected else 0
        return 0.5 * 10.0**-decimals + 1e-12 * max(1.0, abs(self.value))

    def holds(self, got: float) -> bool:
        """Whether ``got`` prints as ``expected``."""
        return math.isfinite(got) and abs(got - self.value) <= self.tolerance


@dataclass(frozen=True)
class Workload:
    """One training lesson (see the module docstring)."""

    name: str
    #: One line for ``adbench list workloads``.
    lesson: str
    loss: Loss
    #: ``data(rng) -> Dataset``, seeded by the run's seed.
    data: Callable[[np.random.Generator], Dataset]
    #: ``init(rng, dataset) -> flat float64 parameters``: the same for every backend.
    init: Callable[[np.random.Generator, Dataset], np.ndarray]
    #: The lesson's optimizers, each run in turn (``--optimizer``/``--lr`` replace them).
    optimizers: tuple[Optimizer, ...]
    #: Updates for a full-batch lesson (``batch_size`` None); else ``epochs`` counts.
    steps: int | None = None
    epochs: int | None = None
    #: Samples per step (None: the whole training set).
    batch_size: int | None = None
    grad: Gradient | None = None
    #: What the closed form is, in words (``backpropagation by hand``).
    grad_text: str = ""
    #: ``params(theta) -> {name: number or list}``: the parameters named as in the lesson.
    params: Callable[[np.ndarray], dict[str, Any]] | None = None
    #: ``metric(view) -> {name: number}``: accuracy, validation MSE, f(5)...
    metric: Callable[[RunView], dict[str, Any]] | None = None
    canonical: tuple[Canonical, ...] = ()
    #: The seed the canonical numbers were computed with.
    seed: int = 0
    #: Whether each epoch visits the samples in a fresh seeded order.
    shuffle: bool = True
    #: Set by the registry: the module that registered it (a worker imports it).
    module: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not callable(self.loss):
            raise ValueError(f"workload '{self.name}' has no loss: pass loss=fn(xp, theta, batch)")
        if not self.optimizers:
            raise ValueError(f"workload '{self.name}' has no optimizer")
        if (self.steps is None) == (self.epochs is None):
            raise ValueError(f"workload '{self.name}' needs steps or epochs (one of them)")

    @property
    def has_closed_form(self) -> bool:
        """Whether a closed-form gradient (the ``manual`` side) is given."""
        return self.grad is not None


_REGISTRY: dict[str, Workload] = {}
_BUILTINS_LOADED = False
_LOADED_FILES: dict[Path, list[str]] = {}


def register_workload(workload: Workload) -> Workload:
    """Add a workload to the registry (a name already taken by another one is refused)."""
    taken = _REGISTRY.get(workload.name)
    if taken is not None and taken is not workload:
        raise UsageError(
            f"workload '{workload.name}' is registered already", "give yours another name"
        )
    if not workload.module:
        caller = sys._getframe(1).f_globals.get("__name__", "")
        object.__setattr__(workload, "module", caller)
    _REGISTRY[workload.name] = workload
    return workload


def _load_builtins() -> None:
    global _BUILTINS_LOADED
    if not _BUILTINS_LOADED:
        _BUILTINS_LOADED = True
        import autodiff_bench.train.lessons  # noqa: F401  (registers the built-ins)


def all_workloads() -> dict[str, Workload]:
    """Every workload by name: the built-ins, then those from files."""
    _load_builtins()
    return dict(_REGISTRY)


def get_workload(name: str) -> Workload:
    """The workload called ``name`` (UsageError suggesting the nearest one otherwise)."""
    known = all_workloads()
    if name not in known:
        raise unknown_name("workload", name, known)
    return known[name]


def load_workloads_file(path: str | Path) -> list[str]:
    """Import a user's file; return the names of the workloads it registered.

    A file that does not import, that defines a workload without a loss, or that registers
    no workload is a UsageError (one line, exit 2)."""
    _load_builtins()
    p = Path(path)
    if p.is_file() and p.resolve() in _LOADED_FILES:
        return _LOADED_FILES[p.resolve()]
    before = set(_REGISTRY)
    import_user_file(
        p,
        "workload file",
        "adbench_user_workloads_",
        value_error_hint="see 'Training lessons' in README",
    )
    added = [n for n in _REGISTRY if n not in before]
    _LOADED_FILES[p.resolve()] = added
    if not added:
        raise UsageError(
            f"workload file '{p}' registered no workload",
            "call autodiff_bench.train.register_workload(Workload(...)) in it",
        )
    return added


__all__ = [
    "Canonical",
    "Dataset",
    "Gradient",
    "Loss",
    "RunView",
    "Workload",
    "all_workloads",
    "get_workload",
    "load_workloads_file",
    "register_workload",
]
