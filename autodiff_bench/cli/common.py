"""What every command shares: the app, option types, error reporting and output."""

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    name="adbench",
    help="Compare automatic-differentiation backends: is this derivative right, and what "
    "does it cost?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        from autodiff_bench import __version__

        print(f"adbench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Compare automatic-differentiation backends: is this derivative right, and what does
    it cost?"""


# ---- option types shared by the commands ------------------------------------------------

TargetsOpt = Annotated[
    list[str] | None,
    typer.Option("--targets", "-t", help="Targets, comma-separated or repeated ('all')."),
]
BackendsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--backends",
        "-b",
        help="Backends as name or name:mode, comma-separated ('all', 'all-modes').",
    ),
]
QuantitiesOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--quantities", "-q", help="d1..d4, grad, hessian, hvp, jacobian, jvp, vjp (default: all)."
    ),
]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="A TOML run configuration (configs/).")
]
FormatOpt = Annotated[str, typer.Option("--format", "-f", help="table, json, csv or markdown.")]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write the output to this file.")
]
DtypeOpt = Annotated[str | None, typer.Option("--dtype", help="float64 or float32.")]
DeviceOpt = Annotated[str | None, typer.Option("--device", help="cpu or cuda.")]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Seed of the random points.")]
TargetsFileOpt = Annotated[
    list[Path] | None,
    typer.Option("--targets-file", help="A Python file registering your own targets."),
]


def parse_format(fmt: str) -> str:
    """Validate ``--format``."""
    from autodiff_bench.errors import unknown_name
    from autodiff_bench.render import FORMATS

    if fmt not in FORMATS:
        raise unknown_name("format", fmt, FORMATS)
    return fmt


BackendsFileOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--backends-file", help="A Python file defining your own backends (Backend subclasses)."
    ),
]


def check_outputs(*paths: Path | None, plot: Path | None = None) -> None:
    """Refuse, before any work, an output file (``--output``, ``--save-baseline``) or a
    ``--plot`` file that could not be written."""
    from autodiff_bench.model import check_output_path

    for path in paths:
        if path is not None:
            check_output_path(path)
    if plot is not None:
        from autodiff_bench.render.plot import check_plot_path

        check_plot_path(plot)


def load_user_targets(files: list[Path] | None, backends_files: list[Path] | None = None) -> None:
    """Import every ``--backends-file`` (first: a targets file may use its backends), then
    every ``--targets-file``."""
    from autodiff_bench.backends import load_backends_file
    from autodiff_bench.targets import load_targets_file

    for f in backends_files or []:
        load_backends_file(f)
    for f in files or []:
        load_targets_file(f)


def emit(renderer: Any, fmt: str, output: Path | None) -> None:
    """Render one result in ``fmt`` and deliver it: a table goes straight to the terminal,
    anything else (or a table into ``output``) as text."""
    from autodiff_bench.render import make_console

    if fmt == "table" and output is None:
        renderer.table(make_console())
        return
    deliver(renderer.render(fmt), output, renderer.summary())


def emit_run(
    renderer: Any, fmt: str, output: Path | None, baseline: Path | None, interrupted: bool
) -> list[Path]:
    """Deliver a run's result, and its JSON to ``baseline``; an interrupted run writes to
    ``NAME.partial.EXT`` instead, so a partial result never replaces a good one.  Returns
    the baseline path written (if any)."""
    from autodiff_bench.model import dumps, write_atomic

    def target(path: Path) -> Path:
        return partial_path(path) if interrupted else path

    written = []
    if baseline is not None:
        write_atomic(target(baseline), dumps(renderer.document()))
        written.append(target(baseline))
    emit(renderer, fmt, None if output is None else target(output))
    return written


def partial_path(path: Path) -> Path:
    """Where an interrupted run writes what a complete run would write to ``path``
    (``base.json`` → ``base.partial.json``)."""
    return path.with_name(f"{path.stem}.partial{path.suffix}")


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Treat SIGTERM (a CI job cancelled, ``kill``) like Ctrl-C: stop and keep the results."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def deliver(text: str, output: Path | None, summary: str | None = None) -> None:
    """Write ``text`` to ``output`` atomically (and the summary to stderr), or to stdout."""
    from autodiff_bench.model import write_atomic

    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    write_atomic(output, text)
    if summary:
        print(summary, file=sys.stderr)
    print(f"wrote {output}", file=sys.stderr)


@contextlib.contextmanager
def progress_bar(
    total: int, verb: str
) -> Iterator[tuple[Callable[[str | None], None], Callable[[str], None]]]:
    """A transient bar with ETA on stderr, only when stderr is a terminal.

    Yields ``(advance, stage)``: ``advance(what)`` counts one cell done (and says what it
    was, if given); ``stage(what)`` says what is under way (loading a framework...).
    """
    if not sys.stderr.isatty():
        yield (lambda what: None), (lambda what: None)
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from autodiff_bench.render import make_console

    with Progress(
        TextColumn("{task.description:<42}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(),
        console=make_console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task(verb, total=total)

        def advance(what: str | None) -> None:
            if what is None:
                progress.update(task, advance=1)
            else:
                progress.update(task, advance=1, description=f"{verb} {what}"[:42])

        yield advance, (lambda what: progress.update(task, description=f"{verb} {what}"[:42]))
