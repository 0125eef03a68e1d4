"""The backend registry: built-in adapters plus the ``autodiff_bench.backends`` entry points.

Adapters never import their framework at module level, so listing them is cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from autodiff_bench import distributions
from autodiff_bench.backends.autograd_backend import AutogradBackend
from autodiff_bench.backends.base import (
    Backend,
    BackendUnavailable,
    QuantityUnsupported,
    quiet_native_stderr,
)
from autodiff_bench.backends.finite import FiniteBackend
from autodiff_bench.backends.jax_backend import JaxBackend
from autodiff_bench.backends.manual import ManualBackend
from autodiff_bench.backends.minigrad_backend import MinigradBackend
from autodiff_bench.backends.tensorflow_backend import TensorFlowBackend
from autodiff_bench.backends.torch_backend import TorchBackend
from autodiff_bench.errors import UsageError, unknown_name
from autodiff_bench.labels import DEFAULT_MODES, backend_label

ENTRY_POINT_GROUP = "autodiff_bench.backends"

_BUILTIN: tuple[type[Backend], ...] = (
    ManualBackend,
    FiniteBackend,
    TorchBackend,
    TensorFlowBackend,
    JaxBackend,
    AutogradBackend,
    MinigradBackend,
)
_REGISTRY: dict[str, type[Backend]] = {cls.name: cls for cls in _BUILTIN}
DEFAULT_MODES.update({cls.name: cls.modes[0] for cls in _BUILTIN})
_PLUGINS_LOADED = False
#: Entry points that could not become backends, with the reason (shown by `adbench list`).
BROKEN_PLUGINS: dict[str, str] = {}
#: Plugins whose backend name is already taken: every command refuses to run (exit 2) rather
#: than let a plugin take over another backend's column.
_PLUGIN_CLASHES: list[UsageError] = []


def register_backend(cls: type[Backend]) -> type[Backend]:
    """Add an adapter class to the registry (also usable as a class decorator).

    A name already taken by another class is refused (UsageError): a file must not take
    over a built-in's column.  Registering the same class again does nothing."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    taken = _REGISTRY.get(cls.name)
    if taken is not None and taken is not cls:
        raise UsageError(
            f"cannot register {cls.__qualname__} as backend '{cls.name}': that name is taken "
            f"by {taken.__module__}.{taken.__qualname__}",
            "give your backend another name",
        )
    _REGISTRY[cls.name] = cls
    DEFAULT_MODES[cls.name] = cls.modes[0]
    return cls


#: Module-name prefixes of the users' files (``--targets-file``, ``--backends-file``).
USER_FILE_PREFIXES = ("adbench_user_targets_", "adbench_user_backends_")


def shippable(cls: type[Backend]) -> bool:
    """Whether a worker process can import ``cls`` by reference (a class defined in a user's
    targets or backends file is not importable: the worker gets it by re-loading that file)."""
    return not cls.__module__.startswith(USER_FILE_PREFIXES)


_LOADED_BACKEND_FILES: dict[Path, list[str]] = {}


def load_backends_file(path: str | Path) -> list[str]:
    """Import a user's backends file and register every :class:`Backend` subclass with a
    ``name`` it defines (or registers itself); return their names.

    A file that does not exist or import, defines no backend, or takes a name already in
    use is a :class:`UsageError` (exit 2).  Loading one file twice is a no-op."""
    from autodiff_bench.userfiles import import_user_file

    p = Path(path)
    hint = "see 'Checking your own engine' in README"
    key = p.resolve()
    if p.is_file() and key in _LOADED_BACKEND_FILES:
        return _LOADED_BACKEND_FILES[key]
    _load_plugins()
    before = set(_REGISTRY)
    module = import_user_file(p, "backends file", USER_FILE_PREFIXES[1])
    module_name = module.__name__
    defined = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, Backend)
        and obj.__module__ == module_name
        and obj.name
    ]
    for cls in defined:
        register_backend(cls)  # a taken name: UsageError
    added = [n for n in _REGISTRY if n not in before]
    if not added:
        raise UsageError(
            f"backends file '{p}' defines no backend",
            f"define a Backend subclass with a name in it ({hint})",
        )
    _LOADED_BACKEND_FILES[key] = added
    return added


