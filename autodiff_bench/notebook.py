"""The notebook call: ``check_function(f, at=x, grad=...)`` — ``check`` on one function,
in this process, with the frameworks kept loaded between calls.

    >>> from autodiff_bench import check_function
    >>> report = check_function(lambda xp, x: xp.sum(x ** 3), at=[1.0, 2.0],
    ...                         grad=lambda xp, x: 3 * x ** 2, backends=["torch", "jax"])
    >>> report.ok
    True

It runs the engine of ``adbench check`` (``run_check(in_process=True)``): the same points,
tolerances, verdicts and closed-form suspect rule.  What it returns prints as the check
table in a terminal and renders as HTML in Jupyter.
"""

from __future__ import annotations

import inspect
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from autodiff_bench.errors import UsageError

if TYPE_CHECKING:
    import numpy as np

    from autodiff_bench.check import CheckReport
    from autodiff_bench.model import CheckRecord
    from autodiff_bench.targets import Point, Target
else:
    from autodiff_bench.lazy import numpy as np

#: Where a random point is drawn: ``at + SPREAD · max(1, |at|) · N(0, 1)`` per element.
SPREAD = 0.1


@dataclass
class FunctionReport:
    """What :func:`check_function` found: ``.ok``, ``.records`` (one per backend, quantity
    and point), ``.suspects``; ``print(report)`` shows the check table, Jupyter its HTML."""

    report: CheckReport

    @property
    def ok(self) -> bool:
        """Whether every checked value agreed with the closed form (exit code 0 of check)."""
        return self.report.exit_code == 0

    @property
    def records(self) -> list[CheckRecord]:
        """Every record: target, quantity, backend, point, status, errors, got/ref."""
        return self.report.records

    @property
    def suspects(self) -> list[Any]:
        """Quantities whose closed form is the suspect (AD backends agree against it)."""
        return self.report.suspects

    @property
    def summary(self) -> str:
        """The one-line verdict of ``adbench check``."""
        from autodiff_bench.render.check import summary_line

        return summary_line(self.report)

    def _render(self, *, html: bool) -> str:
        from rich.console import Console

        from autodiff_bench.render.check import CheckRenderer

        console = Console(
            file=io.StringIO(), record=True, width=160, highlight=False, soft_wrap=True
        )
        CheckRenderer(self.report).table(console)
        if html:
            return console.export_html(inline_styles=True, code_format="<pre>{code}</pre>")
        return console.export_text()

    def __str__(self) -> str:
        return self._render(html=False)

    def __repr__(self) -> str:
        return f"<FunctionReport ok={self.ok}: {self.summary}>"

    def _repr_html_(self) -> str:
        return self._render(html=True)


