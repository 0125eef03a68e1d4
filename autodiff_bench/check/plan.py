"""What ``check`` (and ``show``) will do: the resolved, validated selection."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autodiff_bench.backends import BackendSpec, all_backends, parse_backend, parse_backends
from autodiff_bench.config import ConfigFile, pick
from autodiff_bench.correctness import DTYPES, Tolerances
from autodiff_bench.errors import UsageError, unknown_name
from autodiff_bench.quantities import derivative_order
from autodiff_bench.selection import (
    positive_number,
    resolve_common,
    resolve_quantities,
    resolve_targets,
    split_names,
)
from autodiff_bench.targets import Target, all_targets, check_size

#: Seconds a check cell (one derivative of one target from one backend, at every point) may
#: take before its worker is killed and the cell is ``timeout``.
DEFAULT_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class CheckPlan:
    """A resolved, validated selection for ``check`` (and ``show``)."""

    targets: list[Target]
    backends: list[BackendSpec]
    quantities: list[str] | None
    points: int = 2
    seed: int = 0
    dtype: str = "float64"
    size: int | None = None
    device: str = "cpu"
    require: list[str] = field(default_factory=list)
    tolerances: Tolerances = field(default_factory=Tolerances.default)
    #: User targets files, re-imported by worker processes.
    target_files: tuple[str, ...] = ()
    #: User backends files (``--backends-file``), re-imported by worker processes.
    backend_files: tuple[str, ...] = ()
    #: Seconds one cell may take before its worker is killed (``--timeout``).
    timeout_s: float = DEFAULT_TIMEOUT_S
    #: Whether the targets' stress points (their tails) join the canonical ones.
    stress: bool = False
    #: The label of the backend that targets without closed forms are judged against
    #: (``--reference``); None: the AD backends' agreement.
    reference: str | None = None
    #: Whether ``--reference`` named a backend outside ``--backends`` (added to them).
    reference_added: bool = False

    def tolerance(
        self, target: Target, quantity: str, backend: Any, dtype: str | None = None
    ) -> tuple[float, float]:
        """(rtol, atol) of one cell: ``backend``'s tolerance class, the target's and the
        config's overrides, in ``dtype`` (the run's unless given)."""
        return self.tolerances.lookup(
            dtype or self.dtype,
            derivative_order(quantity),
            finite=backend.tolerance_class == "finite",
            target=target.name,
            quantity=quantity,
            target_overrides=target.tolerances,
        )

    def quantities_of(self, target: Target) -> list[str]:
        """The selected quantities this target has closed forms for."""
        return [q for q in target.quantities if self.quantities is None or q in self.quantities]

    def as_dict(self) -> dict[str, Any]:
        """The resolved selection, for the JSON ``config`` field."""
        return {
            "targets": [t.name for t in self.targets],
            "backends": [b.label for b in self.backends],
            "quantities": self.quantities,
            "points": self.points,
            "seed": self.seed,
            "dtype": self.dtype,
            "size": self.size,
            "device": self.device,
            "require": self.require,
            "timeout_s": self.timeout_s,
            "stress": self.stress,
            "reference": self.reference,
        }


def resolve_reference(name: str | None, backends: list[BackendSpec]) -> tuple[str | None, bool]:
    """The label of ``--reference`` and whether it had to be added to ``backends`` (which
    it then is, at the end): an unknown backend is a :class:`UsageError` with a suggestion,
    and ``manual`` is refused (it is the closed forms, which such a target lacks)."""
    if name is None:
        return None, False
    if not isinstance(name, str) or name in ("all", "all-modes") or "," in name:
        raise UsageError(f"--reference takes one backend, not '{name}'", "e.g. --reference jax")
    spec = parse_backend(name)
    if spec.name == "manual":
        raise UsageError(
            "--reference manual names the closed forms, which a target without them lacks",
            "name an AD backend, e.g. --reference jax",
        )
    if spec not in backends:
        backends.append(spec)
        return spec.label, True
    return spec.label, False


def resolve_tolerances(config: ConfigFile) -> Tolerances:
    """The default tables with a config's ``[tolerances]`` laid over them."""
    base = Tolerances.default()
    if not config.tolerances:
        return base
    for name, table in config.tolerances["target"].items():
        target = all_targets().get(name)
        where = f"config '{config.path}': [tolerances.target.{name}]"
        if target is None:
            raise unknown_name("target", name, all_targets(), where=f"in {where}")
        for q in table:
            if q not in target.quantities:
                raise UsageError(
                    f"{where}: '{name}' has no quantity '{q}'",
                    f"it has {', '.join(target.quantities)}",
                )
    ad = {d: {**base.ad[d], **config.tolerances["ad"].get(d, {})} for d in DTYPES}
    finite = {d: {**base.finite[d], **config.tolerances["finite"].get(d, {})} for d in DTYPES}
    return Tolerances(ad, finite, config.tolerances["target"])


def resolve_check_plan(
    config: ConfigFile,
    *,
    targets: list[str] | None = None,
    backends: list[str] | None = None,
    quantities: list[str] | None = None,
    points: int | None = None,
    seed: int | None = None,
    dtype: str | None = None,
    size: int | None = None,
    device: str | None = None,
    require: list[str] | None = None,
    target_files: tuple[str, ...] = (),
    timeout: float | None = None,
    backend_files: tuple[str, ...] = (),
    stress: bool | None = None,
    reference: str | None = None,
) -> CheckPlan:
    """Merge command line over config over defaults, validating every value."""
    sec = config.section("check")
    plan_quantities = resolve_quantities(pick(split_names(quantities), sec, "quantities", []))
    plan_targets = resolve_targets(pick(split_names(targets), sec, "targets", []), plan_quantities)
    plan_backends = parse_backends(pick(split_names(backends), sec, "backends", ["all"]))
    n_points = pick(points, sec, "points", 2)
    if n_points < 0:
        raise UsageError(f"--points must be 0 or more, not {n_points}", "try --points 2")
    plan_seed, plan_dtype, plan_device = resolve_common(
        sec, plan_targets, plan_quantities, seed=seed, dtype=dtype, device=device
    )
    plan_size = pick(size, sec, "size", None)
    check_size(
        plan_size,
        plan_targets,
        with_hessian=plan_quantities is None or "hessian" in plan_quantities,
    )
    required = pick(split_names(require), sec, "require", [])
    known = all_backends()
    for name in required:
        if name.partition(":")[0] not in known:
            raise unknown_name("backend", name, known)
    plan_timeout = positive_number(
        "--timeout", pick(timeout, sec, "timeout", DEFAULT_TIMEOUT_S), "try --timeout 60"
    )
    named = pick(reference, sec, "reference", None)
    plan_reference, added = resolve_reference(named, plan_backends)
    return CheckPlan(
        reference=plan_reference,
        reference_added=added,
        stress=bool(pick(stress, sec, "stress", False)),
        timeout_s=float(plan_timeout),
        targets=plan_targets,
        backends=plan_backends,
        quantities=plan_quantities,
        points=n_points,
        seed=plan_seed,
        dtype=plan_dtype,
        size=plan_size,
        device=plan_device,
        require=required,
        tolerances=resolve_tolerances(config),
        target_files=tuple(str(f) for f in target_files),
        backend_files=tuple(str(Path(f).resolve()) for f in backend_files),
    )
