"""The lazy NumPy stand-in: imported on first use, then no proxy on the hot path."""

from __future__ import annotations

import numpy as np

from autodiff_bench.backends.namespace import numpy_namespace
from autodiff_bench.lazy import LazyModule


def test_a_name_is_looked_up_once_then_read_like_an_attribute() -> None:
    lazy = LazyModule("numpy")
    assert "asarray" not in vars(lazy)
    assert lazy.asarray is np.asarray
    # Cached on the instance: later reads never reach __getattr__ (a timed closed form
    # that calls np.asarray pays a plain attribute read, not an import-and-lookup).
    assert vars(lazy)["asarray"] is np.asarray


def test_the_numpy_namespace_computes_with_numpy_itself() -> None:
    xp = numpy_namespace("float64")
    assert xp._m is np  # not the stand-in: every xp call would pay its lookup
