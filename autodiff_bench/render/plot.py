"""The scaling plot of ``time --plot``: log-log seconds per call against size, one line per
backend, one panel per quantity (a row of panels per target).  Drawn with matplotlib's Agg
backend, so no display is needed; matplotlib is imported only here, only when asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autodiff_bench.errors import UsageError
from autodiff_bench.model import check_output_path, replace_atomically

_INSTALL = "pip install 'adbench[plot]'"


def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError as exc:
        raise UsageError("--plot needs matplotlib, which is not installed", _INSTALL) from exc
    matplotlib.use("Agg")  # no display: the figure only ever goes to a file
    return matplotlib


def supported_suffixes() -> list[str]:
    """File suffixes matplotlib can write here (``png``, ``pdf``, ``svg``, ...)."""
    _matplotlib()
    from matplotlib.backend_bases import FigureCanvasBase

    return sorted(FigureCanvasBase.get_supported_filetypes())


def check_plot_path(path: str | Path) -> Path:
    """Refuse, before any timing, a plot path whose folder is missing or whose suffix
    matplotlib cannot write."""
    p = check_output_path(path)
    suffix = p.suffix.lower().lstrip(".")
    kinds = supported_suffixes()
    if suffix not in kinds:
        shown = f"'.{suffix}'" if suffix else "no suffix"
        raise UsageError(
            f"--plot '{p}': matplotlib cannot write {shown}",
            f"use one of .{', .'.join(kinds)}",
        )
    return p


def plot_scaling(report: Any, path: str | Path) -> Path:
    """Draw ``report`` (a :class:`~autodiff_bench.timing.TimeReport`) to ``path``, atomically.

    Scalar targets have no size and are left out; each line's legend entry carries its fitted
    growth exponent.
    """
    _matplotlib()
    import matplotlib.pyplot as plt

    p = check_plot_path(path)
    targets = [t for t in report.plan.targets if not t.is_scalar]
    if not targets:
        raise UsageError("--plot needs a vector target: scalar targets have no size")
    quantities = list(dict.fromkeys(q for t in targets for q in report.plan.quantities_of(t)))
    nrows, ncols = len(targets), len(quantities)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.6 * ncols + 1.2, 3.2 * nrows + 0.6), squeeze=False
    )
    styles = {label: i for i, label in enumerate(report.columns())}
    cmap = plt.get_cmap("tab10")
    for row, target in enumerate(targets):
        for col, quantity in enumerate(quantities):
            ax = axes[row][col]
            drawn = False
            for label in report.columns():
                recs = [
                    r
                    for r in report.records
                    if r.target == target.name
                    and r.quantity == quantity
                    and r.label == label
                    and r.status == "pass"
                    and r.median_s
                ]
                if not recs:
                    continue
                recs.sort(key=lambda r: r.size)
                fit = report.fit(target.name, quantity, label)
                name = label if fit is None else f"{label} (n^{fit.exponent:.2f})"
                i = styles[label]
                ax.errorbar(
                    [r.size for r in recs],
                    [r.median_s for r in recs],
                    # Whiskers: half the IQR either side of the median (kept above zero for log).
                    yerr=[
                        [min(r.iqr_s or 0, r.median_s) / 2 for r in recs],
                        [(r.iqr_s or 0) / 2 for r in recs],
                    ],
                    marker="os^vDPX*<>"[i % 10],
                    linestyle="--" if label == "manual" else "-",
                    color="black" if label == "manual" else cmap(i % 10),
                    capsize=2,
                    label=name,
                )
                drawn = True
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(f"{target.name}: {'f' if quantity == 'primal' else quantity}")
            ax.set_xlabel("size n")
            if col == 0:
                ax.set_ylabel("seconds per call (median)")
            ax.grid(True, which="both", alpha=0.25)
            if drawn:
                ax.legend(fontsize="x-small")
            else:
                ax.text(0.5, 0.5, "not measured", ha="center", va="center", transform=ax.transAxes)
    fig.suptitle(
        f"adbench time: seconds per call vs size ({report.plan.dtype}, "
        f"{report.plan.threads} thread{'s' * (report.plan.threads != 1)})"
    )
    fig.tight_layout()
    try:
        fmt = p.suffix.lower().lstrip(".")
        replace_atomically(p, lambda tmp: fig.savefig(tmp, dpi=110, format=fmt), p.suffix)
    finally:
        plt.close(fig)
    return p


__all__ = ["check_plot_path", "plot_scaling", "supported_suffixes"]
