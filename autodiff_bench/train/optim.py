"""The optimizers of ``train``, written once against ``xp``: SGD (with momentum) and Adam.

A step is pure: ``update(xp, theta, g, state) -> (theta, state)`` with every piece of state
an array (the step counter included), so the same code runs eagerly in NumPy or torch and
inside ``jax.jit`` or ``tf.function`` on the backend's device.  The arithmetic follows
``torch.optim.SGD`` and ``torch.optim.Adam`` (``foreach=False``) term by term, so float64
trajectories agree with torch's to round-off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from autodiff_bench.errors import UsageError, unknown_name

#: Optimizer names a user types (``--optimizer``); ``momentum`` is SGD with momentum 0.9.
OPTIMIZERS = ("sgd", "momentum", "adam")

State = tuple[Any, ...]


@dataclass(frozen=True)
class Optimizer:
    """An optimizer and its settings: ``sgd`` (with ``momentum``) or ``adam``."""

    name: str
    lr: float
    momentum: float = 0.0
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self) -> None:
        if self.name not in ("sgd", "adam"):
            raise unknown_name("optimizer", self.name, OPTIMIZERS)
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise UsageError(f"--lr must be a positive number, not {self.lr}", "e.g. --lr 0.01")

    @property
    def kind(self) -> str:
        """The name a user types for it: ``sgd``, ``momentum`` or ``adam``."""
        return "momentum" if self.name == "sgd" and self.momentum else self.name

    @property
    def label(self) -> str:
        """``sgd lr=0.01``, ``sgd momentum=0.9 lr=0.01``, ``adam lr=0.001``: a column heading."""
        extra = f" momentum={self.momentum:g}" if self.name == "sgd" and self.momentum else ""
        return f"{self.name}{extra} lr={self.lr:g}"

    def init(self, xp: Any, theta: Any) -> State:
        """The state before the first step (zeros, and the step counter at 0)."""
        if self.name == "adam":
            return (xp.zeros_like(theta), xp.zeros_like(theta), xp.zeros_like(theta[0]))
        if self.momentum:
            return (xp.zeros_like(theta),)
        return ()

    def update(self, xp: Any, theta: Any, g: Any, state: State) -> tuple[Any, State]:
        """One step from gradient ``g``: the new parameters and state."""
        if self.name == "adam":
            return self._adam(xp, theta, g, state)
        if self.momentum:
            # torch: buf = g at the first step, then buf = momentum·buf + g; zeros at the
            # start give the same first buffer exactly.
            (buf,) = state
            buf = buf * self.momentum + g
            return theta - self.lr * buf, (buf,)
        return theta - self.lr * g, ()

    def _adam(self, xp: Any, theta: Any, g: Any, state: State) -> tuple[Any, State]:
        m, v, t = state
        t = t + 1.0
        # torch: exp_avg.lerp_(g, 1 - β₁), i.e. m + (1 − β₁)(g − m).
        m = m + (1.0 - self.beta1) * (g - m)
        v = v * self.beta2 + (1.0 - self.beta2) * g * g
        bias1 = 1.0 - self.beta1**t
        bias2 = 1.0 - self.beta2**t
        denom = xp.sqrt(v) / xp.sqrt(bias2) + self.eps
        return theta - (self.lr / bias1) * (m / denom), (m, v, t)


def make_optimizer(name: str, lr: float) -> Optimizer:
    """The optimizer a user names: ``sgd``, ``momentum`` (SGD, momentum 0.9) or ``adam``."""
    if name not in OPTIMIZERS:
        raise unknown_name("optimizer", name, OPTIMIZERS)
    if name == "momentum":
        return Optimizer("sgd", lr, momentum=0.9)
    return Optimizer(name, lr)


__all__ = ["OPTIMIZERS", "Optimizer", "State", "make_optimizer"]
