"""The CI gate as shipped: the GitHub workflow is valid YAML whose commands are the README's,
parse as adbench command lines, and compare against committed baselines that describe
``configs/ci.toml``; ``.ci/run`` runs the same suite."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest

from autodiff_bench.compare import compare_files, load_runs

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "adbench.yml"
BASELINES = ROOT / "benchmarks" / "baselines"
CI_CONFIG = ROOT / "configs" / "ci.toml"

yaml = pytest.importorskip("yaml")  # PyYAML, in the `test` extra


def workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def run_lines() -> list[str]:
    """Every command line of every ``run:`` step of the workflow."""
    steps = [s for job in workflow()["jobs"].values() for s in job["steps"]]
    return [line.strip() for s in steps if "run" in s for line in s["run"].splitlines()]


def readme_section_commands() -> set[str]:
    """Lines of the fenced bash blocks in README's 'CI regression gate' section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## CI regression gate (`adbench compare`)", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    return {line.strip() for block in blocks for line in block.splitlines() if line.strip()}


def adbench_lines() -> list[list[str]]:
    """The workflow's adbench invocations as argument lists (inside loops, before pipes)."""
    out = []
    for line in run_lines():
        for part in re.split(r";|\|", line):
            part = part.strip().removeprefix("do ").strip()
            if part.startswith("adbench "):
                out.append(shlex.split(part)[1:])
    return out