def _load_plugins() -> None:
    global _PLUGINS_LOADED
    if _PLUGINS_LOADED:
        return
    _PLUGINS_LOADED = True
    if not distributions.may_have_entry_points(ENTRY_POINT_GROUP):
        return  # no installed distribution declares one: importlib.metadata is not needed
    import importlib.metadata

    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = ep.load()
        except Exception as exc:  # a broken plugin must not take the tool down
            BROKEN_PLUGINS[ep.name] = f"failed to load: {type(exc).__name__}: {exc}"
            continue
        if not (isinstance(cls, type) and issubclass(cls, Backend) and cls.name):
            BROKEN_PLUGINS[ep.name] = f"{ep.value} is not a Backend subclass with a name"
        elif cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
            taken = _REGISTRY[cls.name]
            _PLUGIN_CLASHES.append(
                UsageError(
                    f"the installed plugin '{ep.name}' ({cls.__module__}.{cls.__qualname__}) "
                    f"takes the backend name '{cls.name}' of "
                    f"{taken.__module__}.{taken.__qualname__}",
                    "uninstall the plugin or give its backend another name",
                )
            )
        else:
            _REGISTRY[cls.name] = cls
            DEFAULT_MODES[cls.name] = cls.modes[0]


def builtin_backends() -> dict[str, type[Backend]]:
    """The adapters that ship with adbench, by name."""
    return {cls.name: cls for cls in _BUILTIN}


def all_backends() -> dict[str, type[Backend]]:
    """Every adapter class by name: built-ins first, then plugins.  A plugin whose name is
    taken is a :class:`UsageError`."""
    _load_plugins()
    if _PLUGIN_CLASHES:
        raise _PLUGIN_CLASHES[0]
    return dict(_REGISTRY)


@dataclass(frozen=True)
class BackendSpec:
    """A backend id and mode as the user selected it (``jax:nojit``)."""

    name: str
    mode: str

    @property
    def label(self) -> str:
        """``name`` for the default mode, ``name:mode`` otherwise."""
        return backend_label(self.name, self.mode, all_backends()[self.name].modes[0])

    def create(
        self, dtype: str = "float64", device: str = "cpu", threads: int | None = None
    ) -> Backend:
        """An adapter instance for this selection."""
        return all_backends()[self.name](self.mode, dtype=dtype, device=device, threads=threads)


def version_of(name: str, mode: str | None = None) -> str | None:
    """The installed version of a registered backend's framework (None if unknown); with a
    ``mode``, of the framework that mode runs in (``manual:torch``: torch's)."""
    cls = all_backends().get(name)
    if cls is None:
        return None
    return (cls if mode is None else cls.runtime(mode)).version()


#: Why a backend could not load: (``unavailable`` or ``error``, the message).
LoadFailure = tuple[str, str]


def load_backend(
    spec: BackendSpec,
    dtype: str = "float64",
    device: str = "cpu",
    threads: int | None = None,
    *,
    exact_precision: bool = False,
) -> Backend | LoadFailure:
    """A loaded adapter, or why not: ``unavailable`` when the framework is missing here,
    ``error`` when its import raised (that backend's problem only, never the run's).

    ``exact_precision`` turns TF32 and the like off (:meth:`Backend.set_exact_precision`):
    ``check`` and ``show`` judge values; ``time`` keeps each framework's own settings."""
    adapter = spec.create(dtype=dtype, device=device, threads=threads)
    if exact_precision:
        adapter.set_exact_precision()
    try:
        adapter.ensure_loaded()
    except BackendUnavailable as exc:
        return ("unavailable", str(exc))
    except Exception as exc:
        return ("error", f"{type(exc).__name__}: {exc}")
    return adapter


def parse_backend(text: str) -> BackendSpec:
    """``name`` or ``name:mode`` checked against the registry (UsageError otherwise)."""
    name, _, mode = text.strip().partition(":")
    backends = all_backends()
    if name not in backends:
        raise unknown_name("backend", name, backends)
    cls = backends[name]
    if not mode:
        return BackendSpec(name, cls.modes[0])
    if mode not in cls.modes:
        raise unknown_name("mode", mode, cls.modes, where=f"of backend '{name}'")
    return BackendSpec(name, mode)


def parse_backends(items: list[str]) -> list[BackendSpec]:
    """Several backend selections; ``all`` expands to every backend in its default mode and
    ``all-modes`` to every backend in every mode."""
    out: list[BackendSpec] = []
    for item in items:
        if item == "all":
            out.extend(BackendSpec(n, c.modes[0]) for n, c in all_backends().items())
        elif item == "all-modes":
            out.extend(BackendSpec(n, m) for n, c in all_backends().items() for m in c.modes)
        else:
            out.append(parse_backend(item))
    if not out:
        raise UsageError("no backend selected", "name at least one, e.g. --backends manual,jax")
    return list(dict.fromkeys(out))


__all__ = [
    "BROKEN_PLUGINS",
    "Backend",
    "BackendSpec",
    "BackendUnavailable",
    "QuantityUnsupported",
    "all_backends",
    "builtin_backends",
    "load_backend",
    "load_backends_file",
    "parse_backend",
    "parse_backends",
    "quiet_native_stderr",
    "register_backend",
    "shippable",
    "version_of",
]
