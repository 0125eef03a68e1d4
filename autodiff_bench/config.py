"""Run configurations: TOML files in ``configs/`` validated against a schema, merged with
command-line options (the command line wins).  Config files never execute code.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autodiff_bench.errors import UsageError

Validator = Callable[[Any], Any]


def _str_list(v: Any) -> list[str]:
    if isinstance(v, str):
        return [s.strip() for s in v.split(",") if s.strip()]
    if isinstance(v, list) and all(isinstance(s, str) for s in v):
        return list(v)
    raise TypeError("a string or a list of strings")


def _int_at_least(low: int) -> Validator:
    """An integer ≥ ``low`` (a range error names the key and the file like a type error)."""

    def check(v: Any) -> int:
        if isinstance(v, int) and not isinstance(v, bool) and v >= low:
            return v
        raise TypeError(f"an integer ≥ {low}")

    return check


def _positive_number(v: Any) -> float:
    if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0:
        return float(v)
    raise TypeError("a positive number")


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    raise TypeError("true or false")


def _fraction(v: Any) -> float:
    if isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < 1:
        return float(v)
    raise TypeError("a number in [0, 1)")


def _positive_int_list(v: Any) -> list[int]:
    if (
        isinstance(v, list)
        and v
        and all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in v)
    ):
        return list(v)
    raise TypeError("a non-empty list of positive integers")


def _str(v: Any) -> str:
    if isinstance(v, str):
        return v
    raise TypeError("a string")


def _sizes_table(v: Any) -> dict[str, list[int]]:
    if isinstance(v, dict) and all(isinstance(k, str) for k in v):
        try:
            return {k: _positive_int_list(sizes) for k, sizes in v.items()}
        except TypeError:
            pass
    raise TypeError("a table of target = [sizes]")


def _tolerance_pair(v: Any) -> tuple[float, float]:
    if (
        isinstance(v, list)
        and len(v) == 2
        and all(isinstance(x, (int, float)) and not isinstance(x, bool) and x >= 0 for x in v)
    ):
        return (float(v[0]), float(v[1]))
    raise TypeError("[rtol, atol], two non-negative numbers")


#: Section -> key -> validator.
SCHEMA: dict[str, dict[str, Validator]] = {
    "check": {
        "targets": _str_list,
        "backends": _str_list,
        "quantities": _str_list,
        "points": _int_at_least(0),
        "seed": _int_at_least(0),
        "dtype": _str,
        "size": _int_at_least(1),
        "device": _str,
        "require": _str_list,
        "jobs": _int_at_least(1),
        "timeout": _positive_number,
        "stress": _bool,
        "reference": _str,
    },
    # Declared here, not by the time engine, so that every command reading a shared file
    # (configs/ci.toml has [check] and [time]) knows it without importing that engine.
    "time": {
        "targets": _str_list,
        "backends": _str_list,
        "quantities": _str_list,
        "sizes": _positive_int_list,
        "target_sizes": _sizes_table,
        "dtype": _str,
        "device": _str,
        "threads": _int_at_least(1),
        "seed": _int_at_least(0),
        "budget": _positive_number,
        "min_samples": _int_at_least(1),
        "max_samples": _int_at_least(1),
        "settle": _fraction,
        "timeout": _positive_number,
    },
}


@dataclass(frozen=True)
class ConfigFile:
    """A validated configuration: its sections and the tolerance overrides."""

    path: str | None
    sections: dict[str, dict[str, Any]]
    tolerances: dict[str, Any]

    def section(self, name: str) -> dict[str, Any]:
        """The validated keys of one section (empty if absent)."""
        return self.sections.get(name, {})


EMPTY = ConfigFile(None, {}, {})


def load_config(path: str | Path | None) -> ConfigFile:
    """Read and validate a TOML config; every problem names the key and the file."""
    if path is None:
        return EMPTY
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UsageError(f"config '{p}' does not exist", "see the files in configs/") from exc
    except OSError as exc:
        raise UsageError(f"cannot read config '{p}': {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"config '{p}' is not valid TOML: {exc}", "fix the syntax") from exc
    sections: dict[str, dict[str, Any]] = {}
    tolerances: dict[str, Any] = {}
    for name, body in raw.items():
        if name == "tolerances":
            tolerances = _validate_tolerances(p, body)
            continue
        if name not in SCHEMA:
            raise UsageError(
                f"config '{p}': unknown section [{name}]",
                f"sections are {', '.join(sorted([*SCHEMA, 'tolerances']))}",
            )
        if not isinstance(body, dict):
            raise UsageError(f"config '{p}': '{name}' must be a [{name}] table")
        sections[name] = {}
        for key, value in body.items():
            if key not in SCHEMA[name]:
                raise UsageError(
                    f"config '{p}': unknown key '{name}.{key}'",
                    f"[{name}] takes {', '.join(sorted(SCHEMA[name]))}",
                )
            try:
                sections[name][key] = SCHEMA[name][key](value)
            except TypeError as exc:
                raise UsageError(
                    f"config '{p}': '{name}.{key}' must be {exc}, not {value!r}"
                ) from exc
    return ConfigFile(str(p), sections, tolerances)


def _validate_tolerances(p: Path, body: Any) -> dict[str, Any]:
    """``[tolerances.<dtype>]``, ``[tolerances.finite.<dtype>]`` with ``orderN = [rtol, atol]``;
    ``[tolerances.target.<name>]`` with ``<quantity> = [rtol, atol]``."""
    from autodiff_bench.correctness import DTYPES

    if not isinstance(body, dict):
        raise UsageError(f"config '{p}': 'tolerances' must be a table")
    out: dict[str, Any] = {"ad": {}, "finite": {}, "target": {}}

    def orders(where: str, table: Any) -> dict[int, tuple[float, float]]:
        if not isinstance(table, dict):
            raise UsageError(f"config '{p}': '{where}' must be a table")
        got = {}
        for key, value in table.items():
            if key not in {f"order{i}" for i in range(5)}:
                raise UsageError(f"config '{p}': unknown key '{where}.{key}'", "use order0..order4")
            try:
                got[int(key[5:])] = _tolerance_pair(value)
            except TypeError as exc:
                raise UsageError(f"config '{p}': '{where}.{key}' must be {exc}") from exc
        return got

    for key, value in body.items():
        if key in DTYPES:
            out["ad"][key] = orders(f"tolerances.{key}", value)
        elif key == "finite" and isinstance(value, dict):
            for dtype, table in value.items():
                if dtype not in DTYPES:
                    raise UsageError(
                        f"config '{p}': unknown key 'tolerances.finite.{dtype}'",
                        f"use {', '.join(DTYPES)}",
                    )
                out["finite"][dtype] = orders(f"tolerances.finite.{dtype}", table)
        elif key == "target" and isinstance(value, dict):
            for target, table in value.items():
                if not isinstance(table, dict):
                    raise UsageError(f"config '{p}': 'tolerances.target.{target}' must be a table")
                try:
                    out["target"][target] = {q: _tolerance_pair(v) for q, v in table.items()}
                except TypeError as exc:
                    raise UsageError(
                        f"config '{p}': 'tolerances.target.{target}' values must be {exc}"
                    ) from exc
        else:
            raise UsageError(
                f"config '{p}': unknown key 'tolerances.{key}'",
                f"use {', '.join(DTYPES)}, finite or target",
            )
    return out


def pick(cli_value: Any, section: dict[str, Any], key: str, default: Any) -> Any:
    """The command line's value if given, else the config's, else the default."""
    if cli_value is not None:
        return cli_value
    return section.get(key, default)
