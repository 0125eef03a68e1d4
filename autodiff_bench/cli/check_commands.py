"""``adbench list``, ``adbench show`` and ``adbench check``."""

import math
import os
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
    emit,
    emit_run,
    load_user_targets,
    parse_format,
    progress_bar,
    sigterm_interrupts,
)


@app.command("list")
def list_command(
    what: Annotated[str, typer.Argument(help="targets, backends, workloads or all.")] = "all",
    targets_file: TargetsFileOpt = None,
    backends_file: BackendsFileOpt = None,
) -> int:
    """List the targets (formula, quantities) and backends (version, availability)."""
    from autodiff_bench.errors import unknown_name
    from autodiff_bench.render import make_console
    from autodiff_bench.render.listing import LISTS, print_lists

    if what not in LISTS:
        raise unknown_name("list", what, LISTS)
    load_user_targets(targets_file, backends_file)
    print_lists(make_console(), what)
    return 0


@app.command()
def check(
    targets: TargetsOpt = None,
    backends: BackendsOpt = None,
    quantities: QuantitiesOpt = None,
    points: Annotated[
        int | None, typer.Option("--points", help="Random points besides the canonical ones.")
    ] = None,
    seed: SeedOpt = None,
    dtype: DtypeOpt = None,
    size: Annotated[int | None, typer.Option("--size", help="Size of vector targets.")] = None,
    device: DeviceOpt = None,
    require: Annotated[
        list[str] | None,
        typer.Option("--require", help="Backends whose absence is a failure (exit 1)."),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            help="Frameworks checked at once, each in its own worker process "
            "(default: the number of CPUs).",
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            help="Seconds one cell (a quantity of a target from one backend, every point) "
            "may take before its worker is stopped (default 60).",
        ),
    ] = None,
    stress: Annotated[
        bool | None,
        typer.Option(
            "--stress/--no-stress",
            help="Also check the targets' stress points: the tails where closed forms and "
            "frameworks lose digits (logistic at z = ±30, tanh at x = ±10).",
        ),
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option(
            "--reference",
            help="The backend that targets without closed forms are judged against (added "
            "to --backends if missing); default: the agreement of the AD backends, "
            "cross-checked by finite. Targets with closed forms are judged against them.",
        ),
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
    """The correctness matrix: every derivative from every backend against the closed form
    (for a target without one: against --reference, or the AD backends' agreement).

    Each framework runs in its own worker process: a crash or hang costs only its cell.
    Exit 0 when every cell passes, 1 on a mismatch, NaN, error, timeout or missing required
    backend, 130 when interrupted (what was checked is kept).
    """
    from autodiff_bench.check import plan_cells, resolve_check_plan, run_check
    from autodiff_bench.config import load_config, pick
    from autodiff_bench.errors import UsageError

    fmt = parse_format(fmt)
    check_outputs(output, save_baseline)
    cfg = load_config(config)
    load_user_targets(targets_file, backends_file)
    plan = resolve_check_plan(
        cfg,
        targets=targets,
        backends=backends,
        quantities=quantities,
        points=points,
        seed=seed,
        dtype=dtype,
        size=size,
        device=device,
        require=require,
        target_files=tuple(str(f) for f in targets_file or ()),
        timeout=timeout,
        backend_files=tuple(str(f) for f in backends_file or ()),
        stress=stress,
        reference=reference,
    )
    n_jobs = pick(jobs, cfg.section("check"), "jobs", os.cpu_count() or 1)
    if n_jobs < 1:
        raise UsageError(f"--jobs must be 1 or more, not {n_jobs}", "try --jobs 2")
    cells = plan_cells(plan)
    seen: set[tuple[str, str, str]] = set()

    def progress(record: Any) -> None:
        cell = (record.target, record.quantity, record.label)
        if cell not in seen:  # the bar counts table cells, each one once
            seen.add(cell)
            advance(record.label)

    with progress_bar(len(cells), "checking") as (advance, _stage), sigterm_interrupts():
        report = run_check(plan, progress, jobs=n_jobs)
    _emit_check(report, fmt, output, save_baseline)
    return report.exit_code


def _emit_check(report: Any, fmt: str, output: Path | None, baseline: Path | None) -> None:
    from autodiff_bench.render.check import CheckRenderer

    for path in emit_run(CheckRenderer(report), fmt, output, baseline, report.interrupted):
        print(f"wrote {path}", file=sys.stderr)


def _parse_at(text: str, target: Any) -> float:
    from autodiff_bench.errors import UsageError

    try:
        x = float(text)
    except ValueError:
        raise UsageError(f"--at must be a number, not '{text}'", "e.g. --at 0.5") from None
    lo, hi = target.domain
    if not math.isfinite(x) or not lo <= x <= hi:
        raise UsageError(
            f"--at {text} is outside the domain of '{target.name}' ({lo:g} ≤ x ≤ {hi:g})",
            "pick a finite x inside the domain",
        )
    return x


@app.command()
def show(
    target: Annotated[str, typer.Argument(help="The target id (see 'adbench list').")],
    at: Annotated[str | None, typer.Option("--at", help="x for a scalar target.")] = None,
    size: Annotated[
        int | None, typer.Option("--size", help="Size of a random point (vector targets).")
    ] = None,
    seed: SeedOpt = None,
    backends: BackendsOpt = None,
    dtype: DtypeOpt = None,
    device: DeviceOpt = None,
    targets_file: TargetsFileOpt = None,
    backends_file: BackendsFileOpt = None,
    fmt: FormatOpt = "table",
    output: OutputOpt = None,
) -> int:
    """The formula, its closed forms, and every backend's value side by side at one point.

    A backend that cannot run on --device is shown as unavailable, with the reason."""
    import numpy as np

    from autodiff_bench.check import resolve_check_plan
    from autodiff_bench.config import EMPTY
    from autodiff_bench.errors import UsageError
    from autodiff_bench.model import check_output_path
    from autodiff_bench.render.show import ShowRenderer
    from autodiff_bench.show import run_show
    from autodiff_bench.targets import Point, get_target

    fmt = parse_format(fmt)
    if output is not None:
        check_output_path(output)
    load_user_targets(targets_file, backends_file)
    tgt = get_target(target)
    plan = resolve_check_plan(
        EMPTY,
        targets=[tgt.name],
        backends=backends,
        dtype=dtype,
        size=size,
        seed=seed,
        points=0,
        device=device,
    )
    if size is not None and tgt.is_scalar:
        raise UsageError(f"--size is for vector targets; '{tgt.name}' takes --at X")
    if at is not None:
        if not tgt.is_scalar:
            raise UsageError(f"--at is for scalar targets; '{tgt.name}' takes --size N")
        x = _parse_at(at, tgt)
        # A scalar target's constants (if any) come from its canonical point.
        params = tgt.canonical[0].params if tgt.canonical else {}
        point = Point(np.asarray(x, dtype=np.float64), dict(params), f"x={x:g}")
    elif size is not None or not tgt.canonical:
        n = size if size is not None else tgt.default_size
        p = tgt.sample(np.random.default_rng(plan.seed), n)
        point = Point(p.x, p.params, f"random (size {n}, seed {plan.seed})")
    else:
        point = tgt.canonical[0]
    result = run_show(plan, tgt, point)
    emit(ShowRenderer(result), fmt, output)
    return result.exit_code
