"""Run configurations: the shipped files, validation errors that name key and file."""

from __future__ import annotations

import pytest

from autodiff_bench.check import resolve_check_plan
from autodiff_bench.config import EMPTY, load_config
from autodiff_bench.errors import UsageError
from tests.conftest import ROOT


def test_default_toml_is_what_a_bare_check_runs() -> None:
    from_file = resolve_check_plan(load_config(ROOT / "configs" / "default.toml"))
    built_in = resolve_check_plan(EMPTY)
    assert from_file.as_dict() == built_in.as_dict()
    assert from_file.tolerances == built_in.tolerances
    assert len(built_in.targets) >= 10 and built_in.dtype == "float64"


@pytest.mark.parametrize("name", ["default", "ci", "time", "scaling"])
def test_shipped_configs_are_valid(name: str) -> None:
    path = ROOT / "configs" / f"{name}.toml"
    from autodiff_bench.timing import resolve_time_plan

    cfg = load_config(path)
    assert cfg.sections, f"{path.name} has no section"
    if "check" in cfg.sections:
        assert resolve_check_plan(cfg).targets
    if "time" in cfg.sections:
        assert resolve_time_plan(cfg).cells()


def test_ci_config_is_a_fast_subset() -> None:
    plan = resolve_check_plan(load_config(ROOT / "configs" / "ci.toml"))
    assert 0 < len(plan.targets) < 10
    assert plan.points == 1


def test_tolerance_overrides_apply(tmp_path) -> None:
    p = tmp_path / "c.toml"
    p.write_text(
        "[tolerances.float64]\norder1 = [0.5, 0.25]\n"
        "[tolerances.finite.float32]\norder4 = [0.1, 0.1]\n"
        "[tolerances.target.cubic]\nd1 = [1e-3, 1e-3]\n"
    )
    plan = resolve_check_plan(load_config(p))
    assert plan.tolerances.lookup("float64", 1, finite=False) == (0.5, 0.25)
    assert plan.tolerances.lookup("float32", 4, finite=True) == (0.1, 0.1)
    assert plan.tolerances.lookup("float64", 1, finite=False, target="cubic", quantity="d1") == (
        1e-3,
        1e-3,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[check\n", "not valid TOML"),
        ("[check]\ntargts = 'all'\n", "unknown key 'check.targts'"),
        ("[check]\npoints = 'two'\n", "'check.points' must be an integer"),
        ("[chek]\n", "unknown section [chek]"),
        ("[tolerances.float64]\norder9 = [1, 1]\n", "tolerances.float64.order9"),
        ("[tolerances.float64]\norder1 = [1]\n", "[rtol, atol]"),
        ("[check]\ntargets = ['cubc']\n", "did you mean 'cubic'"),
        ("[check]\ndtype = 'float16'\n", "unknown dtype"),
    ],
)
def test_bad_configs_name_the_key_and_the_file(tmp_path, text: str, message: str) -> None:
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(UsageError) as exc:
        resolve_check_plan(load_config(p))
    assert message in str(exc.value)
    if "did you mean" not in message and "dtype" not in message:
        assert "bad.toml" in str(exc.value)


def test_missing_config_file() -> None:
    with pytest.raises(UsageError, match="does not exist"):
        load_config("no/such/config.toml")


def test_command_line_beats_config(tmp_path) -> None:
    p = tmp_path / "c.toml"
    p.write_text("[check]\npoints = 5\nseed = 9\n")
    plan = resolve_check_plan(load_config(p), points=1)
    assert plan.points == 1 and plan.seed == 9
