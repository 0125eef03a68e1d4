"""What ``time`` will do: the resolved, validated selection of cells."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from autodiff_bench.backends import BackendSpec, all_backends, parse_backends
from autodiff_bench.config import ConfigFile, pick
from autodiff_bench.errors import UsageError, unknown_name
from autodiff_bench.model import Cell
from autodiff_bench.quantities import QUANTITIES
from autodiff_bench.selection import (
    positive_number,
    resolve_common,
    resolve_targets,
    split_names,
)
from autodiff_bench.targets import Target, all_targets, check_size
from autodiff_bench.timing.harness import HarnessSettings

#: A bare ``adbench time`` runs these (``configs/time.toml`` spells out the same values).
DEFAULT_SIZES = (10, 100)
DEFAULT_THREADS = 1
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_HARNESS = HarnessSettings(budget_s=0.1, min_samples=5, max_samples=1000, settle=0.01)
#: Finite differences cost 2·4·n evaluations of f per level, a number known in advance; they
#: are the correctness baseline, so the default timing suite leaves them out.
EXCLUDED_BY_DEFAULT = ("finite",)
#: The manual closed forms are the reference of ``ratio_to_manual``: always timed (NumPy),
#: and in the framework of every timed backend (``manual:torch`` beside ``torch``).
REFERENCE = "manual"


def manual_mode_for(framework: str) -> str:
    """The mode of ``manual`` that computes in ``framework`` (its NumPy default when none
    does): the closed form an AD backend of that framework is compared with."""
    manual = all_backends()[REFERENCE]
    return next((m for m in manual.modes if manual.framework_of(m) == framework), manual.modes[0])


def manual_reference(backend: str, mode: str) -> BackendSpec:
    """The closed form ``backend:mode``'s ``ratio_to_manual`` is taken against: manual in the
    same framework (``torch`` → ``manual:torch``); NumPy ``manual`` for NumPy-based backends,
    for backends of an unknown framework, and for manual's own modes."""
    classes = all_backends()
    cls = classes.get(backend)
    if cls is None or backend == REFERENCE:
        return BackendSpec(REFERENCE, classes[REFERENCE].modes[0])
    return BackendSpec(REFERENCE, manual_mode_for(cls.framework_of(mode)))


def with_manual_references(specs: list[BackendSpec]) -> list[BackendSpec]:
    """``specs`` with NumPy ``manual`` first (if missing) and, right before the first backend
    of each framework, manual in that framework (if missing)."""
    out: list[BackendSpec] = []
    numpy_manual = manual_reference(REFERENCE, "")
    if numpy_manual not in specs:
        out.append(numpy_manual)
    for s in specs:
        ref = manual_reference(s.name, s.mode)
        if s.name != REFERENCE and ref not in specs and ref not in out:
            out.append(ref)
        if s not in out:
            out.append(s)
    return out


# ---- the plan ------------------------------------------------------------------------------


@dataclass(kw_only=True, unsafe_hash=True)
class TimeCell(Cell):
    """One timed cell: a quantity of a target at a size, from one backend in one mode."""


@dataclass(frozen=True)
class TimePlan:
    """A resolved, validated selection for ``time``."""

    targets: list[Target]
    backends: list[BackendSpec]
    #: Selected quantities (``primal`` is always timed too); None means all a target has.
    quantities: list[str] | None
    sizes: list[int]
    dtype: str = "float64"
    device: str = "cpu"
    threads: int = DEFAULT_THREADS
    seed: int = 0
    timeout_s: float = DEFAULT_TIMEOUT_S
    harness: HarnessSettings = DEFAULT_HARNESS
    targets_files: tuple[str, ...] = ()
    #: User backends files (``--backends-file``), re-imported by the workers.
    backends_files: tuple[str, ...] = ()
    #: Sizes of particular targets, in place of ``sizes``.
    target_sizes: dict[str, list[int]] = field(default_factory=dict)

    def quantities_of(self, target: Target) -> list[str]:
        """``primal`` then the selected quantities ``target`` has."""
        chosen = [q for q in target.quantities if self.quantities is None or q in self.quantities]
        return ["primal", *chosen]

    def sizes_of(self, target: Target) -> list[int | None]:
        """The sizes ``target`` is timed at (None for a scalar target: it has no size)."""
        if target.is_scalar:
            return [None]
        return list(self.target_sizes.get(target.name, self.sizes))

    def cells(self) -> list[TimeCell]:
        """Every cell, in table order: target, size, quantity, backend."""
        return [
            TimeCell(
                target=t.name,
                size=n,
                quantity=q,
                backend=b.name,
                mode=b.mode,
                dtype=self.dtype,
                device=self.device,
            )
            for t in self.targets
            for n in self.sizes_of(t)
            for q in self.quantities_of(t)
            for b in self.backends
        ]

    def as_dict(self) -> dict[str, Any]:
        """The resolved selection, for the JSON ``config`` field."""
        return {
            "targets": [t.name for t in self.targets],
            "backends": [b.label for b in self.backends],
            "quantities": self.quantities,
            "sizes": self.sizes,
            "target_sizes": self.target_sizes,
            "dtype": self.dtype,
            "device": self.device,
            "threads": self.threads,
            "seed": self.seed,
            "timeout_s": self.timeout_s,
            "budget_s": self.harness.budget_s,
            "min_samples": self.harness.min_samples,
            "max_samples": self.harness.max_samples,
            "settle": self.harness.settle,
            "min_sample_s": self.harness.min_sample_s,
        }


