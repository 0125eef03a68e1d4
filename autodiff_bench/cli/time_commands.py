"""``adbench time``: honest timing of f, the closed form and every backend's derivative."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from autodiff_bench.cli.common import (
    BackendsOpt,
    ConfigOpt,
    DeviceOpt,
    DtypeOpt,
    FormatOpt,
    OutputOpt,
    QuantitiesOpt,
    SeedOpt,
    TargetsFileOpt,
    TargetsOpt,
    app,
    emit,
    load_user_targets,
    parse_format,
    progress_bar,
)


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
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


def partial_path(path: Path) -> Path:
    """Where an interrupted run writes what a complete run would write to ``path``
    (``base.json`` → ``base.partial.json``): a partial baseline never replaces a good one."""
    return path.with_name(f"{path.stem}.partial{path.suffix}")


@app.command("time")
def time_command(
    targets: TargetsOpt = None,
    backends: BackendsOpt = None,
    quantities: QuantitiesOpt = None,
    sizes: Annotated[
        list[str] | None,
        typer.Option("--sizes", "-n", help="Sizes of vector targets, e.g. 10,100,1000."),
    ] = None,
    threads: Annotated[
        int | None, typer.Option("--threads", help="Threads for every framework (default 1).")
    ] = None,
    budget: Annotated[
        float | None,
        typer.Option("--budget", help="Warm sampling seconds per cell (default 0.1)."),
    ] = None,
    min_samples: Annotated[
        int | None, typer.Option("--min-samples", help="Samples always taken (default 5).")
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", help="Seconds a cell may take before it is a timeout (60)."),
    ] = None,
    seed: SeedOpt = None,
    dtype: DtypeOpt = None,
    device: DeviceOpt = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Draw time vs size (log-log) to this file.")
    ] = None,
    config: ConfigOpt = None,
    targets_file: TargetsFileOpt = None,
    fmt: FormatOpt = "table",
    output: OutputOpt = None,
    save_baseline: Annotated[
        Path | None, typer.Option("--save-baseline", help="Also write the JSON here.")
    ] = None,
) -> int:
    """Warm median, spread and cold first call of f, the manual derivative and each backend's
    derivative, with ratios to f and to manual; --sizes sweeps and fits time ∝ nᵏ.

    Each framework runs in its own process, one at a time. Exit 0 when every cell was
    measured, 1 on an error or timeout, 130 when interrupted (what was measured is kept).
    """
    from autodiff_bench.config import load_config
    from autodiff_bench.errors import UsageError
    from autodiff_bench.report import check_output_path
    from autodiff_bench.timerun import resolve_time_plan, run_time

    fmt = parse_format(fmt)
    for path in (output, save_baseline):
        if path is not None:
            check_output_path(path)
    if plot is not None:
        from autodiff_bench.render.plot import check_plot_path

        check_plot_path(plot)
    cfg = load_config(config)
    load_user_targets(targets_file)
    plan = resolve_time_plan(
        cfg,
        targets=targets,
        backends=backends,
        quantities=quantities,
        sizes=sizes,
        dtype=dtype,
        device=device,
        threads=threads,
        seed=seed,
        budget=budget,
        min_samples=min_samples,
        timeout=timeout,
        targets_files=[str(p) for p in targets_file or []],
    )
    if plot is not None and all(t.is_scalar for t in plan.targets):
        raise UsageError("--plot needs a vector target: scalar targets have no size")
    with progress_bar(len(plan.cells()), "timing") as (advance, stage), _sigterm_interrupts():
        report = run_time(plan, lambda record: advance(None), stage)
    _emit_time(report, fmt, output, save_baseline, plot)
    return report.exit_code


def _emit_time(
    report: Any, fmt: str, output: Path | None, baseline: Path | None, plot: Path | None
) -> None:
    from autodiff_bench.render import records_csv
    from autodiff_bench.render.time import (
        render_time_tables,
        summary_line,
        time_document,
        time_markdown,
    )
    from autodiff_bench.report import dumps, write_atomic

    def target(path: Path) -> Path:
        return partial_path(path) if report.interrupted else path

    written = []
    if baseline is not None:
        write_atomic(target(baseline), dumps(time_document(report)))
        written.append(target(baseline))
    if plot is not None and report.records:
        from autodiff_bench.render.plot import plot_scaling

        written.append(plot_scaling(report, target(plot)))
    emit(
        fmt,
        None if output is None else target(output),
        table=lambda console: render_time_tables(report, console),
        document=lambda: time_document(report),
        csv=lambda: records_csv(report.records),
        markdown=lambda: time_markdown(report),
        summary=summary_line(report),
    )
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
