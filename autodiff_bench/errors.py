"""Errors the command line turns into a one-line message and exit code 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UsageError(Exception):
    """Bad usage or bad input: printed as one line with a hint, exit code 2, no traceback."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


def unknown_name(kind: str, name: str, choices: Iterable[str], where: str = "") -> UsageError:
    """An error for an unknown id that suggests the closest known one (``where``, if given,
    follows the name: "unknown mode 'x' of backend 'jax'")."""
    known = sorted(choices)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'?" if close else f"choose from: {', '.join(known)}"
    return UsageError(f"unknown {kind} '{name}'{' ' + where if where else ''}", hint)
