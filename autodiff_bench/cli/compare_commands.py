"""``adbench compare``: the CI regression gate."""

from pathlib import Path
from typing import Annotated

import typer

from autodiff_bench.cli.common import FormatOpt, OutputOpt, app, emit, parse_format


@app.command()
def compare(
    base: Annotated[
        Path,
        typer.Argument(
            metavar="BASE.json",
            help="The baseline: JSON from adbench check, time or train, or a folder of runs.",
        ),
    ],
    new: Annotated[
        Path,
        typer.Argument(
            metavar="NEW.json", help="The run to judge: JSON of the same command, or a folder."
        ),
    ],
    metric: Annotated[
        str,
        typer.Option(
            "--metric",
            "-m",
            help="Timing metric: median_s, or the machine-independent ratio_to_primal or "
            "ratio_to_manual.",
        ),
    ] = "median_s",
    max_slowdown: Annotated[
        float,
        typer.Option(
            "--max-slowdown", help="A cell is slower only past this factor (and the noise)."
        ),
    ] = 1.25,
    alpha: Annotated[
        float,
        typer.Option("--alpha", help="Significance level of the one-sided slowdown test."),
    ] = 0.01,
    fmt: FormatOpt = "table",
    output: OutputOpt = None,
) -> int:
    """Compare two result files: correctness regressions always fail; slowdowns fail past
    --max-slowdown only when the samples show they are beyond the noise.

    A folder stands for several runs (every *.json in it): their samples are pooled, and a
    slowdown must then show in every run.  Exit 0 when nothing regressed, 1 on a
    regression, 2 on bad input.
    """
    from autodiff_bench.compare import compare_files
    from autodiff_bench.model import check_output_path
    from autodiff_bench.render.compare import CompareRenderer

    fmt = parse_format(fmt)
    if output is not None:
        check_output_path(output)
    result = compare_files(base, new, metric=metric, max_slowdown=max_slowdown, alpha=alpha)
    emit(CompareRenderer(result), fmt, output)
    return result.exit_code
