"""``adbench time``: honest timing of f, the closed form and every backend's derivative."""

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from autodiff_bench.cli.common import (
    BackendsFileOpt,
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
    check_outputs,
    emit_run,
    load_user_targets,
    parse_format,
    partial_path,
    progress_bar,
    sigterm_interrupts,
)


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
    backends_file: BackendsFileOpt = None,
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
    from autodiff_bench.timing import resolve_time_plan, run_time

    fmt = parse_format(fmt)
    check_outputs(output, save_baseline, plot=plot)
    cfg = load_config(config)
    load_user_targets(targets_file, backends_file)
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
        backends_files=[str(p) for p in backends_file or []],
    )
    if plot is not None and all(t.is_scalar for t in plan.targets):
        raise UsageError("--plot needs a vector target: scalar targets have no size")
    with progress_bar(len(plan.cells()), "timing") as (advance, stage), sigterm_interrupts():
        report = run_time(plan, lambda record: advance(None), stage)
    _emit_time(report, fmt, output, save_baseline, plot)
    return report.exit_code


def _emit_time(
    report: Any, fmt: str, output: Path | None, baseline: Path | None, plot: Path | None
) -> None:
    from autodiff_bench.render.time import TimeRenderer

    written = emit_run(TimeRenderer(report), fmt, output, baseline, report.interrupted)
    if plot is not None and report.records:
        from autodiff_bench.render.plot import plot_scaling

        written.append(plot_scaling(report, partial_path(plot) if report.interrupted else plot))
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
