"""What a person reads: every `—` cell's reason, no hard wrap when piped, `show` without
markup accidents, Markdown tables one line per row, no stray warnings."""

from __future__ import annotations

from tests.conftest import ROOT, adbench

ENGINE = ROOT / "examples" / "teaching_engine.py"


def test_every_dash_cell_has_its_reason_listed(cli) -> None:
    run = cli("check", "-b", "lessongrad", "--backends-file", str(ENGINE), "-t", "cubic,tanh")
    assert run.code == 0
    (line,) = [ln for ln in run.out.splitlines() if ln.startswith("— lessongrad")]
    assert "differentiates once" in line
    assert "cubic d2, cubic d3, tanh d2, tanh d3, tanh d4" in line


def test_piped_output_never_wraps_a_line(cli) -> None:
    # A failing cell's detail line is long; piped, it stays one line with "expected" and
    # its number together.
    run = cli(
        "check", "-b", "lessongrad_buggy", "--backends-file",
        str(ROOT / "examples" / "teaching_engine_buggy.py"), "-t", "sin_x2", "-q", "d1",
    )  # fmt: skip
    (detail,) = [ln for ln in run.out.splitlines() if ln.startswith("sin_x2 d1 [")]
    assert "expected 3.0725214691687857 (max abs" in detail
    assert len(detail) > 160


def test_show_prints_brackets_in_formulas(cli) -> None:
    run = cli("show", "linreg_mse", "-b", "manual")
    assert "hessian = 2/N · [x 1]ᵀ[x 1]" in run.out


def test_show_markdown_keeps_a_matrix_on_its_row(cli) -> None:
    run = cli("show", "linreg_mse", "-b", "manual,minigrad", "-f", "markdown")
    rows = [ln for ln in run.out.splitlines() if ln.startswith("|")]
    assert len(rows) == 4  # header, rule, manual, minigrad
    assert all(r.endswith("|") for r in rows)
    assert "[[35.  7.]<br> [ 7.  2.]]" in rows[2]


def test_no_python_warning_reaches_stderr(tmp_path) -> None:
    # A target whose f warns (as NumPy does on an overflow at an extreme point): show
    # computes in this process, and stderr stays clean.
    path = tmp_path / "warns.py"
    path.write_text(
        "import warnings\n"
        "from autodiff_bench import Target, register, scalar_sampler\n"
        "def f(xp, x, p):\n"
        "    warnings.warn('overflow in exp', RuntimeWarning)\n"
        "    return x * x\n"
        "register(Target(name='warns', formula='x²', f=f,\n"
        "    closed_forms={'d1': lambda xp, x, p: 2 * x}, sample=scalar_sampler(-1, 1)))\n"
    )
    run = adbench(
        "show", "warns", "--at", "2", "-b", "manual", "--targets-file", str(path),
        env={"PYTHONWARNINGS": "always"},
    )  # fmt: skip
    assert run.code == 0, run.err
    assert "RuntimeWarning" not in run.err and "overflow" not in run.err
