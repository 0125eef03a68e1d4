"""GPU runs, tested on a CPU with fakes: what each worker starts with (no JAX
pre-allocation, TensorFlow memory growth), TF32 off for ``check`` and recorded in the
environment, no worker output on the terminal, ``show --device``, the GPU's name.  The
checks that need a real GPU skip without one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from autodiff_bench import backends, device_info
from autodiff_bench.backends import BackendSpec, load_backend, tensorflow_backend
from autodiff_bench.backends.jax_backend import JaxBackend
from autodiff_bench.backends.manual import ManualBackend
from autodiff_bench.backends.tensorflow_backend import TensorFlowBackend
from autodiff_bench.backends.torch_backend import TorchBackend
from autodiff_bench.check import resolve_check_plan, run_check
from autodiff_bench.check.run import lanes_of, plan_cells
from autodiff_bench.config import EMPTY
from autodiff_bench.device_info import loaded_report, nvidia_smi_gpu_name, run_environment
from autodiff_bench.render.check import CheckRenderer
from autodiff_bench.render.time import TimeRenderer
from autodiff_bench.show import run_show
from autodiff_bench.targets import get_target
from autodiff_bench.timing import resolve_time_plan, run_time
from autodiff_bench.workers import Lane, supervise
from tests.conftest import adbench, installed, needs
from tests.test_workers import Recorder

# ---- fakes ------------------------------------------------------------------------------------


class PrecisionProbe(ManualBackend):
    """The closed forms, with a TF32 switch of its own (on until asked otherwise) and a
    "GPU" named by an environment variable: what a framework adapter reports."""

    name = "precision_probe"
    description = "a test backend with a fake TF32 switch"
    is_autodiff = True

    def load(self) -> None:
        """Start with the switch on, as TensorFlow does."""
        self.tf32 = True

    def apply_exact_precision(self) -> None:
        """Turn the switch off."""
        self.tf32 = False

    def precision_flags(self) -> dict[str, Any]:
        """The switch as it is now."""
        return {"tf32": self.tf32}

    def device_name(self) -> str | None:
        """The name a test put in the environment (read in the worker)."""
        return os.environ.get("ADBENCH_TEST_GPU_NAME")


@pytest.fixture
def probe(monkeypatch: pytest.MonkeyPatch) -> type[PrecisionProbe]:
    """The probe backend, registered for one test only."""
    monkeypatch.setitem(backends._REGISTRY, PrecisionProbe.name, PrecisionProbe)
    return PrecisionProbe


def fake_torch() -> SimpleNamespace:
    """A torch with torch's precision switches at their defaults (cuDNN TF32 on)."""
    state = {"matmul": "highest"}
    torch = SimpleNamespace(
        backends=SimpleNamespace(
            cuda=SimpleNamespace(matmul=SimpleNamespace(allow_tf32=False)),
            cudnn=SimpleNamespace(allow_tf32=True),
        ),
        cuda=SimpleNamespace(current_device=lambda: 0, get_device_name=lambda i: f"Fake GPU {i}"),
        get_float32_matmul_precision=lambda: state["matmul"],
        set_float32_matmul_precision=lambda p: state.update(matmul=p),
    )
    return torch


def fake_jax() -> SimpleNamespace:
    """A jax whose config records updates (``jax_default_matmul_precision`` unset)."""
    config = SimpleNamespace(jax_default_matmul_precision=None)
    config.update = lambda name, value: setattr(config, name, value)
    return SimpleNamespace(config=config)


def fake_tf(gpus: list[str]) -> SimpleNamespace:
    """A tensorflow with ``gpus``, TF32 on, recording memory-growth requests."""
    state: dict[str, Any] = {"tf32": True, "growth": {}}
    experimental = SimpleNamespace(
        enable_tensor_float_32_execution=lambda on: state.update(tf32=on),
        tensor_float_32_execution_enabled=lambda: state["tf32"],
        set_memory_growth=lambda gpu, on: state["growth"].update({gpu: on}),
        get_device_details=lambda gpu: {"device_name": f"Fake {gpu}"},
    )
    config = SimpleNamespace(
        experimental=experimental,
        list_physical_devices=lambda kind: list(gpus) if kind == "GPU" else ["CPU:0"],
        threading=SimpleNamespace(),
    )
    return SimpleNamespace(
        config=config,
        get_logger=lambda: SimpleNamespace(setLevel=lambda level: None),
        as_dtype=lambda name: name,
        state=state,
    )


