"""Selections every command resolves alike: comma lists, targets, quantities, and the
seed, dtype and device (command line over config over defaults, each validated)."""

from __future__ import annotations

import math
from typing import Any

from autodiff_bench.config import pick
from autodiff_bench.correctness import DTYPES
from autodiff_bench.errors import UsageError, unknown_name
from autodiff_bench.quantities import QUANTITIES
from autodiff_bench.targets import Target, all_targets, get_target

DEVICES = ("cpu", "cuda")


def split_names(values: list[str] | None) -> list[str] | None:
    """Comma lists from repeated options, flattened (None when not given)."""
    if values is None:
        return None
    return [s.strip() for v in values for s in v.split(",") if s.strip()]


def resolve_targets(names: list[str], quantities: list[str] | None = None) -> list[Target]:
    """Target names (or ``all``) to targets, unknown names refused with a suggestion.

    No names (or ``default``) is the default suite: the targets marked ``default_suite``,
    and the others that have one of the selected ``quantities`` (``-q jacobian`` alone
    checks the vector functions)."""
    if names == ["all"]:
        return list(all_targets().values())
    if not names or names == ["default"]:
        return [
            t
            for t in all_targets().values()
            if t.default_suite or (quantities and any(q in t.quantities for q in quantities))
        ]
    return [get_target(n) for n in dict.fromkeys(names)]


def resolve_quantities(names: list[str]) -> list[str] | None:
    """Quantity names (or ``all``); None means every quantity."""
    if not names or names == ["all"]:
        return None
    for q in names:
        if q not in QUANTITIES:
            raise unknown_name("quantity", q, QUANTITIES)
    return list(dict.fromkeys(names))


def resolve_common(
    sec: dict[str, Any],
    targets: list[Target],
    quantities: list[str] | None,
    *,
    seed: int | None,
    dtype: str | None,
    device: str | None,
    also: tuple[str, ...] = (),
) -> tuple[int, str, str]:
    """What ``check`` and ``time`` validate alike: that some target has the selected
    quantities (or one of ``also``), and the seed, dtype and device; returns the last three."""
    if quantities is not None and not any(
        q in t.quantities or q in also for t in targets for q in quantities
    ):
        raise UsageError(
            f"no selected target has the quantities {', '.join(quantities)}",
            "see 'adbench list targets'",
        )
    plan_seed = pick(seed, sec, "seed", 0)
    if plan_seed < 0:
        raise UsageError(f"--seed must be 0 or more, not {plan_seed}", "try --seed 0")
    plan_dtype = pick(dtype, sec, "dtype", "float64")
    if plan_dtype not in DTYPES:
        raise unknown_name("dtype", plan_dtype, DTYPES)
    plan_device = pick(device, sec, "device", "cpu")
    if plan_device not in DEVICES:
        raise unknown_name("device", plan_device, DEVICES)
    return plan_seed, plan_dtype, plan_device


def positive_number(name: str, value: float, hint: str) -> float:
    """``value`` if it is a finite number above 0 (UsageError naming ``name`` otherwise)."""
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise UsageError(f"{name} must be a positive number, not {value}", hint)
    return value
