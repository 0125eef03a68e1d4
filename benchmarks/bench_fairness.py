"""Time each backend's default gradient, Hessian and hvp against hand-written calls of the
same framework, and print the ratios (README, "Development": budget 1.3×).

    python benchmarks/bench_fairness.py [--sizes 50,200,1000] [--backends torch,jax]
                                        [--targets least_squares,logistic] [--budget 0.5]

For each installed backend among torch, tensorflow, jax and autograd, in its own process with
one thread: on each target and size, the default mode's ``grad``, ``hvp`` and ``hessian``
through adbench (``Backend.prepare``: the call ``adbench time`` measures) and the same
derivative called by hand, written out below as a user of that framework would
write it.  Where the framework has two idioms for a quantity (``torch.func.hessian`` or
``torch.func.jacrev(torch.func.grad(f))``, forward or reverse over reverse), both are timed
and adbench is compared with the faster: the ratio then also says whether adbench picked the
right idiom.  Same inputs, float64, the same ``f`` (the target's, on the framework's array
namespace).  The calls are timed in turns, one block of about a millisecond each, in every
order in turn, so machine noise hits all of them alike; the first (compiling) call is left
out.  Each call has its own copy of the inputs, as adbench's call has.

Each row shows adbench's median, the fastest hand-written idiom's median and the ratio
adbench/hand-written: the median of the per-turn ratios (the two blocks of one turn ran back
to back, under the same load, so this ratio is steadier than the ratio of the medians on a
shared machine).  The last line says whether every ratio is ≤ 1.3 (exit status 1 if not).
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

FRAMEWORKS = ("torch", "tensorflow", "jax", "autograd")
QUANTITIES = ("grad", "hvp", "hessian")
#: The budget: adbench's default within this factor of the best hand-written call.
BUDGET = 1.3

#: A zero-argument call and the function that waits for its result.
Call = Callable[[], Any]


# ---- the hand-written calls, one function per framework ---------------------------------
# Each returns {label: call} for one quantity; ``f(x, params)`` is the target's function on
# the framework's arrays, ``x``, ``v`` and ``params`` are already the framework's arrays.


def hand_torch(q: str, f: Callable[..., Any], x: Any, v: Any, params: Any) -> dict[str, Call]:
    """PyTorch: ``torch.autograd.grad`` and torch.func."""
    import torch

    if q == "grad":

        def autograd_grad() -> Any:
            xr = x.detach().requires_grad_(True)
            return torch.autograd.grad(f(xr, params), xr)[0]

        grad = torch.func.grad(f)
        return {"autograd.grad": autograd_grad, "func.grad": lambda: grad(x, params)}
    if q == "hessian":
        hess = torch.func.hessian(f)
        jacrev_grad = torch.func.jacrev(torch.func.grad(f))
        return {
            "func.hessian": lambda: hess(x, params),
            "func.jacrev(func.grad)": lambda: jacrev_grad(x, params),
        }

    def reverse_over_reverse() -> Any:
        xr = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(f(xr, params), xr, create_graph=True)
        return torch.autograd.grad(g, xr, v)[0]

    grad = torch.func.grad(f)
    return {
        "autograd.grad rev-rev": reverse_over_reverse,
        "func.jvp(func.grad)": lambda: torch.func.jvp(lambda y: grad(y, params), (x,), (v,))[1],
    }


def hand_tensorflow(q: str, f: Callable[..., Any], x: Any, v: Any, params: Any) -> dict[str, Call]:
    """TensorFlow: tapes inside ``tf.function``."""
    import tensorflow as tf

    if q == "grad":

        @tf.function
        def grad(x: Any, params: Any) -> Any:
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = f(x, params)
            return tape.gradient(y, x)

        return {"tf.function tape.gradient": lambda: grad(x, params)}
    if q == "hessian":

        @tf.function
        def hessian(x: Any, params: Any) -> Any:
            with tf.GradientTape() as outer:
                outer.watch(x)
                with tf.GradientTape() as inner:
                    inner.watch(x)
                    y = f(x, params)
                g = inner.gradient(y, x)
            return outer.jacobian(g, x)

        return {"tf.function tape.jacobian": lambda: hessian(x, params)}

    @tf.function
    def nested(x: Any, v: Any, params: Any) -> Any:
        with tf.GradientTape() as outer:
            outer.watch(x)
            with tf.GradientTape() as inner:
                inner.watch(x)
                y = f(x, params)
            gv = tf.reduce_sum(inner.gradient(y, x) * v)
        return outer.gradient(gv, x)

    @tf.function
    def forward_over_reverse(x: Any, v: Any, params: Any) -> Any:
        with tf.autodiff.ForwardAccumulator(x, v) as acc:
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = f(x, params)
            g = tape.gradient(y, x)
        return acc.jvp(g)

    return {
        "tf.function nested tapes": lambda: nested(x, v, params),
        "tf.function ForwardAccumulator": lambda: forward_over_reverse(x, v, params),
    }


def hand_jax(q: str, f: Callable[..., Any], x: Any, v: Any, params: Any) -> dict[str, Call]:
    """JAX: transformations under ``jax.jit``."""
    import jax
    import jax.numpy as jnp

    if q == "grad":
        grad = jax.jit(jax.grad(f))
        return {"jit(grad)": lambda: grad(x, params)}
    if q == "hessian":
        hess = jax.jit(jax.hessian(f))
        jacrev_grad = jax.jit(jax.jacrev(jax.grad(f)))
        return {
            "jit(hessian)": lambda: hess(x, params),
            "jit(jacrev(grad))": lambda: jacrev_grad(x, params),
        }

    @jax.jit
    def forward_over_reverse(x: Any, v: Any, params: Any) -> Any:
        return jax.jvp(lambda y: jax.grad(f)(y, params), (x,), (v,))[1]

    @jax.jit
    def reverse_over_reverse(x: Any, v: Any, params: Any) -> Any:
        return jax.grad(lambda y: jnp.vdot(jax.grad(f)(y, params), v))(x)

    return {
        "jit(jvp(grad))": lambda: forward_over_reverse(x, v, params),
        "jit(grad(<grad, v>))": lambda: reverse_over_reverse(x, v, params),
    }


def hand_autograd(q: str, f: Callable[..., Any], x: Any, v: Any, params: Any) -> dict[str, Call]:
    """HIPS autograd's differential operators."""
    import autograd

    if q == "grad":
        grad = autograd.grad(f)
        return {"grad": lambda: grad(x, params)}
    if q == "hessian":
        hess = autograd.hessian(f)
        jac_grad = autograd.jacobian(autograd.grad(f))
        return {
            "hessian": lambda: hess(x, params),
            "jacobian(grad)": lambda: jac_grad(x, params),
        }
    hvp = autograd.hessian_vector_product(f)
    grad = autograd.grad(f)
    return {
        "hessian_vector_product": lambda: hvp(x, params, v),
        "make_jvp(grad)": lambda: autograd.make_jvp(grad)(x, params)(v)[1],
    }


