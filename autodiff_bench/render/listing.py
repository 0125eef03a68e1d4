"""``adbench list``: the registries as tables (targets, backends, workloads).

Nothing here imports a framework: versions come from package metadata, availability from
the import system's finders."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

#: What ``adbench list`` can show.
LISTS = ("targets", "backends", "workloads", "all")


def print_lists(console: Console, what: str = "all") -> None:
    """Print the tables ``what`` names (one of :data:`LISTS`) on ``console``."""
    from rich.table import Table

    if what in ("targets", "all"):
        from autodiff_bench.targets import all_targets

        table = Table(title="targets", title_justify="left")
        for col in ("id", "f", "quantities", "notes"):
            table.add_column(col)
        for t in all_targets().values():
            outside = "" if t.default_suite else " (only with --targets or --quantities)"
            table.add_row(t.name, t.formula, " ".join(t.quantities), t.description + outside)
        console.print(table)
    if what in ("backends", "all"):
        from autodiff_bench.backends import BROKEN_PLUGINS, all_backends

        table = Table(title="backends", title_justify="left", show_lines=True)
        for col in ("id", "modes", "version", "status", "what (per mode: the API per quantity)"):
            table.add_column(col)
        for name, cls in all_backends().items():
            available = cls.is_available()
            version = cls.version() or ("builtin" if cls.module is None else "—")
            status = "available" if available else f"unavailable: {cls.install_hint}"
            table.add_row(name, ", ".join(cls.modes), version, status, cls.summary())
        for name, reason in BROKEN_PLUGINS.items():
            table.add_row(name, "—", "—", f"unavailable: plugin {reason}", "a broken plugin")
        console.print(table)
    if what in ("workloads", "all"):
        from autodiff_bench.train import all_workloads

        table = Table(title="workloads (adbench train WORKLOAD)", title_justify="left")
        for col in ("id", "lesson", "optimizers", "schedule", "closed-form gradient"):
            table.add_column(col)
        for w in all_workloads().values():
            batch = "full batch" if w.batch_size is None else f"batch {w.batch_size}"
            schedule = f"{w.steps} steps" if w.steps is not None else f"{w.epochs} epochs, {batch}"
            optimizers = ", ".join(o.label for o in w.optimizers)
            table.add_row(w.name, w.lesson, optimizers, schedule, w.grad_text or "—")
        console.print(table)


__all__ = ["LISTS", "print_lists"]