def _closed_form(quantity: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """A notebook closed form — ``(xp, x)`` or NumPy-only ``(x)``, plus ``v`` for hvp — as a
    target's ``(xp, x, params[, v])`` or ``(x, params[, v])``."""
    extra = 1 if quantity == "hvp" else 0
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        raise UsageError(
            f"the closed form given as {quantity}= has no readable signature",
            "pass a Python function",
        ) from None
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    required = sum(p.kind in kinds and p.default is p.empty for p in params)
    # The target's styles are told by their positional parameters: spell each one out.
    if required == 2 + extra:
        if extra:
            return lambda xp, x, p, v: fn(xp, x, v)
        return lambda xp, x, p: fn(xp, x)
    if required == 1 + extra:
        if extra:
            return lambda x, p, v: fn(x, v)
        return lambda x, p: fn(x)
    how = f"{quantity}=lambda xp, x{', v' if extra else ''}: ..."
    raise UsageError(
        f"the closed form given as {quantity}= takes {required} positional parameters",
        f"write it as {how} (or NumPy only: lambda x{', v' if extra else ''}: ...)",
    )


def _target(
    f: Callable[[Any, Any], Any], at: Any, closed: dict[str, Callable[..., Any]], name: str
) -> Target:
    from autodiff_bench.targets import Point, Target

    x0 = np.asarray(at, dtype=np.float64)
    if not np.all(np.isfinite(x0)):
        raise UsageError(f"at= must be finite numbers, not {at!r}", "e.g. at=[1.0, 2.0]")
    scale = SPREAD * np.maximum(1.0, np.abs(x0))
    if x0.ndim == 0:
        label = f"x={float(x0):g}"
    else:
        label = "at" if x0.size > 4 else "x=(" + ", ".join(f"{v:g}" for v in x0.ravel()) + ")"

    def sample(rng: np.random.Generator, size: int) -> Point:
        return Point(x0 + scale * rng.standard_normal(x0.shape), {}, "random")

    return Target(
        name=name,
        formula=getattr(f, "__name__", "f"),
        f=lambda xp, x, p: f(xp, x),
        closed_forms={q: _closed_form(q, fn) for q, fn in closed.items()},
        sample=sample,
        canonical=[Point(x0, {}, label)],
        default_size=max(1, int(x0.size)),
    )


def check_function(
    f: Callable[[Any, Any], Any],
    at: Any,
    *,
    grad: Callable[..., Any] | None = None,
    hessian: Callable[..., Any] | None = None,
    hvp: Callable[..., Any] | None = None,
    d1: Callable[..., Any] | None = None,
    d2: Callable[..., Any] | None = None,
    d3: Callable[..., Any] | None = None,
    d4: Callable[..., Any] | None = None,
    backends: Sequence[str] | str = "all",
    dtype: str = "float64",
    points: int = 2,
    seed: int = 0,
    name: str = "f",
) -> FunctionReport:
    """Check hand-derived derivatives of ``f(xp, x)`` against every backend's, at ``at``
    and ``points`` seeded random points near it (``at + 0.1·max(1, |at|)·N(0, 1)``).

    Closed forms are written like ``f``, against ``xp`` — ``grad=lambda xp, x: ...`` — or
    NumPy-only with one argument, ``grad=lambda x: ...``; ``hvp`` takes ``v`` last.  A
    number ``at`` makes a scalar function (``d1``..``d4``), an array a vector one (``grad``,
    ``hessian``, ``hvp``).  ``backends`` are ids as on the command line (``"torch"``,
    ``"jax:nojit"``, ``"all"``).  Runs in this process; frameworks stay loaded for the next
    call.  Bad input raises :class:`autodiff_bench.errors.UsageError`.
    """
    from autodiff_bench.backends import parse_backends
    from autodiff_bench.check import CheckPlan, run_check
    from autodiff_bench.correctness import DTYPES
    from autodiff_bench.errors import unknown_name

    given = {"grad": grad, "hessian": hessian, "hvp": hvp, "d1": d1, "d2": d2, "d3": d3}
    given["d4"] = d4
    closed = {q: fn for q, fn in given.items() if fn is not None}
    if not closed:
        raise UsageError(
            "check_function needs at least one closed form to check",
            "pass grad=... (an array x) or d1=... (a number x)",
        )
    scalar = np.ndim(at) == 0
    wrong = [q for q in closed if (q.startswith("d") and not scalar) or (q[0] != "d" and scalar)]
    if wrong:
        kind = "a number" if scalar else "an array"
        fits = "d1..d4" if scalar else "grad, hessian, hvp"
        raise UsageError(f"at= is {kind}, so {', '.join(wrong)} does not apply", f"use {fits}")
    if dtype not in DTYPES:
        raise unknown_name("dtype", dtype, DTYPES)
    if not isinstance(points, int) or points < 0:
        raise UsageError(f"points must be 0 or more, not {points!r}", "e.g. points=2")
    if not callable(f) or len(inspect.signature(f).parameters) < 2:
        raise UsageError("f must be a function f(xp, x)", "e.g. lambda xp, x: xp.sum(x ** 2)")
    if not name.replace("_", "").isalnum() or name != name.lower():
        raise UsageError(f"name= must be a lowercase identifier, not {name!r}", "e.g. name='f'")
    target = _target(f, at, closed, name)
    names = [backends] if isinstance(backends, str) else list(backends)
    specs = parse_backends([b.strip() for item in names for b in item.split(",") if b.strip()])
    plan = CheckPlan(
        targets=[target],
        backends=specs,
        quantities=None,
        points=points,
        seed=seed,
        dtype=dtype,
        timeout_s=math.inf,
    )
    return FunctionReport(run_check(plan, in_process=True))


__all__ = ["SPREAD", "FunctionReport", "check_function"]