HAND = {
    "torch": hand_torch,
    "tensorflow": hand_tensorflow,
    "jax": hand_jax,
    "autograd": hand_autograd,
}


# ---- one backend, in its own process ----------------------------------------------------


def interleaved(
    calls: dict[str, Call], sync: Callable[[Any], None], budget_s: float
) -> dict[str, list[float]]:
    """Samples (seconds per call) of every call, taken in turns: one block of calls of each,
    until ``budget_s`` has passed (at least 7 turns).  The turns cycle through every order of
    the calls, so each follows each other one equally often (a call that leaves the
    allocator or the cache in a bad state slows all the others alike).

    The first call of each (compilation, tracing) is made before, and kept out; each block
    is calibrated to last about a millisecond, above the clock's resolution."""
    import gc
    import time

    from autodiff_bench.timing.harness import calibrate_loops

    clock = time.perf_counter_ns
    for call in calls.values():
        sync(call())
    loops = {label: calibrate_loops(call, sync, 1e6, clock) for label, call in calls.items()}
    samples: dict[str, list[float]] = {label: [] for label in calls}
    orders = list(itertools.permutations(calls))
    gc.collect()
    gc.disable()
    try:
        start = clock()
        turn = 0
        while turn < len(orders) or (clock() - start) * 1e-9 < budget_s:
            for label in orders[turn % len(orders)]:
                call, n = calls[label], loops[label]
                t0 = clock()
                for _ in range(n):
                    sync(call())
                samples[label].append((clock() - t0) * 1e-9 / n)
            turn += 1
    finally:
        gc.enable()
    return samples


def inputs(backend: Any, point: Any, v: Any) -> tuple[Any, Any, Any]:
    """``x``, ``v`` and the params as fresh arrays of the backend's framework (copied first:
    NumPy backends' ``asarray`` keeps the array it is given)."""
    import numpy as np

    def fresh(a: Any) -> Any:
        return backend.asarray(np.array(a, copy=True))

    return fresh(point.x), fresh(v), {k: fresh(a) for k, a in point.params.items()}


