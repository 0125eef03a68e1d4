"""Shared fixtures: which frameworks are installed, and running the real command line."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FRAMEWORKS = ("torch", "tensorflow", "jax", "autograd")


def installed(module: str) -> bool:
    """Whether a framework is importable (found without importing it)."""
    return importlib.util.find_spec(module) is not None


def needs(module: str) -> pytest.MarkDecorator:
    """Skip unless ``module`` is installed."""
    return pytest.mark.skipif(not installed(module), reason=f"{module} is not installed")


@dataclass
class Run:
    """What a command printed and its exit code."""

    code: int
    out: str
    err: str


def adbench(*args: str, timeout: float = 600, env: dict[str, str | None] | None = None) -> Run:
    """Run the real ``adbench`` command (``python -m autodiff_bench``) in a subprocess.

    ``NO_COLOR`` is set unless ``env`` maps it to None (None unsets a variable)."""
    merged: dict[str, str | None] = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    full_env = {k: v for k, v in merged.items() if v is not None}
    proc = subprocess.run(
        [sys.executable, "-m", "autodiff_bench", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=full_env,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """Call the console entry point in-process: ``cli('check', ...) -> Run``."""
    from autodiff_bench.cli import main

    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")

    def run(*args: str) -> Run:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exc:
            main(list(args))
        captured = capsys.readouterr()
        code = exc.value.code
        return Run(code if isinstance(code, int) else 0, captured.out, captured.err)

    return run
