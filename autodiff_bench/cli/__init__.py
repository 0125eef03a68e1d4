"""The ``adbench`` command line: thin typer commands that parse, call an engine, render and
pick an exit code.  Engines and frameworks are imported inside the commands, so
``adbench --help`` stays fast.

The command modules leave ``from __future__ import annotations`` out on purpose: typer reads
every option's annotation with ``typing.get_type_hints``, which compiles a string annotation
anew at each start (about 20 ms of ``adbench --help`` and ``adbench list``); evaluated once
at definition they cost nothing more.

The typer application is built on first use (:func:`command_app`, or ``cli.app``): a plain
``adbench list`` [``targets``|``backends``|``workloads``|``all``], which has nothing to
parse, prints its tables without importing typer (about 45 ms of its 0.2 s budget), and a
worker process that re-imports the entry module pays nothing for the command line.
"""

import os
import sys
import warnings
from typing import Any


def command_app() -> Any:
    """The typer application, with every command module's commands added."""
    from autodiff_bench.cli.common import app

    # Each module adds its commands to ``app`` (one registration line per command module).
    from autodiff_bench.cli import check_commands  # noqa: F401  isort: skip
    from autodiff_bench.cli import time_commands  # noqa: F401  isort: skip
    from autodiff_bench.cli import compare_commands  # noqa: F401  isort: skip
    from autodiff_bench.cli import train_commands  # noqa: F401  isort: skip

    return app


def __getattr__(name: str) -> Any:
    if name == "app":
        return command_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script: exit 0 good, 1 findings, 2 bad usage.

    Python warnings (NumPy's overflow notices from a closed form at an extreme point, a
    framework's deprecations) never reach the terminal: what matters is in the report.
    ``ADBENCH_SHOW_FRAMEWORK_LOGS=1`` shows them."""
    with warnings.catch_warnings():
        if not os.environ.get("ADBENCH_SHOW_FRAMEWORK_LOGS"):
            warnings.simplefilter("ignore")
        args = sys.argv[1:] if argv is None else list(argv)
        if _plain_list(args):
            sys.exit(_list_without_typer(args[1] if len(args) > 1 else "all"))
        _run(args)


def _plain_list(args: list[str]) -> bool:
    """Whether ``args`` is ``list`` with at most a list's name: no option to parse."""
    if not args or args[0] != "list" or len(args) > 2:
        return False
    from autodiff_bench.render.listing import LISTS

    return len(args) == 1 or args[1] in LISTS


def _list_without_typer(what: str) -> int:
    """``adbench list [WHAT]`` as its typer command prints it."""
    from autodiff_bench.errors import UsageError
    from autodiff_bench.render import make_console
    from autodiff_bench.render.listing import print_lists

    try:
        print_lists(make_console(), what)
    except UsageError as exc:  # a plugin that takes a built-in's name, say
        return fail(str(exc))
    except KeyboardInterrupt:
        return fail("interrupted", code=130)
    return 0


def fail(message: str, code: int = 2) -> int:
    """Print a one-line error to stderr and return the exit code (2: bad usage)."""
    print(f"adbench: error: {message}", file=sys.stderr)
    return code


def _run(argv: list[str]) -> None:
    from autodiff_bench.errors import UsageError

    try:
        code = command_app()(args=argv, prog_name="adbench", standalone_mode=False)
    except UsageError as exc:
        code = fail(str(exc))
    except KeyboardInterrupt:
        code = fail("interrupted", code=130)
    except Exception as exc:
        # typer's parser errors (its own or click's, depending on the typer version) carry
        # exit_code 2 and format_message(); print them as one line, not a framed box.
        name = type(exc).__name__
        if name == "NoArgsIsHelpError":
            ctx = getattr(exc, "ctx", None)
            print(ctx.get_help() if ctx is not None else exc.format_message())  # type: ignore[attr-defined]
            code = 0
        elif name == "Abort":
            code = fail("interrupted", code=130)
        elif getattr(exc, "exit_code", None) == 2 and hasattr(exc, "format_message"):
            ctx = getattr(exc, "ctx", None)
            where = ctx.command_path if ctx is not None else "adbench"
            code = fail(f"{exc.format_message()} (see '{where} --help')")
        else:
            raise
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["app", "main"]
