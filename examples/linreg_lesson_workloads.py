"""The lesson's linear regression, f = w·x with MSE, with its hand-written gradient as the
lesson wrote it: ``np.dot(2*x, y_pred - y).mean()``.  ``np.dot`` already sums over the
samples, so ``.mean()`` of that scalar divides by nothing: the gradient is N = 4 times too
large.  See what train says:

    adbench train linreg_lesson --targets-file examples/linreg_lesson_workloads.py

The manual trajectory parts from every autodiff one at step 1 (w = 1.200 against 0.300).
"""

import numpy as np

from autodiff_bench.train import Dataset, Optimizer, Workload, register_workload


def loss(xp, theta, batch):
    """mean((w·x − y)²)."""
    y_pred = theta[0] * batch["x"]
    return xp.mean((y_pred - batch["y"]) ** 2)


def gradient(xp, theta, batch):
    """The lesson's hand-written gradient (wrong: N times too large)."""
    x, y = batch["x"], batch["y"]
    y_pred = theta[0] * x
    return np.array([np.dot(2 * x, y_pred - y).mean()])


register_workload(
    Workload(
        name="linreg_lesson",
        lesson="the lesson's linear regression with its hand-written gradient",
        loss=loss,
        grad=gradient,
        grad_text="np.dot(2*x, y_pred - y).mean()",
        data=lambda rng: Dataset(
            {"x": np.array([1.0, 2.0, 3.0, 4.0]), "y": np.array([2.0, 4.0, 6.0, 8.0])}
        ),
        init=lambda rng, data: np.zeros(1),
        optimizers=(Optimizer("sgd", 0.01),),
        steps=20,
        shuffle=False,
        params=lambda theta: {"w": float(theta[0])},
        metric=lambda view: {"f(5)": 5.0 * float(view.final[0])},
    )
)
