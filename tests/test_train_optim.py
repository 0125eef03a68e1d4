"""The optimizers of ``train`` equal torch.optim on the same gradients, and the workloads'
canonical numbers hold (in-process, NumPy-based backends: fast)."""

from __future__ import annotations

import numpy as np
import pytest

from autodiff_bench.backends import BackendSpec, load_backend, parse_backend
from autodiff_bench.backends.namespace import numpy_namespace
from autodiff_bench.train.optim import Optimizer, make_optimizer
from autodiff_bench.train.plan import resolve_train_plan
from autodiff_bench.train.run import train_cell
from tests.conftest import needs

SETTINGS = [
    ("sgd", dict(lr=0.05)),
    ("momentum", dict(lr=0.05, momentum=0.9)),
    ("adam", dict(lr=0.01)),
]


@needs("torch")
@pytest.mark.parametrize(("kind", "torch_kwargs"), SETTINGS)
def test_optimizer_equals_torch_optim_over_50_steps(kind: str, torch_kwargs: dict) -> None:
    import torch

    rng = np.random.default_rng(7)
    theta0 = rng.normal(size=5)
    grads = rng.normal(size=(50, 5)) * np.linspace(0.01, 3.0, 50)[:, None]
    ours = make_optimizer(kind, torch_kwargs["lr"])
    xp = numpy_namespace("float64")
    theta, state = theta0.copy(), ours.init(xp, theta0)
    p = torch.nn.Parameter(torch.tensor(theta0, dtype=torch.float64))
    if kind == "adam":
        ref = torch.optim.Adam([p], foreach=False, **torch_kwargs)
    else:
        ref = torch.optim.SGD([p], foreach=False, **torch_kwargs)
    for g in grads:
        theta, state = ours.update(xp, theta, g, state)
        p.grad = torch.tensor(g, dtype=torch.float64)
        ref.step()
        np.testing.assert_allclose(theta, p.detach().numpy(), rtol=1e-13, atol=1e-15)
    assert not np.allclose(theta, theta0)


def test_optimizer_names_and_labels() -> None:
    assert make_optimizer("momentum", 0.1) == Optimizer("sgd", 0.1, momentum=0.9)
    assert make_optimizer("momentum", 0.1).kind == "momentum"
    assert make_optimizer("adam", 0.001).label == "adam lr=0.001"


def _train(workload: str, backend: str) -> dict:
    """One backend's raw training run, in this process."""
    plan = resolve_train_plan(workload, backends=[backend])
    # The mode train runs it in (finite named alone trains as finite:central).
    cell = next(c for c in plan.cells() if c.backend == parse_backend(backend).name)
    spec = BackendSpec(cell.backend, cell.mode)
    loaded = load_backend(spec)
    assert not isinstance(loaded, tuple)
    return train_cell(loaded, plan, cell)


@pytest.mark.parametrize("backend", ["manual", "minigrad", "finite"])
def test_linreg_canonical_numbers(backend: str) -> None:
    out = _train("linreg", backend)
    assert out["status"] == "pass"
    # finite:central's one central difference is exact to ~1e-11 here, AD to round-off.
    close = 1e-9 if backend == "finite" else 1e-12
    assert out["checkpoints"][1] == pytest.approx([0.3], abs=close)
    assert out["final"][0] == pytest.approx(1.922481, abs=1e-6)
    assert 5 * out["final"][0] == pytest.approx(9.612, abs=5e-4)


def test_dosage_canonical_numbers() -> None:
    out = _train("dosage", "minigrad")
    assert out["losses"][0] == pytest.approx(19.675475, abs=1e-9)
    assert out["first_grad"] == pytest.approx([36.305, 6.265], abs=1e-9)
    m, b = out["final"]
    assert (m, b) == (pytest.approx(-0.468119, abs=1e-6), pytest.approx(1.754263, abs=1e-6))


def test_sin_target_canonical_numbers() -> None:
    (x,) = _train("sin_target", "manual")["final"]
    assert x == pytest.approx(3.032644, abs=1e-6)
    assert np.sin(x) * x**2 == pytest.approx(1.000015, abs=1e-6)