def test_the_workflow_is_valid_yaml_triggered_on_push_and_pull_requests() -> None:
    doc = workflow()
    triggers = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"push", "pull_request"} <= set(triggers)
    (job,) = doc["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest" and job["timeout-minutes"] <= 90
    assert doc["defaults"]["run"]["shell"] == "bash"  # pipefail, so `| tee` keeps exit codes


def test_the_workflow_runs_exactly_the_readme_commands() -> None:
    lines = run_lines()
    documented = readme_section_commands()
    assert lines, "the workflow has no run steps"
    assert [line for line in lines if line not in documented] == []


def test_the_workflow_checks_times_compares_and_uploads() -> None:
    commands = adbench_lines()
    assert [c[0] for c in commands] == ["check", "time", "compare", "compare"]
    check, time, compare_check, compare_time = commands
    assert check[1:3] == ["--config", "configs/ci.toml"] == time[1:3]
    # compare reads what check and time wrote, against the committed baselines; the timing
    # runs go to one folder, compared as a whole with the baseline's folder of runs.
    assert compare_check[1:3] == ["benchmarks/baselines/ci-check.json", check[-1]]
    assert compare_time[1:3] == ["benchmarks/baselines/ci-time", str(Path(time[-1]).parent)]
    assert any(line.startswith("for run in 1 2 3; do adbench time") for line in run_lines())
    assert compare_time[compare_time.index("--metric") + 1] == "ratio_to_primal"
    assert all(c[c.index("--format") + 1] == "markdown" for c in (compare_check, compare_time))
    assert all('"$GITHUB_STEP_SUMMARY"' in line for line in run_lines() if "compare" in line)
    steps = next(iter(workflow()["jobs"].values()))["steps"]
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["with"]["path"] == "results/" and upload["if"] == "${{ !cancelled() }}"
    assert all(s.get("if") == "${{ !cancelled() }}" for s in steps if "compare" in s.get("run", ""))


def test_the_workflow_commands_parse_as_adbench_command_lines() -> None:
    import typer

    from autodiff_bench.cli import app

    group = typer.main.get_command(app)
    for args in adbench_lines():
        command = group.commands[args[0]]  # type: ignore[attr-defined]
        # Parsing validates every option and argument without running the command.
        ctx = command.make_context(args[0], args[1:])
        assert ctx.params, args


BASELINE = {"check": BASELINES / "ci-check.json", "time": BASELINES / "ci-time"}


def test_the_time_baseline_holds_five_runs() -> None:
    assert sorted(p.name for p in BASELINE["time"].glob("*.json")) == [
        f"run-{i}.json" for i in range(1, 6)
    ]


@pytest.mark.parametrize("command", ["check", "time"])
def test_the_committed_baseline_compares_with_itself(command: str) -> None:
    cmp = compare_files(BASELINE[command], BASELINE[command], metric="ratio_to_primal")
    assert cmp.command == command and cmp.exit_code == 0
    assert cmp.changed() == [] and len(cmp.cells) > 50
    assert all(c.base_status == "pass" for c in cmp.cells)


@pytest.mark.parametrize("command", ["check", "time"])
def test_the_committed_baseline_describes_configs_ci_toml(command: str) -> None:
    section = tomllib.loads(CI_CONFIG.read_text(encoding="utf-8"))[command]
    keys = ["targets", "dtype", "seed"] + (
        ["points"] if command == "check" else ["sizes", "quantities", "backends", "threads"]
    )
    for name, doc in load_runs(BASELINE[command]):
        assert doc["command"] == command
        recorded = dict(doc["config"])
        if "backends" in recorded:
            # time adds the closed form in each timed framework (manual:torch, ...) itself.
            asked = section.get("backends", [])
            recorded["backends"] = [
                b for b in recorded["backends"] if not b.startswith("manual:") or b in asked
            ]
        stale = {
            k: (section[k], recorded[k]) for k in keys if k in section and section[k] != recorded[k]
        }
        assert stale == {}, f"{name}: configs/ci.toml changed; refresh the baselines (README)"


CI_RUN = ROOT / ".ci" / "run"


def ci_run_lines() -> list[str]:
    """The command lines of ``.ci/run`` (comments and blank lines dropped)."""
    lines = (line.strip() for line in CI_RUN.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def ci_run_adbench_lines() -> list[list[str]]:
    """``.ci/run``'s adbench invocations as argument lists (inside loops, before pipes)."""
    out = []
    for line in ci_run_lines():
        for part in re.split(r";|\|", line):
            part = part.strip().removeprefix("do ").strip()
            if part.startswith(".venv/bin/adbench "):
                out.append(shlex.split(part)[1:])
    return out


def readme_test_command() -> str:
    """The one line of README's "Set up and pass the tests" block."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"Set up and pass the tests:\s*```bash\n(.*?)```", text, flags=re.S)
    assert block, "README has no 'Set up and pass the tests' block"
    (line,) = [ln.strip() for ln in block.group(1).splitlines() if ln.strip()]
    return line


def test_ci_run_runs_the_readme_test_command_and_fails_with_it() -> None:
    lines = ci_run_lines()
    assert lines[0] == "set -euo pipefail"
    (test_line,) = [line for line in lines if " -m pytest" in line]
    command, _, logged = test_line.partition(" | ")
    assert command == readme_test_command()
    assert logged == "tee .ci-pytest.log"
    # pytest's own status (not tee's) decides, and a run that collected nothing fails too.
    after = lines[lines.index(test_line) + 1 :]
    assert after[:3] == ["status=${PIPESTATUS[0]}", "set -e", 'if [ "$status" -ne 0 ]; then']
    assert "exit 1" in after[3:6]
    assert any(line.startswith("grep -Eq '[0-9]+ passed' .ci-pytest.log ||") for line in after)


def test_ci_run_runs_the_workflow_suite_against_the_committed_baselines() -> None:
    commands = ci_run_adbench_lines()
    assert [c[0] for c in commands] == ["check", "compare", "time", "compare"]
    check, compare_check, time, compare_time = commands
    assert check[1:3] == time[1:3] == ["--config", "configs/ci.toml"]
    assert compare_check[1:3] == ["benchmarks/baselines/ci-check.json", check[-1]]
    assert compare_time[1:3] == ["benchmarks/baselines/ci-time", str(Path(time[-1]).parent)]
    assert compare_time[3:] == ["--metric", "ratio_to_primal"]
    assert any(
        line.startswith("for run in 1 2 3; do .venv/bin/adbench time") for line in ci_run_lines()
    )
    # The same suite as the workflow's: each of its adbench lines, the markdown summary aside.
    workflow = [c[: c.index("--format")] if c[0] == "compare" else c for c in adbench_lines()]
    assert sorted(map(tuple, commands)) == sorted(map(tuple, workflow))


def test_ci_run_suite_lines_run_against_the_committed_baselines(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each adbench line of ``.ci/run`` run as written, on a small selection (one target, the
    NumPy backends, one timing run), writing under a temporary results/ folder."""
    from autodiff_bench.config import load_config
    from autodiff_bench.model import load_document

    monkeypatch.chdir(ROOT)
    results = tmp_path / "results"
    (results / "ci-time").mkdir(parents=True)
    narrow = {
        "check": ["-t", "cubic", "-b", "manual,finite,minigrad"],
        "time": ["-t", "least_squares", "-b", "manual,minigrad", "--sizes", "10"],
        # One fresh run on a busy test machine: only a gross break may fail this test.
        "compare": ["--max-slowdown", "100"],
    }
    for args in ci_run_adbench_lines():
        args = [a.replace("results/", f"{results}/").replace("$run", "1") for a in args]
        if "--config" in args:
            config = load_config(args[args.index("--config") + 1])
            assert config.section(args[0]), f"{args[1:3]} has no [{args[0]}] section"
        run = cli(*args, *narrow[args[0]])
        assert run.code == 0, (args, run.out, run.err)
        if args[0] == "compare":
            assert "OK: no changes" in run.out or "OK: no regression" in run.out
            assert "common check cells" in run.out or "common time cells" in run.out
        else:
            doc = load_document(args[args.index("--output") + 1], args[0])
            assert doc["results"] and {r["status"] for r in doc["results"]} == {"pass"}


def test_the_workflow_installs_torchs_cpu_build_before_adbench() -> None:
    steps = next(iter(workflow()["jobs"].values()))["steps"]
    install = next(s["run"] for s in steps if s.get("name") == "Install adbench")
    lines = [ln.strip() for ln in install.strip().splitlines()]
    # The pin of pyproject.toml, from the CPU index, before the extras could pull CUDA.
    assert lines[0].startswith("python -m pip install torch==2.13.0 --index-url ")
    assert lines[0].endswith("/whl/cpu")
    assert lines[1] == "python -m pip install -e '.[all]'"
    pin = next(d for d in (ROOT / "pyproject.toml").read_text().splitlines() if "torch==" in d)
    assert "torch==2.13.0" in pin
