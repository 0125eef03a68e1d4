"""Fake backends that misbehave on purpose, for the ``time`` engine's isolation tests.

They live in an importable module (not inside a test) because the engine's worker processes
are spawned: they receive the backend class by reference and import it from here.  Nothing is
registered at import; tests add :class:`FakeBackend` to the registry for their duration.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from autodiff_bench.backends.base import QuantityUnsupported
from autodiff_bench.backends.manual import ManualBackend

#: Environment variable naming a file the ``hang`` mode touches just before it hangs.
MARKER_ENV = "ADBENCH_TEST_HANG_MARKER"


class FakeBackend(ManualBackend):
    """The closed forms, except that ``grad`` misbehaves as the mode says:

    ``ok`` computes it, ``crash`` kills the process with SIGSEGV (as a native bug would),
    ``hang`` sleeps for an hour, ``raise`` raises, ``unsupported`` declines it,
    ``async`` returns at once and does the (2 ms of) work in :meth:`synchronize`.
    """

    name = "fake"
    modes = ("ok", "crash", "hang", "raise", "unsupported", "async")
    description = "a test backend that misbehaves on 'grad'"
    is_autodiff = True

    def prepare(
        self, target: Any, quantity: str, point: Any, v: np.ndarray | None = None
    ) -> Callable[[], Any]:
        """The manual call, or the misbehaviour of this mode for ``grad``."""
        call = super().prepare(target, quantity, point, v)
        if quantity != "grad" or self.mode == "ok":
            return call
        if self.mode == "crash":
            return lambda: os.kill(os.getpid(), signal.SIGSEGV)
        if self.mode == "hang":
            return _hang
        if self.mode == "raise":
            return _raise
        if self.mode == "unsupported":
            raise QuantityUnsupported("fake declines grad")
        return lambda: "pending"

    def synchronize(self, value: Any) -> None:
        """Mode ``async``: the work happens here, as with JAX's asynchronous dispatch."""
        if self.mode == "async" and value == "pending":
            end = time.perf_counter() + 0.002
            while time.perf_counter() < end:
                pass


def _hang() -> None:
    marker = os.environ.get(MARKER_ENV)
    if marker:
        with open(marker, "w") as fh:
            fh.write("hanging\n")
    time.sleep(3600)


def _raise() -> None:
    raise ValueError("fake failure in grad")


def test_fake_backend_behaves_in_mode_ok() -> None:
    from autodiff_bench.targets import get_target

    target = get_target("least_squares")
    point = target.points(1, 0, 4)[-1]
    got = FakeBackend("ok").prepare(target, "grad", point)()
    assert np.allclose(got, target.closed_form("grad", point))


def test_fake_backend_declines_grad_in_mode_unsupported() -> None:
    from autodiff_bench.targets import get_target

    target = get_target("least_squares")
    try:
        FakeBackend("unsupported").prepare(target, "grad", target.canonical[0])
    except QuantityUnsupported:
        return
    raise AssertionError("mode 'unsupported' should decline grad")
