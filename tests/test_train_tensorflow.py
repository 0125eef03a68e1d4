"""``train``'s steps in TensorFlow: the closed form (``manual:tensorflow``) and autodiff
(``tensorflow``) each trace their step once and reuse the graph, so neither pays for tracing
per step, and the warm-up before the timed steps leaves the trajectory alone."""

from __future__ import annotations

import pytest

from autodiff_bench.backends import BackendSpec, load_backend
from autodiff_bench.train.plan import resolve_train_plan
from autodiff_bench.train.run import WARMUP_CALLS, train_cell, training_step
from tests.conftest import needs

pytestmark = needs("tensorflow")


@pytest.mark.parametrize("workload", ["linreg", "logistic"])
def test_each_step_is_traced_once(workload: str) -> None:
    np = pytest.importorskip("numpy")
    plan = resolve_train_plan(workload, backends=["manual:tensorflow,tensorflow"])
    cells = [c for c in plan.cells() if c.mode != "numpy"]
    # The closed form in TensorFlow and tensorflow itself, for every optimizer of the lesson
    # (Adam's state carries a step counter: a Python number there would retrace every step).
    assert {(c.backend, c.mode) for c in cells} == {
        ("manual", "tensorflow"),
        ("tensorflow", "function"),
    }
    data = plan.dataset()
    for cell in cells:
        backend = load_backend(BackendSpec(cell.backend, cell.mode), "float64", "cpu", 1)
        backend.ensure_loaded()
        order, _ = plan.batches(data.size)  # the lesson's batches, as run() makes them
        batches = [
            {k: backend.asarray(v if i is None else v[i]) for k, v in data.train.items()}
            for i in order[:2]
        ]
        step, _ = training_step(backend, plan, cell)
        theta = backend.asarray(plan.initial_parameters(data))
        state = cell.optimizer.init(backend.xp, theta)
        for k in range(8):
            theta, state, loss = step(theta, state, batches[k % 2])
        assert np.isfinite(float(loss))
        assert step.experimental_get_tracing_count() == 1, (cell.backend, cell.optimizer.kind)


def test_warm_up_calls_leave_the_trajectory_alone() -> None:
    plan = resolve_train_plan("linreg", backends=["manual:tensorflow,tensorflow"])
    assert WARMUP_CALLS > 0
    for cell in plan.cells():
        backend = load_backend(BackendSpec(cell.backend, cell.mode), "float64", "cpu", 1)
        raw = train_cell(backend, plan, cell)
        assert raw["status"] == "pass", raw.get("message")
        # The lesson's numbers: w = 0.300 after step 1, 1.922481 after 20.
        assert raw["checkpoints"][1] == pytest.approx([0.3], abs=1e-12)
        assert raw["final"] == pytest.approx([1.9224809378309713], abs=1e-12)
        # The cold call, then one time per step.
        assert len(raw["times_s"]) == 21 and len(raw["losses"]) == 20