# ---- every worker on a shared GPU -------------------------------------------------------------


def test_jax_workers_never_preallocate_the_gpu_and_keep_xla_quiet() -> None:
    for device in ("cpu", "cuda"):
        env = JaxBackend.worker_environment(threads=1, device=device)
        assert env["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"
        assert env["TF_CPP_MIN_LOG_LEVEL"] == "3"
        assert env["OMP_NUM_THREADS"] == "1"


def test_tensorflow_workers_grow_gpu_memory_instead_of_taking_it_all() -> None:
    assert TensorFlowBackend.worker_environment(None, "cuda")["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"
    assert "TF_FORCE_GPU_ALLOW_GROWTH" not in TensorFlowBackend.worker_environment(None, "cpu")


def test_check_lanes_on_cuda_carry_each_frameworks_variables() -> None:
    plan = resolve_check_plan(
        EMPTY, targets=["cubic"], backends=["jax", "tensorflow", "minigrad"], device="cuda"
    )
    env = {lane.name: dict(lane.env) for lane in lanes_of(plan, plan_cells(plan))}
    assert env["jax"]["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"
    assert env["tensorflow"]["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"
    assert env["tensorflow"]["TF_CPP_MIN_LOG_LEVEL"] == "3"


def test_tensorflow_load_turns_memory_growth_on_for_every_gpu(monkeypatch) -> None:
    tf = fake_tf(["GPU:0", "GPU:1"])
    monkeypatch.setitem(sys.modules, "tensorflow", tf)
    monkeypatch.setattr(TensorFlowBackend, "is_available", classmethod(lambda cls: True))
    monkeypatch.setattr(tensorflow_backend, "TensorFlowNamespace", lambda *args: None)
    backend = TensorFlowBackend(device="cuda")
    backend.ensure_loaded()
    assert tf.state["growth"] == {"GPU:0": True, "GPU:1": True}
    assert backend.device_name() == "Fake GPU:0"
    assert tf.state["tf32"] is True  # time: TensorFlow's own default is kept


def test_tensorflow_without_a_gpu_is_unavailable_with_the_reason(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorflow", fake_tf([]))
    monkeypatch.setattr(TensorFlowBackend, "is_available", classmethod(lambda cls: True))
    got = load_backend(BackendSpec("tensorflow", "eager"), device="cuda")
    assert got == ("unavailable", "tensorflow sees no GPU")


# ---- TF32 off for check, each framework's own setting for time -------------------------------


def test_torch_exact_precision_turns_every_tf32_switch_off() -> None:
    backend = TorchBackend(device="cuda")
    backend.torch = fake_torch()
    assert backend.precision_flags() == {
        "float32_matmul_precision": "highest",
        "cuda_matmul_allow_tf32": False,
        "cudnn_allow_tf32": True,
    }
    backend.apply_exact_precision()
    assert backend.precision_flags() == {
        "float32_matmul_precision": "highest",
        "cuda_matmul_allow_tf32": False,
        "cudnn_allow_tf32": False,
    }
    assert backend.device_name() == "Fake GPU 0"


def test_torch_flags_it_cannot_read_are_left_out() -> None:
    torch = fake_torch()

    def refuse() -> str:
        raise RuntimeError("a mix of the legacy and new APIs")

    torch.get_float32_matmul_precision = refuse
    backend = TorchBackend()
    backend.torch = torch
    assert backend.precision_flags() == {"cuda_matmul_allow_tf32": False, "cudnn_allow_tf32": True}


def test_jax_exact_precision_sets_the_default_matmul_precision() -> None:
    backend = JaxBackend(device="cuda")
    backend.jax = fake_jax()
    assert backend.precision_flags() == {"default_matmul_precision": "default"}
    backend.apply_exact_precision()
    assert backend.precision_flags() == {"default_matmul_precision": "highest"}
    backend._device = SimpleNamespace(device_kind="NVIDIA H200")
    assert backend.device_name() == "NVIDIA H200"


def test_tensorflow_exact_precision_turns_tensor_float_32_off() -> None:
    backend = TensorFlowBackend(device="cuda")
    backend.tf = tf = fake_tf(["GPU:0"])
    assert backend.precision_flags() == {"tensor_float_32_execution": True}
    backend.apply_exact_precision()
    assert tf.state["tf32"] is False
    assert backend.precision_flags() == {"tensor_float_32_execution": False}


def test_exact_precision_is_applied_at_load_and_at_once_when_already_loaded(probe) -> None:
    later = probe()
    later.ensure_loaded()
    assert later.precision_flags() == {"tf32": True}
    later.set_exact_precision()
    assert later.precision_flags() == {"tf32": False}
    asked = load_backend(BackendSpec(probe.name, "default"), exact_precision=True)
    assert not isinstance(asked, tuple) and asked.precision_flags() == {"tf32": False}
    kept = load_backend(BackendSpec(probe.name, "default"))
    assert not isinstance(kept, tuple) and kept.precision_flags() == {"tf32": True}


def test_check_asks_for_exact_precision_and_records_it(probe) -> None:
    plan = resolve_check_plan(
        EMPTY, targets=["cubic"], quantities=["d1"], backends=["precision_probe", "manual"]
    )
    report = run_check(plan, in_process=True)
    assert {r.status for r in report.records} == {"pass"}
    env = CheckRenderer(report).document()["environment"]
    assert env["device"] == "cpu"
    assert env["gpu"] is None
    assert env["precision"] == {
        "requested": "highest",
        "flags": {"precision_probe": {"tf32": False}},
    }


def test_time_keeps_each_frameworks_setting_and_records_it(probe, monkeypatch) -> None:
    monkeypatch.setenv("ADBENCH_TEST_GPU_NAME", "Fake H200")
    plan = resolve_time_plan(
        EMPTY,
        targets=["least_squares"],
        quantities=["grad"],
        backends=["precision_probe"],
        sizes=["4"],
        budget=0.005,
        min_samples=3,
    )
    report = run_time(plan)  # in a worker process: the flags travel back with its load info
    assert {r.status for r in report.records} == {"pass"}
    env = TimeRenderer(report).document()["environment"]
    assert env["precision"] == {
        "requested": "default",
        "flags": {"precision_probe": {"tf32": True}},
    }
    assert env["gpu"] == "Fake H200"  # named by the worker that computed, not looked up here


# ---- the GPU's name ---------------------------------------------------------------------------


def test_the_gpu_name_comes_from_a_worker_and_nvidia_smi_is_the_fallback() -> None:
    asked: list[bool] = []

    def lookup() -> str | None:
        asked.append(True)
        return "NVIDIA H200 (nvidia-smi)"

    reports = [{"precision": {"numpy": {}}, "gpu": None}, {"precision": {}, "gpu": "NVIDIA H200"}]
    assert run_environment("cuda", "highest", reports, lookup)["gpu"] == "NVIDIA H200"
    assert asked == []
    assert run_environment("cuda", "highest", [{}], lookup)["gpu"] == "NVIDIA H200 (nvidia-smi)"
    assert run_environment("cpu", "highest", [{}], lookup)["gpu"] is None
    assert asked == [True]  # only asked for --device cuda with no worker's answer


def test_a_backend_that_cannot_report_is_left_out(probe) -> None:
    class Broken(PrecisionProbe):
        def precision_flags(self) -> dict[str, Any]:
            raise RuntimeError("cannot say")

    ok = probe()
    ok.ensure_loaded()
    broken = Broken()
    assert loaded_report([broken, ok]) == {
        "precision": {"precision_probe": {"tf32": True}},
        "gpu": None,
    }


@dataclass
class FakeRun:
    """What ``subprocess.run`` was called with, and what it returns."""

    stdout: str
    returncode: int = 0
    calls: list[list[str]] = field(default_factory=list)

    def __call__(self, command: list[str], **kwargs: Any) -> SimpleNamespace:
        self.calls.append(command)
        return SimpleNamespace(stdout=self.stdout, returncode=self.returncode)


def test_nvidia_smi_names_the_first_visible_gpu(monkeypatch) -> None:
    run = FakeRun("NVIDIA H200\nNVIDIA H200\n")
    monkeypatch.setattr(device_info.shutil, "which", lambda name: "/usr/bin/nvidia-smi")
    monkeypatch.setattr(device_info.subprocess, "run", run)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert nvidia_smi_gpu_name() == "NVIDIA H200"
    assert run.calls[-1] == ["/usr/bin/nvidia-smi", "--query-gpu=name", "--format=csv,noheader"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,1")
    assert nvidia_smi_gpu_name() == "NVIDIA H200"
    assert run.calls[-1][-1] == "--id=3"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    assert nvidia_smi_gpu_name() is None
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    run.returncode = 9
    assert nvidia_smi_gpu_name() is None


def test_without_nvidia_smi_there_is_no_name(monkeypatch) -> None:
    monkeypatch.setattr(device_info.shutil, "which", lambda name: None)

    def never(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("nothing to run")

    monkeypatch.setattr(device_info.subprocess, "run", never)
    assert nvidia_smi_gpu_name() is None


# ---- show --device ----------------------------------------------------------------------------


def test_show_on_cuda_reports_cpu_only_backends_as_unavailable(probe) -> None:
    plan = resolve_check_plan(
        EMPTY, targets=["least_squares"], backends=["minigrad", "manual"], points=0, device="cuda"
    )
    target = get_target("least_squares")
    point = target.sample(np.random.default_rng(0), 3)
    result = run_show(plan, target, point)
    assert {(r.label, r.status, r.message) for r in result.records} == {
        ("minigrad", "unavailable", "minigrad runs on the CPU only"),
        ("manual", "unavailable", "manual runs on the CPU only"),
    }
    assert result.environment["device"] == "cuda"


def test_show_judges_with_exact_precision_and_records_it(probe) -> None:
    plan = resolve_check_plan(EMPTY, targets=["cubic"], backends=["precision_probe"], points=0)
    target = get_target("cubic")
    result = run_show(plan, target, target.canonical[0])
    assert {r.status for r in result.records} == {"pass"}
    assert result.environment["precision"] == {
        "requested": "highest",
        "flags": {"precision_probe": {"tf32": False}},
    }


def test_show_device_cuda_on_the_command_line(cli) -> None:
    run = cli("show", "least_squares", "--size", "3", "-b", "minigrad", "--device", "cuda")
    assert run.code == 0, run.err
    assert "minigrad: unavailable: minigrad runs on the CPU only" in run.out
    assert "(float64, cuda)" in run.out
    bad = cli("show", "cubic", "--at", "1", "--device", "tpu")
    assert bad.code == 2 and "device" in bad.err


@needs("torch")
def test_show_torch_on_cuda_without_a_gpu_is_unavailable_not_a_crash(cli) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    run = cli("show", "cubic", "--at", "1", "-b", "torch,manual", "--device", "cuda", "-f", "json")
    assert run.code == 0, run.err
    statuses = {(r["label"], r["status"], r["message"]) for r in json.loads(run.out)["results"]}
    assert ("torch", "unavailable", "torch sees no CUDA device") in statuses


# ---- nothing a worker writes reaches the terminal ---------------------------------------------


@dataclass
class NoisyJob:
    """A worker job that writes to file descriptors 1 and 2 the way native framework code
    does: while it is unpickled in the child (a module that imports a framework), while it
    loads and in each cell.  Cell ``die`` exits; ``die_unpickling`` dies before loading."""

    cells: list[str]
    die_unpickling: bool = False

    def __setstate__(self, state: dict[str, Any]) -> None:
        os.write(2, b"E0000 noisy while unpickled\n")
        if state["die_unpickling"]:
            os._exit(4)
        self.__dict__.update(state)

    def load(self) -> dict[str, Any]:
        os.write(2, b"W0000 noisy while loading\n")
        os.write(1, b"noisy stdout while loading\n")
        return {}

    def run(self, index: int) -> int:
        os.write(2, f"I0000 noisy in cell {index}\n".encode())
        if self.cells[index] == "die":
            os._exit(5)
        return index


def noisy_lane(cells: list[str], die_unpickling: bool = False) -> Lane:
    return Lane("noisy", cells, lambda subset: NoisyJob(list(subset), die_unpickling))


def test_worker_output_never_reaches_the_terminal_but_names_a_death(capfd, monkeypatch) -> None:
    monkeypatch.delenv("ADBENCH_SHOW_FRAMEWORK_LOGS", raising=False)
    rec = Recorder()
    supervise([noisy_lane(["first", "die", "third"])], rec, cell_timeout_s=30)
    out, err = capfd.readouterr()
    assert "noisy" not in out + err
    assert rec.results == {"first": 0, "third": 0}  # the third: first of a fresh worker
    status, message = rec.failures["die"]
    assert status == "error"
    assert "exit code 5" in message and "I0000 noisy in cell 1" in message


def test_output_before_the_worker_starts_is_in_its_log_too(capfd, monkeypatch) -> None:
    monkeypatch.delenv("ADBENCH_SHOW_FRAMEWORK_LOGS", raising=False)
    rec = Recorder()
    supervise([noisy_lane(["ok"], die_unpickling=True)], rec, cell_timeout_s=30, load_timeout_s=30)
    out, err = capfd.readouterr()
    assert "noisy" not in out + err
    status, message = rec.failures["ok"]
    assert status == "error" and "died while loading" in message
    assert "exit code 4; last output: E0000 noisy while unpickled" in message


def test_framework_logs_are_shown_on_request(capfd, monkeypatch) -> None:
    monkeypatch.setenv("ADBENCH_SHOW_FRAMEWORK_LOGS", "1")
    rec = Recorder()
    supervise([noisy_lane(["ok"])], rec, cell_timeout_s=30)
    err = capfd.readouterr().err
    assert "E0000 noisy while unpickled" in err and "I0000 noisy in cell 0" in err


@pytest.mark.slow
@pytest.mark.skipif(not (installed("torch") and installed("jax")), reason="needs torch and jax")
def test_check_and_time_record_what_each_worker_set() -> None:
    """Through the real command line, frameworks loaded in workers: check turns cuDNN's
    TF32 (on by torch's default) off and JAX's matmul precision to highest; time keeps
    both defaults.  No framework line on stderr."""
    args = ("-t", "least_squares", "-q", "grad", "-b", "torch,jax", "-f", "json")
    check = adbench("check", *args)
    assert check.code == 0, check.err
    env = json.loads(check.out)["environment"]
    assert env["device"] == "cpu" and env["gpu"] is None
    assert env["precision"]["requested"] == "highest"
    assert env["precision"]["flags"]["torch"]["cudnn_allow_tf32"] is False
    assert env["precision"]["flags"]["torch"]["float32_matmul_precision"] == "highest"
    assert env["precision"]["flags"]["jax"] == {"default_matmul_precision": "highest"}
    timed = adbench("time", *args, "-n", "8", "--budget", "0.01")
    assert timed.code == 0, timed.err
    env = json.loads(timed.out)["environment"]
    assert env["precision"]["requested"] == "default"
    assert env["precision"]["flags"]["torch"]["cudnn_allow_tf32"] is True
    assert env["precision"]["flags"]["jax"] == {"default_matmul_precision": "default"}
    for run in (check, timed):
        assert not [line for line in run.err.splitlines() if line.strip()], run.err


# ---- on a real GPU ----------------------------------------------------------------------------


def _cuda_gpu() -> bool:
    if not installed("torch"):
        return False
    probe = "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"
    return subprocess.run([sys.executable, "-c", probe], check=False).returncode == 0


@pytest.mark.slow
def test_on_a_gpu_check_passes_in_float32_with_tf32_off_and_names_the_gpu() -> None:
    if not _cuda_gpu():
        pytest.skip("no CUDA GPU here")
    run = adbench(
        "check", "--device", "cuda", "--dtype", "float32", "-t", "trace_axb",
        "-b", "torch,torch:func,jax,jax:nojit", "-f", "json",
    )  # fmt: skip
    doc = json.loads(run.out)
    assert run.code == 0, [r["message"] for r in doc["results"] if r["status"] != "pass"]
    env = doc["environment"]
    assert env["gpu"]
    assert env["precision"]["flags"]["jax"] == {"default_matmul_precision": "highest"}
    assert env["precision"]["flags"]["torch"]["cuda_matmul_allow_tf32"] is False
    assert not [line for line in run.err.splitlines() if line.strip()], run.err
