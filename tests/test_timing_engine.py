"""The ``time`` engine: plan resolution, worker isolation (crash, hang, error), interruption,
ratios, growth fits, and JAX's compile kept out of the warm figure."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from autodiff_bench import backends
from autodiff_bench.config import EMPTY, load_config
from autodiff_bench.errors import UsageError
from autodiff_bench.model import TimeRecord, dumps
from autodiff_bench.render.time import TimeRenderer
from autodiff_bench.timing import (
    TimePlan,
    add_ratios,
    fit_growth,
    parse_sizes,
    resolve_time_plan,
    run_time,
)
from tests.conftest import ROOT, needs
from tests.test_timing_fakes import FakeBackend

#: The fields the README documents for every time record.
RECORD_FIELDS = (
    "target",
    "size",
    "quantity",
    "backend",
    "mode",
    "cold_s",
    "median_s",
    "iqr_s",
    "min_s",
    "samples",
    "loops",
    "ratio_to_primal",
    "ratio_to_manual",
)
FAST = {"budget": 0.005, "min_samples": 3}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> type[FakeBackend]:
    """The misbehaving backend, registered for one test only."""
    monkeypatch.setitem(backends._REGISTRY, FakeBackend.name, FakeBackend)
    return FakeBackend


def plan_for(mode: str, timeout: float = 30.0, **kwargs) -> TimePlan:
    return resolve_time_plan(
        EMPTY,
        targets=["least_squares"],
        backends=[f"fake:{mode}"],
        sizes=["4"],
        timeout=timeout,
        **{**FAST, **kwargs},
    )


def by_cell(report) -> dict[tuple[str, str], TimeRecord]:
    return {(r.backend, r.quantity): r for r in report.records}


# ---- plan --------------------------------------------------------------------------------------


def test_time_toml_is_what_a_bare_time_runs() -> None:
    from_file = resolve_time_plan(load_config(ROOT / "configs" / "time.toml")).as_dict()
    built_in = resolve_time_plan(EMPTY).as_dict()
    # Other tests may register extra backends; the default takes every registered one.
    shipped = [b.name for b in backends.all_backends().values() if b in backends._BUILTIN]
    built_in["backends"] = [b for b in built_in["backends"] if b.partition(":")[0] in shipped]
    assert from_file == built_in
    assert built_in["sizes"] == [10, 100]
    # A target's own timing sizes (trace_axb's Hessian grows like n⁴) replace the defaults.
    assert built_in["target_sizes"] == {"trace_axb": [5, 20]}
    assert "finite" not in built_in["backends"]


def test_manual_is_always_timed_first_and_primal_always() -> None:
    plan = resolve_time_plan(EMPTY, targets=["cubic"], backends=["torch"], quantities=["d2"])
    # NumPy manual first, then the closed form in torch right before torch.
    assert [b.label for b in plan.backends] == ["manual", "manual:torch", "torch"]
    target = plan.targets[0]
    assert plan.quantities_of(target) == ["primal", "d2"]
    assert plan.sizes_of(target) == [None]  # a scalar target has no size
    assert len(plan.cells()) == 6


def test_each_timed_framework_brings_its_closed_form_once() -> None:
    plan = resolve_time_plan(
        EMPTY, targets=["cubic"], backends=["jax:nojit,torch:func,minigrad,jax,tensorflow"]
    )
    assert [b.label for b in plan.backends] == [
        "manual",
        "manual:jax",
        "jax:nojit",
        "manual:torch",
        "torch:func",
        "minigrad",  # NumPy-based: NumPy manual is its reference
        "jax",
        "manual:tensorflow",
        "tensorflow",
    ]
    # Named by the user: kept where the user put it, not added twice.
    plan = resolve_time_plan(EMPTY, targets=["cubic"], backends=["torch,manual:torch"])
    assert [b.label for b in plan.backends] == ["manual", "torch", "manual:torch"]
    plan = resolve_time_plan(EMPTY, targets=["cubic"], backends=["manual:jax"])
    assert [b.label for b in plan.backends] == ["manual", "manual:jax"]


def test_sizes_from_the_command_line_apply_to_every_target() -> None:
    plan = resolve_time_plan(EMPTY, targets=["trace_axb,least_squares"], sizes=["30,3", "3"])
    assert plan.sizes == [3, 30] and plan.target_sizes == {}
    assert all(plan.sizes_of(t) == [3, 30] for t in plan.targets)
    default = resolve_time_plan(EMPTY, targets=["trace_axb,least_squares"])
    sizes = {t.name: default.sizes_of(t) for t in default.targets}
    assert sizes == {"trace_axb": [5, 20], "least_squares": [10, 100]}


def test_a_quantity_filter_drops_targets_without_it() -> None:
    plan = resolve_time_plan(EMPTY, targets=["cubic,least_squares"], quantities=["grad"])
    assert [t.name for t in plan.targets] == ["least_squares"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sizes": ["0"]}, "--sizes takes positive integers, not '0'"),
        ({"sizes": ["10,abc"]}, "not 'abc'"),
        ({"sizes": ["-5"]}, "not '-5'"),
        ({"sizes": ["100000000"]}, "GiB"),
        ({"budget": 0}, "--budget must be a positive number"),
        ({"budget": -1.0}, "--budget must be a positive number"),
        ({"timeout": 0}, "--timeout must be a positive number"),
        ({"threads": 0}, "--threads must be 1 or more"),
        ({"min_samples": 0}, "--min-samples must be 1 or more"),
        ({"targets": ["least_sqares"]}, "did you mean 'least_squares'"),
        ({"quantities": ["gradient"]}, "unknown quantity 'gradient'"),
        ({"dtype": "float16"}, "unknown dtype"),
    ],
)
def test_bad_inputs_are_usage_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        resolve_time_plan(EMPTY, **{"targets": ["least_squares"], **kwargs})


def test_parse_sizes_sorts_and_deduplicates() -> None:
    assert parse_sizes(["100,10", "10"]) == [10, 100]
    assert parse_sizes([1000, 10]) == [10, 1000]
    assert parse_sizes(None) is None


def test_config_target_sizes_and_unknown_names(tmp_path: Path) -> None:
    cfg = tmp_path / "t.toml"
    cfg.write_text("[time]\nsizes = [8]\ntarget_sizes = { quadratic = [2, 4] }\n")
    plan = resolve_time_plan(load_config(cfg), targets=["quadratic,least_squares"])
    assert {t.name: plan.sizes_of(t) for t in plan.targets} == {
        "quadratic": [2, 4],
        "least_squares": [8],
    }
    cfg.write_text("[time]\ntarget_sizes = { quadratc = [2] }\n")
    with pytest.raises(UsageError, match="did you mean 'quadratic'"):
        resolve_time_plan(load_config(cfg))
    cfg.write_text("[time]\nbudget = 'long'\n")
    with pytest.raises(UsageError, match=r"'time\.budget' must be a positive number"):
        load_config(cfg)


# ---- ratios and growth ----------------------------------------------------------------------


def rec(quantity: str, backend: str, median: float, size: int | None = 10) -> TimeRecord:
    mode = backends.all_backends()[backend].modes[0]
    return TimeRecord(
        target="t",
        size=size,
        quantity=quantity,
        backend=backend,
        mode=mode,
        median_s=median,
        samples=5,
    )


def test_ratios_to_primal_and_to_manual() -> None:
    records = [
        rec("primal", "manual", 1.0),
        rec("grad", "manual", 2.0),
        rec("grad", "minigrad", 5.0),
        rec("primal", "torch", 4.0),
        rec("grad", "torch", 12.0),
        rec("hessian", "torch", 40.0),  # no manual hessian measured: no ratio to manual
    ]
    add_ratios(records)
    r = {(x.quantity, x.backend): x for x in records}
    assert r["grad", "torch"].ratio_to_primal == 3.0
    # No closed form timed in torch: no ratio (never one against NumPy's closed form).
    assert r["grad", "torch"].ratio_to_manual is None
    assert r["grad", "torch"].manual_reference is None
    assert r["grad", "minigrad"].ratio_to_manual == 2.5
    assert r["grad", "minigrad"].manual_reference == "manual"
    assert r["primal", "manual"].ratio_to_primal == 1.0
    assert r["grad", "manual"].ratio_to_manual == 1.0
    assert r["hessian", "torch"].ratio_to_manual is None
    assert r["hessian", "torch"].ratio_to_primal == 10.0


def test_ratio_to_manual_is_taken_in_the_backends_own_framework() -> None:
    def at(quantity: str, backend: str, mode: str, median: float) -> TimeRecord:
        return TimeRecord(
            target="t", size=10, quantity=quantity, backend=backend, mode=mode, median_s=median
        )

    records = [
        at("grad", "manual", "numpy", 2.0),
        at("grad", "manual", "torch", 4.0),
        at("grad", "manual", "jax", 0.5),
        at("grad", "torch", "fast", 12.0),
        at("grad", "torch", "func", 6.0),
        at("grad", "jax", "jit", 1.5),
        at("grad", "jax", "nojit", 10.0),
        at("grad", "tensorflow", "function", 9.0),  # manual:tensorflow not measured
        at("primal", "torch", "fast", 3.0),
        at("primal", "manual", "torch", 1.0),
    ]
    add_ratios(records)
    grads = [r for r in records if r.quantity == "grad"]
    got = {r.label: (r.ratio_to_manual, r.manual_reference) for r in grads}
    assert got["torch"] == (3.0, "manual:torch")
    assert got["torch:func"] == (1.5, "manual:torch")
    assert got["jax"] == (3.0, "manual:jax")
    assert got["jax:nojit"] == (20.0, "manual:jax")
    assert got["tensorflow"] == (None, None)
    # manual's own modes are compared with the NumPy closed form.
    assert got["manual:torch"] == (2.0, "manual")
    assert got["manual:jax"] == (0.25, "manual")
    assert got["manual"] == (1.0, "manual")
    primal = next(r for r in records if r.quantity == "primal" and r.backend == "torch")
    assert (primal.ratio_to_manual, primal.manual_reference) == (3.0, "manual:torch")


def test_growth_exponent_is_fitted_on_log_log() -> None:
    records = [rec("grad", "torch", 3e-9 * n**2, size=n) for n in (10, 100, 1000)]
    records += [rec("primal", "torch", 5e-6, size=n) for n in (10, 100)]
    records += [rec("grad", "manual", 1e-6, size=10)]  # one size: no fit
    fits = {(g.quantity, g.backend): g for g in fit_growth(records)}
    assert fits["grad", "torch"].exponent == pytest.approx(2.0)
    assert fits["grad", "torch"].sizes == [10, 100, 1000]
    assert fits["primal", "torch"].exponent == pytest.approx(0.0, abs=1e-12)
    assert ("grad", "manual") not in fits


# ---- isolation --------------------------------------------------------------------------------


def test_a_crashing_backend_is_an_error_cell_and_the_rest_is_kept(fake) -> None:
    report = run_time(plan_for("crash"))
    cells = by_cell(report)
    assert cells["fake", "grad"].status == "error"
    assert "SIGSEGV" in cells["fake", "grad"].message
    # A fresh worker took the cells after the crash; manual never noticed.
    for key in [("fake", "primal"), ("fake", "hessian"), ("fake", "hvp")]:
        assert cells[key].status == "pass", cells[key].message
        assert cells[key].median_s > 0
    assert all(cells["manual", q].status == "pass" for q in ("primal", "grad", "hessian", "hvp"))
    assert report.exit_code == 1


def test_after_a_crash_only_the_same_mode_and_quantity_at_larger_sizes_is_skipped(fake) -> None:
    plan = resolve_time_plan(
        EMPTY,
        targets=["least_squares"],
        backends=["fake:crash", "fake:ok"],
        sizes=["4", "8", "16"],
        **FAST,
    )
    report = run_time(plan)
    cells = {(r.mode, r.size, r.quantity): r for r in report.records if r.backend == "fake"}
    assert cells["crash", 4, "grad"].status == "error"
    assert "SIGSEGV" in cells["crash", 4, "grad"].message
    for size in (8, 16):  # surely the same crash: not run, and said so
        skipped = cells["crash", size, "grad"]
        assert skipped.status == "error"
        assert skipped.message == "not run: grad of least_squares failed at n=4"
        # Another quantity of the same mode, and the same quantity in another mode, run.
        assert cells["crash", size, "hessian"].status == "pass"
        assert cells["ok", size, "grad"].status == "pass"
        assert cells["ok", size, "grad"].median_s > 0


def test_a_hanging_backend_is_a_timeout_cell_and_the_rest_is_kept(fake) -> None:
    report = run_time(plan_for("hang", timeout=2.0))
    cells = by_cell(report)
    assert cells["fake", "grad"].status == "timeout"
    assert "--timeout 2 s" in cells["fake", "grad"].message
    assert cells["fake", "hessian"].status == "pass"
    assert cells["fake", "hvp"].status == "pass"
    assert cells["manual", "grad"].status == "pass"
    assert len(report.records) == 8 and not report.interrupted


def test_a_raising_backend_and_an_unsupported_quantity(fake) -> None:
    raised = by_cell(run_time(plan_for("raise")))
    assert raised["fake", "grad"].status == "error"
    assert "ValueError: fake failure in grad" in raised["fake", "grad"].message
    assert raised["fake", "hvp"].status == "pass"
    report = run_time(plan_for("unsupported"))
    assert by_cell(report)["fake", "grad"].status == "unsupported"
    assert report.exit_code == 0  # declining a quantity is not a failure


def test_asynchronous_work_is_synchronised_inside_the_clock(fake) -> None:
    cells = by_cell(run_time(plan_for("async")))
    # The call returns at once; the 2 ms happen in synchronize(), which must be timed.
    assert cells["fake", "grad"].median_s >= 2e-3
    assert cells["fake", "primal"].median_s < 1e-3


def test_an_interrupted_run_keeps_what_it_measured_as_valid_json(fake) -> None:
    seen: list[TimeRecord] = []

    def stop_after_three(record: TimeRecord) -> None:
        seen.append(record)
        if len(seen) == 3:
            raise KeyboardInterrupt

    report = run_time(plan_for("ok"), on_record=stop_after_three)
    assert report.interrupted and report.exit_code == 130
    assert len(report.records) == 3 and report.planned == 8
    doc = json.loads(dumps(TimeRenderer(report).document()))
    assert doc["interrupted"] is True and doc["cells_planned"] == 8
    assert len(doc["results"]) == 3
    for r in doc["results"]:
        assert r["status"] == "pass"
        assert all(k in r for k in RECORD_FIELDS)


def test_records_carry_every_spec_field_and_a_user_target_is_timed_in_workers() -> None:
    from autodiff_bench.targets import load_targets_file

    # The parent loads the file (as the CLI does); each worker re-imports it from the plan.
    path = ROOT / "examples" / "rosenbrock_targets.py"
    assert "rosenbrock" in load_targets_file(path)
    plan = resolve_time_plan(
        EMPTY,
        targets=["rosenbrock"],
        backends=["manual,minigrad"],
        quantities=["grad"],
        sizes=["4,16"],
        targets_files=[str(path)],
        **FAST,
    )
    report = run_time(plan)
    assert len(report.records) == 8
    names = {f.name for f in fields(TimeRecord)}
    assert set(RECORD_FIELDS) <= names
    for r in report.records:
        assert r.status == "pass", r.message
        assert r.cold_s > 0 and r.min_s <= r.median_s and r.samples >= 3 and r.loops >= 1
        assert r.ratio_to_manual is not None and r.ratio_to_primal is not None
        assert r.threads == 1
    assert {g.backend for g in report.growth} == {"manual", "minigrad"}
    assert report.workers["minigrad"]["env"]["OPENBLAS_NUM_THREADS"] == "1"


# ---- JAX: compile in cold_s, warm figure synchronised ------------------------------------------


@needs("jax")
def test_jax_compile_lands_in_cold_not_in_the_warm_median() -> None:
    plan = resolve_time_plan(
        EMPTY,
        targets=["least_squares"],
        backends=["jax"],
        quantities=["grad"],
        sizes=["8"],
        budget=0.02,
    )
    cells = by_cell(run_time(plan))
    grad = cells["jax", "grad"]
    assert grad.status == "pass", grad.message
    # Tracing and XLA compilation take milliseconds; a jitted call at n=8 microseconds.
    assert grad.cold_s > 1e-3
    assert grad.cold_s > 10 * grad.median_s
    assert grad.max_s < grad.cold_s / 2  # no sample contains the compile either


@needs("jax")
def test_jax_warm_calls_are_each_synchronised() -> None:
    from autodiff_bench.targets import get_target
    from autodiff_bench.timing import HarnessSettings, TimeCell, TimeJob, time_cell

    backend = backends.parse_backend("jax").create()
    backend.ensure_loaded()
    calls = {"sync": 0, "ready": 0}
    real = backend.synchronize

    def counting(value):
        calls["sync"] += 1
        real(value)
        calls["ready"] += all(leaf.is_ready() for leaf in backend.jax.tree_util.tree_leaves(value))

    backend.synchronize = counting  # type: ignore[method-assign]
    cell = TimeCell(target="least_squares", size=8, quantity="grad", backend="jax", mode="jit")
    job = TimeJob(
        backend="jax",
        backend_class=type(backend),
        cells=[cell],
        labels={"jit": "jax"},
        dtype="float64",
        device="cpu",
        threads=1,
        seed=0,
        harness=HarnessSettings(budget_s=0.01, min_samples=3),
        targets_files=(),
        target_modules=(),
    )
    record = time_cell(
        backend,
        get_target("least_squares"),
        cell,
        job,
        {
            "target": "least_squares",
            "size": 8,
            "quantity": "grad",
            "backend": "jax",
            "mode": "jit",
        },
    )
    assert record.status == "pass"
    # Every timed call (cold, calibration, samples) went through synchronize, and came out
    # of it computed.
    assert calls["sync"] >= 1 + record.samples * record.loops
    assert calls["ready"] == calls["sync"]


class _Pending:
    """A stand-in for a device array: ready only once ``block_until_ready`` was called."""

    def __init__(self) -> None:
        self.ready = False

    def block_until_ready(self) -> _Pending:
        self.ready = True
        return self


@needs("jax")
def test_jax_synchronize_blocks_on_every_leaf_of_the_value() -> None:
    backend = backends.parse_backend("jax").create()
    backend.ensure_loaded()
    one, two, three = _Pending(), _Pending(), _Pending()
    backend.synchronize(one)
    assert one.ready
    backend.synchronize({"grad": two, "aux": [three, 1.0]})  # a pytree, as a dict variable
    assert two.ready and three.ready


@needs("jax")
def test_jax_synchronize_returns_only_once_the_computation_is_done() -> None:
    backend = backends.parse_backend("jax").create()
    backend.ensure_loaded()
    jax, jnp = backend.jax, backend.xp

    @jax.jit
    def slow(a):  # ~50 ms on one core: far longer than dispatching it
        return jax.lax.fori_loop(0, 12, lambda i, m: jnp.tanh(m @ a), a)

    a = backend.asarray(np.random.default_rng(0).standard_normal((400, 400)) / 20)
    backend.synchronize(slow(a))  # compile outside the check
    for _ in range(3):
        out = slow(a)  # asynchronous dispatch: returns before XLA has run
        backend.synchronize(out)
        assert out.is_ready()
        tree = {"x": slow(a), "y": [slow(a)]}
        backend.synchronize(tree)
        assert tree["x"].is_ready() and tree["y"][0].is_ready()


def test_a_sampler_that_raises_is_that_cells_error() -> None:
    from autodiff_bench.targets import Target
    from autodiff_bench.timing import HarnessSettings, TimeCell, TimeJob, time_cell

    def broken(rng, size):
        raise RuntimeError("no data for this size")

    target = Target(
        name="broken_sampler",
        formula="sum(x)",
        f=lambda xp, x, p: xp.sum(x),
        closed_forms={"grad": lambda x, p: np.ones_like(x)},
        sample=broken,
    )
    backend = backends.parse_backend("manual").create()
    backend.ensure_loaded()
    cell = TimeCell(target="broken_sampler", size=4, quantity="grad", backend="manual")
    job = TimeJob(
        backend="manual",
        backend_class=None,
        cells=[cell],
        labels={},
        dtype="float64",
        device="cpu",
        threads=1,
        seed=0,
        harness=HarnessSettings(budget_s=0.01, min_samples=3),
        targets_files=(),
        target_modules=(),
    )
    base = {"target": "broken_sampler", "size": 4, "quantity": "grad", "backend": "manual"}
    record = time_cell(backend, target, cell, job, base)
    assert record.status == "error"
    assert record.message == "the sampler raised RuntimeError: no data for this size"
