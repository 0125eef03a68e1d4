"""``adbench train``: the optimisation lessons, with gradients from any backend."""

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from autodiff_bench.cli.common import (
    BackendsOpt,
    DeviceOpt,
    DtypeOpt,
    FormatOpt,
    OutputOpt,
    app,
    check_outputs,
    emit_run,
    parse_format,
    partial_path,
    progress_bar,
    sigterm_interrupts,
)


@app.command("train")
def train_command(
    workload: Annotated[
        str, typer.Argument(help="A workload: linreg, dosage, sin_target, logistic, ...")
    ],
    backends: BackendsOpt = None,
    optimizer: Annotated[
        list[str] | None,
        typer.Option(
            "--optimizer", help="sgd, momentum or adam (comma list; default: the lesson's)."
        ),
    ] = None,
    lr: Annotated[
        str | None, typer.Option("--lr", help="Learning rate (default: the lesson's).")
    ] = None,
    steps: Annotated[int | None, typer.Option("--steps", help="Updates in all.")] = None,
    epochs: Annotated[int | None, typer.Option("--epochs", help="Passes over the data.")] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", help="Samples per step (default: the lesson's).")
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed of the data and initial parameters.")
    ] = None,
    dtype: DtypeOpt = None,
    device: DeviceOpt = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Seconds one backend's run may take (1800).")
    ] = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Draw loss vs step to this file.")
    ] = None,
    targets_file: Annotated[
        list[Path] | None,
        typer.Option("--targets-file", help="A Python file registering your own workloads."),
    ] = None,
    fmt: FormatOpt = "table",
    output: OutputOpt = None,
    save_baseline: Annotated[
        Path | None, typer.Option("--save-baseline", help="Also write the JSON here.")
    ] = None,
) -> int:
    """Train WORKLOAD with gradients from each backend (same data, same initial parameters,
    one optimizer implementation), and compare trajectories and time per step with the
    closed-form gradient's.

    Exit 0 when every trajectory agrees, 1 when one parts, diverges, errs or times out,
    2 on bad input, 130 when interrupted.
    """
    from autodiff_bench.train import build_settled_report, resolve_train_plan, run_train

    fmt = parse_format(fmt)
    check_outputs(output, save_baseline, plot=plot)
    plan = resolve_train_plan(
        workload,
        backends=backends,
        optimizers=optimizer,
        lr=lr,
        steps=steps,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        dtype=dtype,
        device=device,
        timeout=timeout,
        workload_files=[str(p) for p in targets_file or []],
    )
    with progress_bar(len(plan.cells()), "training") as (advance, stage), sigterm_interrupts():
        outcome = run_train(plan, lambda cell, raw: advance(None), stage)

    def in_float64(wide: Any) -> Any:  # float32 trajectories parted: float32's round-off?
        title = "parted in float32: training again in float64"
        with progress_bar(len(wide.cells()), title) as (again, stage), sigterm_interrupts():
            return run_train(wide, lambda cell, raw: again(None), stage)

    report = build_settled_report(plan, outcome, in_float64)
    from autodiff_bench.render.train import TrainRenderer, plot_losses

    written = emit_run(TrainRenderer(report), fmt, output, save_baseline, report.interrupted)
    if plot is not None and report.records:
        written.append(plot_losses(report, partial_path(plot) if report.interrupted else plot))
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
    return report.exit_code
