"""Does ``adbench time`` measure what a plain ``timeit`` loop measures?  And is it stable?

    python benchmarks/bench_time_fidelity.py [--size 256] [--rounds 3] [--budget 0.3]

For ``least_squares`` grad at n=256 from manual (the closed form in NumPy), torch and jax
(jitted), in one run:

1. the cells are timed through adbench's engine (worker processes, the harness), once per
   round, so at least twice;
2. in each round, the same cells are timed in this process by an independent ``timeit`` loop
   over code
   written here against each framework's own API (the computation the adapter runs: the
   same A, b, x, the same float64, one thread, JAX's result blocked on), and over the very
   call adbench's adapter prepares (so a gap between the two columns is adapter overhead,
   a gap to adbench's figure is the harness);
3. it prints each ratio adbench / timeit (the target is ±10%) and how far adbench's
   medians moved from one run to the next.

The ``timeit`` figure is the median over ``--repeat`` repeats of a loop count twice what
``Timer.autorange`` picks (≥ 0.4 s per repeat), with timeit's own GC switch-off.  Each column
is the median over the rounds, which interleave the methods.
"""

from __future__ import annotations

import os

# One thread everywhere, set before NumPy, torch or JAX is imported (as adbench's workers do).
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"

import argparse  # noqa: E402
import itertools  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import timeit  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

BACKENDS = ("manual", "torch", "jax")


def adbench_medians(size: int, budget: float) -> dict[str, float]:
    """Seconds per call of grad from each backend, through ``run_time`` (its workers)."""
    from autodiff_bench.config import EMPTY
    from autodiff_bench.timing import resolve_time_plan, run_time

    plan = resolve_time_plan(
        EMPTY,
        targets=["least_squares"],
        backends=[",".join(BACKENDS)],
        quantities=["grad"],
        sizes=[str(size)],
        budget=budget,
        min_samples=20,
        threads=1,
    )
    report = run_time(plan)
    out = {}
    for r in report.records:
        if r.quantity == "grad":
            if r.status != "pass":
                raise SystemExit(f"{r.backend} grad: {r.status}: {r.message}")
            out[r.backend] = r.median_s
    return out


def hand_written(size: int) -> dict[str, Callable[[], Any]]:
    """The gradient of ½‖Ax − b‖² written directly against each framework (no adbench code
    runs inside these calls), on the point adbench's workers use."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    import torch

    from autodiff_bench.targets import get_target
    from autodiff_bench.timing import sample_point

    jax.config.update("jax_enable_x64", True)
    torch.set_num_threads(1)
    p = sample_point(get_target("least_squares"), size, seed=0)
    x, a, b = p.x, p.params["A"], p.params["b"]

    def manual() -> Any:
        # The adapter hands back the closed form cast to the requested dtype: a copy.
        return (a.T @ (a @ x - b)).astype(np.float64)

    ta, tb, tx = (torch.as_tensor(np.array(v)) for v in (a, b, x))

    def torch_grad() -> Any:
        # As a training step does it: a fresh leaf, the loss, one reverse pass.
        xl = tx.detach().requires_grad_(True)
        loss = 0.5 * torch.sum((torch.matmul(ta, xl) - tb) ** 2)
        (g,) = torch.autograd.grad(loss, xl)
        return g

    cpu = jax.devices("cpu")[0]
    ja, jb, jx = (jax.device_put(v, cpu) for v in (a, b, x))
    jgrad = jax.jit(jax.grad(lambda x, a, b: 0.5 * jnp.sum((a @ x - b) ** 2)))

    def jax_grad() -> Any:
        # Dispatch is asynchronous: without blocking, timeit would time the enqueue only.
        return jgrad(jx, ja, jb).block_until_ready()

    return {"manual": manual, "torch": torch_grad, "jax": jax_grad}


def adapter_calls(size: int) -> dict[str, Callable[[], Any]]:
    """The very zero-argument calls adbench's adapters prepare (synchronised the same way)."""
    from autodiff_bench.backends import parse_backend
    from autodiff_bench.targets import get_target
    from autodiff_bench.timing import sample_point

    target = get_target("least_squares")
    point = sample_point(target, size, seed=0)
    out = {}
    for name in BACKENDS:
        backend = parse_backend(name).create(threads=1)
        call = backend.prepare(target, "grad", point)
        sync = backend.synchronize

        def synced(call: Callable[[], Any] = call, sync: Callable[[Any], None] = sync) -> Any:
            value = call()
            sync(value)
            return value

        out[name] = synced
    return out


def timeit_median(call: Callable[[], Any], repeat: int) -> float:
    """Median seconds per call over ``repeat`` timeit repeats of an autoranged loop."""
    call()  # the first call (compile) is not what is compared
    timer = timeit.Timer(call)
    loops, _ = timer.autorange()
    loops = max(loops, 1) * 2  # autorange stops at ≥ 0.2 s; twice that per repeat
    return statistics.median(t / loops for t in timer.repeat(repeat=repeat, number=loops))


def main() -> int:
    """Run the rounds and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--budget", type=float, default=0.3, help="adbench seconds per cell")
    parser.add_argument("--repeat", type=int, default=5, help="timeit repeats per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.rounds < 2:
        parser.error("--rounds must be 2 or more (the drift compares successive runs)")

    hand_calls, adapter = hand_written(args.size), adapter_calls(args.size)
    runs: list[dict[str, float]] = []
    hand: dict[str, list[float]] = {k: [] for k in BACKENDS}
    same: dict[str, list[float]] = {k: [] for k in BACKENDS}
    # Rounds interleave the two methods: on a shared machine the speed of the CPU drifts
    # over tens of seconds, and a drift must not pass for a difference between methods.
    for _ in range(args.rounds):
        runs.append(adbench_medians(args.size, args.budget))
        for k in BACKENDS:
            hand[k].append(timeit_median(hand_calls[k], args.repeat))
            same[k].append(timeit_median(adapter[k], args.repeat))

    print(
        f"least_squares grad, n={args.size}, float64, 1 thread — median seconds per call, "
        f"median of {args.rounds} interleaved rounds"
    )
    head = (
        f"{'backend':<8} {'adbench':>10} {'timeit hand':>12} {'ratio':>6} "
        f"{'timeit adapter':>15} {'ratio':>6}  {'run-to-run drift':>16}  verdict"
    )
    print(head)
    print("-" * len(head))
    worst = moved = 0.0
    for k in BACKENDS:
        ours = statistics.median(r[k] for r in runs)
        h, a = statistics.median(hand[k]), statistics.median(same[k])
        r_hand, r_same = ours / h, ours / a
        # How far adbench's median moved from one run to the next (largest over the rounds).
        drift = max(abs(y[k] - x[k]) / x[k] for x, y in itertools.pairwise(runs))
        worst = max(worst, abs(r_hand - 1), abs(r_same - 1))
        moved = max(moved, drift)
        ok = "within ±10%" if max(abs(r_hand - 1), abs(r_same - 1)) <= 0.10 else "OUTSIDE ±10%"
        print(
            f"{k:<8} {ours:10.3e} {h:12.3e} {r_hand:6.3f} {a:15.3e} {r_same:6.3f}  "
            f"{drift:16.1%}  {ok}"
        )
    print(
        "adbench medians per run: "
        + "; ".join(f"{k}: " + ", ".join(f"{r[k]:.3e}" for r in runs) for k in BACKENDS)
    )
    print(f"largest |ratio − 1|: {worst:.1%}; largest run-to-run median drift: {moved:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
