"""Third-party backends that misbehave, for the isolation tests: one aborts the process
in its gradient, one never returns from it.  Both compute f like minigrad does."""

from __future__ import annotations

import os
import time
from typing import Any

from autodiff_bench.backends.minigrad_backend import MinigradBackend


class AbortingBackend(MinigradBackend):
    """A native crash (SIGABRT) in every derivative."""

    name = "crasher"
    description = "aborts the process in its gradient (a test backend)"

    def grad(self, f: Any, create_graph: bool) -> Any:
        print("crasher: about to abort", flush=True)
        os.abort()


class SleepingBackend(MinigradBackend):
    """A hang in every derivative."""

    name = "sleeper"
    description = "never returns from its gradient (a test backend)"

    def grad(self, f: Any, create_graph: bool) -> Any:
        marker = os.environ.get("ADBENCH_TEST_HANG_MARKER")
        if marker:  # tells a test that the hang has begun
            open(marker, "w").close()
        time.sleep(10_000)
        raise AssertionError("unreachable")