def parse_sizes(values: list[str] | str | list[int] | None) -> list[int] | None:
    """``10,100,1000`` (or repeated options, or a config's list) to sorted distinct ints."""
    if values is None:
        return None
    items: list[Any] = values if isinstance(values, list) else [values]
    out: list[int] = []
    for item in items:
        parts = item.split(",") if isinstance(item, str) else [item]
        for part in parts:
            text = str(part).strip()
            try:
                n = int(text)
            except ValueError:
                n = 0
            if n <= 0 or isinstance(part, bool):
                raise UsageError(
                    f"--sizes takes positive integers, not '{text}'", "e.g. --sizes 10,100,1000"
                )
            out.append(n)
    if not out:
        raise UsageError("--sizes is empty", "e.g. --sizes 10,100,1000")
    return sorted(set(out))


def resolve_time_quantities(names: list[str]) -> list[str] | None:
    """Quantity names (``all``, ``primal`` and the derivative quantities); None means all."""
    if not names or names == ["all"]:
        return None
    known = ("primal", *QUANTITIES)
    for q in names:
        if q not in known:
            raise unknown_name("quantity", q, known)
    return list(dict.fromkeys(names))


def default_backends() -> list[str]:
    """Every registered backend but those :data:`EXCLUDED_BY_DEFAULT`."""
    return [n for n in all_backends() if n not in EXCLUDED_BY_DEFAULT]


def check_sizes_fit(
    sizes_of: Callable[[Target], list[int | None]], targets: list[Target], with_hessian: bool
) -> None:
    """Refuse a size whose inputs (and Hessian) would not fit in half the machine's memory."""
    for t in targets:
        for n in sizes_of(t):
            check_size(n, [t], with_hessian, option="--sizes")


def resolve_time_plan(
    config: ConfigFile,
    *,
    targets: list[str] | None = None,
    backends: list[str] | None = None,
    quantities: list[str] | None = None,
    sizes: list[str] | None = None,
    dtype: str | None = None,
    device: str | None = None,
    threads: int | None = None,
    seed: int | None = None,
    budget: float | None = None,
    min_samples: int | None = None,
    timeout: float | None = None,
    targets_files: list[str] | None = None,
    backends_files: list[str] | None = None,
) -> TimePlan:
    """Merge command line over the config's ``[time]`` over the defaults, validating all."""
    sec = config.section("time")
    plan_quantities = resolve_time_quantities(pick(split_names(quantities), sec, "quantities", []))
    plan_targets = resolve_targets(pick(split_names(targets), sec, "targets", []), plan_quantities)
    chosen = pick(split_names(backends), sec, "backends", None) or default_backends()
    specs = with_manual_references(parse_backends(chosen))
    plan_seed, plan_dtype, plan_device = resolve_common(
        sec, plan_targets, plan_quantities, seed=seed, dtype=dtype, device=device, also=("primal",)
    )
    if plan_quantities is not None:
        # A target with none of the selected derivatives is not timed at all.
        plan_targets = [
            t
            for t in plan_targets
            if any(q in t.quantities or q == "primal" for q in plan_quantities)
        ]
    if sizes is not None:
        # Sizes typed on the command line are meant for every target: no per-target table.
        plan_sizes, per_target = parse_sizes(sizes) or [], {}
    elif "sizes" in sec:
        plan_sizes, per_target = parse_sizes(sec["sizes"]) or [], sec.get("target_sizes", {})
    else:
        plan_sizes = list(DEFAULT_SIZES)
        # A target's own timing sizes (Target.timing_sizes), unless the config names some.
        own = {t.name: list(t.timing_sizes) for t in all_targets().values() if t.timing_sizes}
        per_target = sec.get("target_sizes", own)
    known = all_targets()
    plan_target_sizes: dict[str, list[int]] = {}
    for name, values in per_target.items():
        if name not in known:
            raise unknown_name("target in target_sizes", name, known)
        plan_target_sizes[name] = parse_sizes(list(values)) or []

    def sizes_of(t: Target) -> list[int | None]:
        return [None] if t.is_scalar else list(plan_target_sizes.get(t.name, plan_sizes))

    check_sizes_fit(
        sizes_of,
        plan_targets,
        with_hessian=plan_quantities is None or "hessian" in plan_quantities,
    )
    plan_threads = pick(threads, sec, "threads", DEFAULT_THREADS)
    if plan_threads <= 0:
        raise UsageError(f"--threads must be 1 or more, not {plan_threads}", "try --threads 1")
    d = DEFAULT_HARNESS
    plan_budget = positive_number(
        "--budget", pick(budget, sec, "budget", d.budget_s), "try --budget 0.2"
    )
    plan_timeout = positive_number(
        "--timeout", pick(timeout, sec, "timeout", DEFAULT_TIMEOUT_S), "try --timeout 60"
    )
    n_min = pick(min_samples, sec, "min_samples", d.min_samples)
    if n_min < 1:
        raise UsageError(f"--min-samples must be 1 or more, not {n_min}", "try --min-samples 5")
    n_max = sec.get("max_samples", d.max_samples)
    if n_max < n_min:
        raise UsageError(f"max_samples ({n_max}) is below min_samples ({n_min})")
    settle = sec.get("settle", d.settle)
    if not 0 <= settle < 1:
        raise UsageError(f"settle must be in [0, 1), not {settle}", "e.g. settle = 0.01")
    harness = replace(
        d, budget_s=float(plan_budget), min_samples=n_min, max_samples=n_max, settle=settle
    )
    return TimePlan(
        targets=plan_targets,
        backends=specs,
        quantities=plan_quantities,
        sizes=plan_sizes,
        target_sizes=plan_target_sizes,
        dtype=plan_dtype,
        device=plan_device,
        threads=plan_threads,
        seed=plan_seed,
        timeout_s=float(plan_timeout),
        harness=harness,
        targets_files=tuple(str(Path(p).resolve()) for p in targets_files or ()),
        backends_files=tuple(str(Path(p).resolve()) for p in backends_files or ()),
    )