def run_worker(name: str, targets: list[str], sizes: list[int], budget: float) -> None:
    """Time every cell of one backend and print one JSON line per cell."""
    import numpy as np

    from autodiff_bench.backends import BackendSpec, all_backends, load_backend
    from autodiff_bench.targets import direction, get_target
    from autodiff_bench.timing.harness import quantile

    cls = all_backends()[name]
    backend = load_backend(BackendSpec(name, cls.modes[0]), dtype="float64", threads=1)
    if isinstance(backend, tuple):
        print(json.dumps({"backend": name, "skipped": f"{backend[0]}: {backend[1]}"}), flush=True)
        return
    xp = backend.xp
    # The hand-written calls are built per idiom and cell: keep the traced functions of the
    # spare builds from piling up in TensorFlow's and JAX's caches.
    for tname in targets:
        target = get_target(tname)
        for n in sizes:
            point = target.sample(np.random.default_rng(0), n).astype("float64")
            v_np = direction(0, tname, 0, point.x.shape).astype("float64")

            def f(x: Any, params: Any, target: Any = target) -> Any:
                return target.f(xp, x, params)

            for q in QUANTITIES:
                calls = {"adbench": backend.prepare(target, q, point, v_np if q == "hvp" else None)}
                # Every call gets its own copy of the inputs, as adbench's has: calls that
                # shared one would find it in the cache after each other (at n = 1000, A is
                # 8 MB), and the one with its own copy would pay the misses alone.
                for label in HAND[name](q, f, *inputs(backend, point, v_np)):
                    calls[label] = HAND[name](q, f, *inputs(backend, point, v_np))[label]
                samples = interleaved(calls, backend.synchronize, budget)
                medians = {label: quantile(s, 0.5) for label, s in samples.items()}
                hand = {label: t for label, t in medians.items() if label != "adbench"}
                best = min(hand, key=hand.__getitem__)
                # Paired: the blocks of one turn ran back to back, under the same load.
                paired = [a / h for a, h in zip(samples["adbench"], samples[best], strict=True)]
                cell = {"backend": name, "target": tname, "n": n, "quantity": q}
                cell |= {"adbench": medians["adbench"], "hand": hand, "best": best}
                print(json.dumps({**cell, "ratio": quantile(paired, 0.5)}), flush=True)


# ---- the table ---------------------------------------------------------------------------


def fmt_time(seconds: float) -> str:
    """Three significant figures in the unit that keeps the number below 1000."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def main() -> None:
    """Run every backend's worker in turn and print the table and the verdict."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,200,1000", help="comma-separated sizes n")
    parser.add_argument("--backends", default=",".join(FRAMEWORKS))
    parser.add_argument("--targets", default="least_squares,logistic")
    parser.add_argument("--budget", type=float, default=0.5, help="seconds of turns per cell")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    targets = args.targets.split(",")
    if args.worker:
        run_worker(args.worker, targets, sizes, args.budget)
        return

    from autodiff_bench.backends import all_backends

    root = Path(__file__).resolve().parents[1]
    rows: list[dict[str, Any]] = []
    for name in args.backends.split(","):
        if name not in HAND:
            parser.error(f"no hand-written calls for backend '{name}' (choose from {FRAMEWORKS})")
        if importlib.util.find_spec(name) is None:
            print(f"{name}: not installed, skipped")
            continue
        cls = all_backends()[name]
        env = {
            **os.environ,
            **cls.worker_environment(1, "cpu"),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
        }
        cmd = [sys.executable, __file__, "--worker", name, "--sizes", args.sizes]
        cmd += ["--targets", args.targets, "--budget", str(args.budget)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        if proc.returncode != 0 or not lines:
            tail = proc.stderr.strip().splitlines()[-3:]
            print(f"{name}: worker failed (exit {proc.returncode}): {' | '.join(tail)}")
            continue
        for line in lines:
            if "skipped" in line:
                print(f"{name}: {line['skipped']}")
            else:
                rows.append({"mode": cls.modes[0], **line})

    head = f"{'backend':20s} {'target':14s} {'n':>5s} {'quantity':8s} {'adbench':>9s}"
    print(f"\n{head}  {'by hand':>9s} {'(the fastest idiom)':34s}  {'ratio':>6s}  others")
    worst: tuple[float, str] = (0.0, "")
    for row in rows:
        best, ratio = row["best"], row["ratio"]
        hand = row["hand"]
        cell = f"{row['backend']}:{row['mode']} {row['target']} n={row['n']} {row['quantity']}"
        worst = max(worst, (ratio, cell))
        flag = "" if ratio <= BUDGET else "  > 1.3"
        print(
            f"{row['backend'] + ':' + row['mode']:20s} {row['target']:14s} {row['n']:5d} "
            f"{row['quantity']:8s} {fmt_time(row['adbench']):>9s}  "
            f"{fmt_time(hand[best]):>9s} {best:34s}  {ratio:5.2f}×  "
            + ", ".join(f"{k} {fmt_time(t)}" for k, t in hand.items() if k != best)
            + flag
        )
    if not rows:
        print("no backend measured")
        sys.exit(1)
    ok = worst[0] <= BUDGET
    print(
        f"\nevery ratio ≤ {BUDGET}: {'yes' if ok else 'NO'} "
        f"({len(rows)} cells; largest {worst[0]:.2f}× at {worst[1]})"
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
