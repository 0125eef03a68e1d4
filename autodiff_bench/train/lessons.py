"""The built-in workloads: the optimisation lessons adbench grew from.

Every loss and closed-form gradient is written against ``xp`` over one flat parameter
vector; data are generated here, seeded.  Canonical numbers are the lessons' own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from autodiff_bench.train.optim import Optimizer
from autodiff_bench.train.workloads import (
    Canonical,
    Dataset,
    RunView,
    Workload,
    register_workload,
)

if TYPE_CHECKING:
    import numpy as np
else:
    from autodiff_bench.lazy import numpy as np

Batch = Mapping[str, Any]


def _zeros(n: int) -> Any:
    return lambda rng, data: np.zeros(n)


def _fixed(*values: float) -> Any:
    return lambda rng, data: np.array(values, dtype=np.float64)


# ---- linreg: f = w·x, MSE, gradient descent ---------------------------------------------


def linreg_loss(xp: Any, theta: Any, batch: Batch) -> Any:
    """mean((w·x − y)²)."""
    w = theta[0]
    return xp.mean((w * batch["x"] - batch["y"]) ** 2)


def linreg_grad(xp: Any, theta: Any, batch: Batch) -> Any:
    """∂/∂w = mean(2x(w·x − y))."""
    x = batch["x"]
    return xp.stack([xp.mean(2.0 * x * (theta[0] * x - batch["y"]))])


def _linreg_data(rng: np.random.Generator) -> Dataset:
    x = np.array([1.0, 2.0, 3.0, 4.0])
    return Dataset({"x": x, "y": 2.0 * x})


register_workload(
    Workload(
        name="linreg",
        lesson="gradient descent for f = w·x with MSE (X = 1..4, Y = 2X, w₀ = 0)",
        loss=linreg_loss,
        grad=linreg_grad,
        grad_text="mean(2x(wx − y))",
        data=_linreg_data,
        init=_zeros(1),
        optimizers=(Optimizer("sgd", 0.01),),
        steps=20,
        shuffle=False,
        params=lambda theta: {"w": float(theta[0])},
        metric=lambda view: {"f(5)": 5.0 * float(view.final[0])},
        canonical=(
            Canonical("w after step 1", "0.300", lambda v: float(v.params[1][0])),
            Canonical("w after 20 steps", "1.922481", lambda v: float(v.final[0])),
            Canonical("f(5)", "9.612", lambda v: 5.0 * float(v.final[0])),
        ),
    )
)


# ---- dosage: y = m·x + b, MSE, full-batch SGD ------------------------------------------

DOSAGE_Y = (1.86, 1.31, 0.62, 0.33, 0.09, -0.67, -1.23, -1.37)


def dosage_loss(xp: Any, theta: Any, batch: Batch) -> Any:
    """The cost: mean((m·x + b − y)²)."""
    return xp.mean((theta[0] * batch["x"] + theta[1] - batch["y"]) ** 2)


def dosage_grad(xp: Any, theta: Any, batch: Batch) -> Any:
    """∂m = 2·mean(x·r), ∂b = 2·mean(r), r = m·x + b − y."""
    x = batch["x"]
    r = theta[0] * x + theta[1] - batch["y"]
    return xp.stack([2.0 * xp.mean(x * r), 2.0 * xp.mean(r)])


def _dosage_data(rng: np.random.Generator) -> Dataset:
    return Dataset({"x": np.arange(8.0), "y": np.array(DOSAGE_Y)})


def _dosage_optimum(view: RunView) -> dict[str, Any]:
    x, y = view.dataset.train["x"], view.dataset.train["y"]
    m, b = np.polyfit(x, y, 1)
    gap = float(np.max(np.abs(view.final - np.array([m, b]))))
    return {"cost": view.final_loss, "gap_to_least_squares": gap}


register_workload(
    Workload(
        name="dosage",
        lesson="drug dosage vs forgetfulness, y = m·x + b (m₀ = 0.9, b₀ = 0.1), 1000 epochs",
        loss=dosage_loss,
        grad=dosage_grad,
        grad_text="∂m = 2·mean(x·r), ∂b = 2·mean(r)",
        data=_dosage_data,
        init=_fixed(0.9, 0.1),
        optimizers=(Optimizer("sgd", 0.01),),
        steps=1000,
        shuffle=False,
        params=lambda theta: {"m": float(theta[0]), "b": float(theta[1])},
        metric=_dosage_optimum,
        canonical=(
            Canonical("first cost", "19.675", lambda v: v.losses[0]),
            Canonical("first ∂m", "36.305", lambda v: float(v.first_grad[0])),
            Canonical("first ∂b", "6.265", lambda v: float(v.first_grad[1])),
            Canonical("final m", "-0.468119", lambda v: float(v.final[0])),
            Canonical("final b", "1.754263", lambda v: float(v.final[1])),
            Canonical("final cost", "0.019476", lambda v: v.final_loss),
        ),
    )
)


# ---- sin_target: drive sin(x)·x² to 1 -------------------------------------------------------


def sin_target_loss(xp: Any, theta: Any, batch: Batch) -> Any:
    """(sin(x)·x² − 1)²."""
    x = theta[0]
    return (xp.sin(x) * x**2 - 1.0) ** 2


def sin_target_grad(xp: Any, theta: Any, batch: Batch) -> Any:
    """2(f − 1)·(2x·sin x + x²·cos x)."""
    x = theta[0]
    f = xp.sin(x) * x**2
    return xp.stack([2.0 * (f - 1.0) * (2.0 * x * xp.sin(x) + x**2 * xp.cos(x))])


register_workload(
    Workload(
        name="sin_target",
        lesson="drive sin(x)·x² to 1 from x₀ = 2.5, loss (f − 1)²",
        loss=sin_target_loss,
        grad=sin_target_grad,
        grad_text="2(f − 1)(2x sin x + x² cos x)",
        data=lambda rng: Dataset({"unused": np.zeros(1)}),
        init=_fixed(2.5),
        optimizers=(Optimizer("sgd", 1e-3),),
        steps=100,
        shuffle=False,
        params=lambda theta: {"x": float(theta[0])},
        metric=lambda view: {"f": float(np.sin(view.final[0]) * view.final[0] ** 2)},
        canonical=(
            Canonical("x", "3.032644", lambda v: float(v.final[0])),
            Canonical("f", "1.000015", lambda v: float(np.sin(v.final[0]) * v.final[0] ** 2)),
        ),
    )
)


# ---- logistic: SGD against Adam, binary cross-entropy ---------------------------------------


def logistic_loss(xp: Any, theta: Any, batch: Batch) -> Any:
    """Mean binary cross-entropy of σ(X·w + b), as softplus(z) − y·z (stable)."""
    z = xp.matmul(batch["X"], theta[:-1]) + theta[-1]
    return xp.mean(xp.logaddexp(0.0, z) - batch["y"] * z)


def logistic_grad(xp: Any, theta: Any, batch: Batch) -> Any:
    """[Xᵀ(σ(z) − y), Σ(σ(z) − y)] / N."""
    X = batch["X"]
    z = xp.matmul(X, theta[:-1]) + theta[-1]
    r = 1.0 / (1.0 + xp.exp(-z)) - batch["y"]
    n = X.shape[0]
    return xp.concat([xp.matmul(xp.transpose(X), r) / n, xp.reshape(xp.sum(r) / n, (1,))])


def _stratified_split(rng: np.random.Generator, y: np.ndarray, frac: float) -> np.ndarray:
    """Indices of a training part holding ``frac`` of each class."""
    train = []
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        train.append(idx[: round(frac * len(idx))])
    return np.sort(np.concatenate(train))


def _logistic_data(rng: np.random.Generator) -> Dataset:
    n, informative, noise = 500, 4, 2
    X = rng.normal(size=(n, informative + noise))
    beta = np.array([1.5, -2.0, 1.0, 0.5])
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(X[:, :informative] @ beta)))).astype(float)
    train = _stratified_split(rng, y, 0.8)
    test = np.setdiff1d(np.arange(n), train)
    mean, std = X[train].mean(axis=0), X[train].std(axis=0)
    X = (X - mean) / std  # standardised with the training part's statistics
    return Dataset({"X": X[train], "y": y[train]}, {"X": X[test], "y": y[test]})


def _logistic_metric(view: RunView) -> dict[str, Any]:
    from autodiff_bench.backends.namespace import numpy_namespace

    valid = view.dataset.valid or {}
    xp = numpy_namespace("float64")
    test_loss = float(logistic_loss(xp, view.final, valid))
    z = valid["X"] @ view.final[:-1] + view.final[-1]
    accuracy = float(np.mean((z > 0) == (valid["y"] > 0.5)))
    return {"test_loss": test_loss, "accuracy": accuracy}


register_workload(
    Workload(
        name="logistic",
        lesson="logistic regression, SGD vs Adam: 500 samples, 6 features (4 informative)",
        loss=logistic_loss,
        grad=logistic_grad,
        grad_text="Xᵀ(σ(z) − y)/N",
        data=_logistic_data,
        init=lambda rng, data: rng.normal(scale=0.01, size=7),
        optimizers=(Optimizer("sgd", 0.1), Optimizer("adam", 0.01)),
        epochs=40,
        batch_size=32,
        params=lambda theta: {"w": [float(v) for v in theta[:-1]], "b": float(theta[-1])},
        metric=_logistic_metric,
    )
)


# ---- parabola_mlp: a 1→32→32→1 ReLU network learns y = x² ------------------------------------

HIDDEN = 32


def _mlp_unpack(xp: Any, theta: Any) -> tuple[Any, ...]:
    """W1 (1×H), b1, W2 (H×H), b2, W3 (H×1), b3 from the flat vector."""
    h = HIDDEN
    sizes = ((1, h), (h,), (h, h), (h,), (h, 1), (1,))
    out, start = [], 0
    for shape in sizes:
        n = math.prod(shape)  # not np.prod: ~5 µs a call, six a loss: a third of it
        out.append(xp.reshape(theta[start : start + n], shape))
        start += n
    return tuple(out)


MLP_SIZE = 1 * HIDDEN + HIDDEN + HIDDEN * HIDDEN + HIDDEN + HIDDEN + 1


def _relu(xp: Any, a: Any) -> Any:
    # where, not maximum: every framework then differentiates it as 0 at a = 0.
    return xp.where(a > 0, a, 0.0)


def mlp_loss(xp: Any, theta: Any, batch: Batch) -> Any:
    """mean((net(x) − y)²), net = W3ᵀ·relu(W2ᵀ·relu(W1ᵀx + b1) + b2) + b3."""
    W1, b1, W2, b2, W3, b3 = _mlp_unpack(xp, theta)
    h1 = _relu(xp, xp.matmul(batch["x"], W1) + b1)
    h2 = _relu(xp, xp.matmul(h1, W2) + b2)
    out = xp.matmul(h2, W3) + b3
    return xp.mean((out - batch["y"]) ** 2)


def mlp_grad(xp: Any, theta: Any, batch: Batch) -> Any:
    """Backpropagation by hand, layer by layer."""
    W1, b1, W2, b2, W3, b3 = _mlp_unpack(xp, theta)
    x = batch["x"]
    a1 = xp.matmul(x, W1) + b1
    h1 = _relu(xp, a1)
    a2 = xp.matmul(h1, W2) + b2
    h2 = _relu(xp, a2)
    out = xp.matmul(h2, W3) + b3
    d_out = 2.0 * (out - batch["y"]) / x.shape[0]
    d_a2 = xp.where(a2 > 0, xp.matmul(d_out, xp.transpose(W3)), 0.0)
    d_a1 = xp.where(a1 > 0, xp.matmul(d_a2, xp.transpose(W2)), 0.0)
    parts = [
        xp.matmul(xp.transpose(x), d_a1),
        xp.sum(d_a1, axis=0),
        xp.matmul(xp.transpose(h1), d_a2),
        xp.sum(d_a2, axis=0),
        xp.matmul(xp.transpose(h2), d_out),
        xp.sum(d_out, axis=0),
    ]
    return xp.concat([xp.reshape(p, (-1,)) for p in parts])


def _parabola_data(rng: np.random.Generator) -> Dataset:
    n = 2048
    x = rng.uniform(-1.0, 1.0, size=(n, 1))
    y = x**2 + rng.normal(scale=0.03, size=(n, 1))
    idx = rng.permutation(n)
    cut = int(0.8 * n)
    train, valid = idx[:cut], idx[cut:]
    return Dataset({"x": x[train], "y": y[train]}, {"x": x[valid], "y": y[valid]})


def _mlp_init(rng: np.random.Generator, data: Dataset) -> np.ndarray:
    """He-normal weights, zero biases."""
    h = HIDDEN
    parts = [
        rng.normal(scale=np.sqrt(2.0 / 1), size=h),
        np.zeros(h),
        rng.normal(scale=np.sqrt(2.0 / h), size=h * h),
        np.zeros(h),
        rng.normal(scale=np.sqrt(2.0 / h), size=h),
        np.zeros(1),
    ]
    return np.concatenate(parts)


def _mlp_metric(view: RunView) -> dict[str, Any]:
    from autodiff_bench.backends.namespace import numpy_namespace

    xp = numpy_namespace("float64")
    val = float(mlp_loss(xp, view.final, view.dataset.valid or {}))
    return {"val_mse": val, "noise_floor": 0.03**2}


register_workload(
    Workload(
        name="parabola_mlp",
        lesson="a 1→32→32→1 ReLU network learns y = x² + noise (σ = 0.03), Adam",
        loss=mlp_loss,
        grad=mlp_grad,
        grad_text="backpropagation by hand",
        data=_parabola_data,
        init=_mlp_init,
        optimizers=(Optimizer("adam", 1e-3),),
        epochs=100,
        batch_size=128,
        metric=_mlp_metric,
    )
)


# ---- per_sample: SGD one sample at a time (the from-scratch engine lesson) ------------------

PER_SAMPLE_NOISE = 0.1


def per_sample_loss(xp: Any, theta: Any, batch: Batch) -> Any:
    """mean((X·w + b − y)²) over the batch (one sample)."""
    r = xp.matmul(batch["X"], theta[:2]) + theta[2] - batch["y"]
    return xp.mean(r**2)


def per_sample_grad(xp: Any, theta: Any, batch: Batch) -> Any:
    """[2Xᵀr, 2Σr] / N."""
    X = batch["X"]
    r = xp.matmul(X, theta[:2]) + theta[2] - batch["y"]
    n = X.shape[0]
    return xp.concat(
        [2.0 * xp.matmul(xp.transpose(X), r) / n, xp.reshape(2.0 * xp.sum(r) / n, (1,))]
    )


def _per_sample_data(rng: np.random.Generator) -> Dataset:
    n = 200
    X = rng.uniform(-2.0, 2.0, size=(n, 2))
    y = X @ np.array([2.0, -3.0]) + 1.0 + rng.normal(scale=PER_SAMPLE_NOISE, size=n)
    return Dataset({"X": X, "y": y})


def _per_sample_metric(view: RunView) -> dict[str, Any]:
    from autodiff_bench.backends.namespace import numpy_namespace

    xp = numpy_namespace("float64")
    data = view.dataset.train
    per_epoch = [float(per_sample_loss(xp, view.params[k], data)) for k in view.epoch_steps]
    return {
        "mse": per_epoch[-1] if per_epoch else None,
        "noise": PER_SAMPLE_NOISE**2,
        "mse_per_epoch": per_epoch,
    }


register_workload(
    Workload(
        name="per_sample",
        lesson="the from-scratch engine lesson: y = 2x₁ − 3x₂ + 1 + noise, SGD sample by sample",
        loss=per_sample_loss,
        grad=per_sample_grad,
        grad_text="[2Xᵀr, 2Σr]/N",
        data=_per_sample_data,
        init=_zeros(3),
        optimizers=(Optimizer("sgd", 0.01),),
        epochs=10,
        batch_size=1,
        params=lambda theta: {"w": [float(theta[0]), float(theta[1])], "b": float(theta[2])},
        metric=_per_sample_metric,
    )
)
