"""NumPy, imported on first use.

``adbench --help`` and ``adbench list`` never compute, and NumPy is a third of their start-up
time.  A module that needs NumPy only inside its functions writes::

    if TYPE_CHECKING:
        import numpy as np
    else:
        from autodiff_bench.lazy import numpy as np

and ``np.asarray`` imports NumPy the first time it is reached.  Unlike
:class:`importlib.util.LazyLoader` the stand-in is never put in ``sys.modules``, so an
ordinary ``import numpy`` elsewhere is unaffected.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """A stand-in for a module that imports it at the first attribute read."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def _load(self) -> ModuleType:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return self._module

    def __getattr__(self, attr: str) -> Any:
        # Called only for names not cached yet: each is looked up once and kept on the
        # instance, so ``np.asarray`` in a timed closed form costs a plain attribute read.
        value = getattr(self._load(), attr)
        setattr(self, attr, value)
        return value

    def __repr__(self) -> str:
        state = "imported" if self._module is not None else "not imported yet"
        return f"<lazy module {self._name!r} ({state})>"


#: ``numpy``, imported when first used.
numpy: Any = LazyModule("numpy")
