"""The time tables a person reads: a unit per cell with at most four digits, digits that
follow the measured spread, a winner named only beyond the noise, and what autodiff costs
over the hand-written derivative — on synthetic records, then on a real small run."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from autodiff_bench.config import EMPTY
from autodiff_bench.model import TimeRecord
from autodiff_bench.model.records import figures_for, ratio_figures
from autodiff_bench.render.common import ratio_text, seconds_text
from autodiff_bench.render.time import (
    TimeRenderer,
    cell_parts,
    highlight_line,
    highlight_lines,
    markdown_cell,
)
from autodiff_bench.timing import TimeReport, resolve_time_plan
from autodiff_bench.timing.report import MIN_SPEEDUP, compare_cells

# ---- units and digits ------------------------------------------------------------------------


def _mantissa_digits(text: str) -> int:
    """Digits written in ``12.35 µs`` (4), ``0.5000 ns`` (5) or ``100 µs`` (3)."""
    return sum(c.isdigit() for c in text.split()[0])


def _significant(text: str) -> int:
    """Significant figures written: ``12.35`` 4, ``0.5000`` 4, ``100`` 1 (an integer's
    trailing zeros place the point)."""
    number = text.split()[0]
    if "." not in number:
        number = number.rstrip("0")
    return len(number.replace(".", "").lstrip("0")) or 1


@pytest.mark.parametrize("digits", [1, 2, 3, 4])
def test_every_duration_from_1_ns_to_100_s_has_at_most_four_digits_in_its_own_unit(
    digits: int,
) -> None:
    scales = {"ns": 1e-9, "µs": 1e-6, "ms": 1e-3, "s": 1.0}
    for seconds in np.logspace(-9, 2, 500):
        text = seconds_text(float(seconds), digits)
        number, unit = text.split()
        value = float(number)
        assert 1 <= value < 1000 or (unit == "s" and value >= 1000), text
        assert _mantissa_digits(text) <= 4 and _significant(text) <= digits, text
        # The text is the value, rounded: never off by more than half a unit in the last place.
        assert abs(value * scales[unit] - seconds) <= 0.5 * 10 ** (
            np.floor(np.log10(value)) - digits + 1
        ) * scales[unit] * (1 + 1e-9), text


def test_durations_pick_the_unit_of_each_cell() -> None:
    assert seconds_text(0.8, 4) == "800.0 ms"  # not "800000 µs" beside a 3 µs cell
    assert seconds_text(1.23456e-5, 4) == "12.35 µs"
    assert seconds_text(1.23456e-5, 1) == "10 µs"
    assert seconds_text(9.9996e-4, 4) == "1.000 ms"  # the rounding carries into ms
    assert seconds_text(999.4e-6, 3) == "999 µs"
    assert seconds_text(4.2e-9, 2) == "4.2 ns"
    assert seconds_text(5e-10, 2) == "0.50 ns"  # below 1 ns stays in ns
    assert seconds_text(123.456, 4) == "123.5 s"
    assert seconds_text(None) == "—"


def test_ratios_never_need_more_than_four_digits() -> None:
    assert ratio_text(3562.4, 4) == "×3562"
    assert ratio_text(3562.4, 2) == "×3600"
    assert ratio_text(0.6543, 2) == "×0.65"
    assert ratio_text(12345.0, 2) == "×1.2e4"
    assert ratio_text(98765.0, 1) == "×1e5"


def test_digits_follow_the_measured_spread() -> None:
    # The notch half-width 1.57·IQR/√n over the median: 1.57·0.01/10 = 0.16% → 2 digits.
    steady = _record("minigrad", [1e-5] * 2, median=1e-5, iqr=1e-7, samples=100)
    noisy = _record("minigrad", [1e-5] * 2, median=1e-5, iqr=3e-6, samples=10)
    assert steady.significant_figures == 2 and noisy.significant_figures == 1
    assert figures_for(1e-6) == 4 and figures_for(0.5) == 1
    # Uncertainties add in quadrature: a ratio is no more precise than its noisier median.
    assert ratio_figures(steady, steady) == 2
    assert ratio_figures(steady, noisy) == 1


def test_a_ratio_has_the_digits_of_both_medians_it_divides() -> None:
    """The same steady grad shows its ratio to f with 3 digits when f is steady, with one
    when f is noisy: the ratio carries the noise of both."""
    plan = _plan("manual,minigrad", sizes="200")
    grad = _record("minigrad", _samples(40e-6, 0.001, 200, 1), ratio_to_primal=2.7345)
    steady_f = _record("minigrad", _samples(14.63e-6, 0.001, 200, 2), quantity="primal")
    noisy_f = _record("minigrad", _samples(14.63e-6, 0.3, 20, 3), quantity="primal")
    grad.ratio_to_primal = grad.median_s / steady_f.median_s
    with_steady = cell_parts(grad, TimeReport(plan, [steady_f, grad]))
    grad.ratio_to_primal = grad.median_s / noisy_f.median_s
    with_noisy = cell_parts(grad, TimeReport(plan, [noisy_f, grad]))
    assert re.fullmatch(r"×\d\.\d\d f", with_steady.ratios), with_steady
    assert re.fullmatch(r"×\d f", with_noisy.ratios), with_noisy
    assert with_steady.median == with_noisy.median == seconds_text(grad.median_s, 3)
    assert grad.significant_figures == 3


# ---- the winner rule ---------------------------------------------------------------------------


def test_overlapping_samples_name_no_winner() -> None:
    base = _samples(40e-6, 0.10, 60, 7)
    verdict = compare_cells(_record("jax", base), _record("minigrad", [t * 1.03 for t in base]))
    assert not verdict.separated and verdict.iqr_overlap
    assert verdict.speedup == pytest.approx(1.03)


def test_clearly_separated_samples_name_the_winner_and_the_factor() -> None:
    fast = _record("jax", _samples(20e-6, 0.05, 60, 1))
    slow = _record("minigrad", _samples(40e-6, 0.05, 60, 2))
    verdict = compare_cells(fast, slow)
    assert verdict.separated and not verdict.iqr_overlap
    assert verdict.p_value is not None and verdict.p_value < 1e-6
    assert verdict.test.startswith("mann-whitney")
    assert verdict.speedup == pytest.approx(2.0, rel=0.05)


def test_a_steady_difference_under_the_drift_floor_names_no_winner() -> None:
    # 5% apart with 0.1% spread: the rank test is certain, but a median drifts more than 5%
    # between two runs of the same suite, so a winner could flip from run to run.
    fast = _record("jax", _samples(20e-6, 0.001, 100, 1))
    slow = _record("minigrad", _samples(21e-6, 0.001, 100, 2))
    verdict = compare_cells(fast, slow)
    assert verdict.speedup < MIN_SPEEDUP and not verdict.separated


def test_a_significant_shift_inside_the_spread_names_no_winner() -> None:
    # 1.3× apart, but each spread ±40%: many samples make the rank test significant, the
    # middle halves still overlap — the noise is larger than the difference.
    fast = _record("jax", _samples(20e-6, 0.4, 1000, 1))
    slow = _record("minigrad", _samples(26e-6, 0.4, 1000, 2))
    verdict = compare_cells(fast, slow)
    assert verdict.p_value is not None and verdict.p_value < 0.01
    assert verdict.iqr_overlap and not verdict.separated


def test_with_too_few_samples_for_the_rank_test_the_iqr_bands_decide() -> None:
    fast = _record("jax", [10e-6, 10.1e-6, 10.2e-6])
    slow = _record("minigrad", [30e-6, 30.5e-6, 31e-6])
    verdict = compare_cells(fast, slow)
    assert verdict.test == "iqr bands" and verdict.p_value is None and verdict.separated
    close = compare_cells(fast, _record("minigrad", [10.4e-6, 12e-6, 14e-6]))
    assert not close.separated


# ---- the summary line ------------------------------------------------------------------------


def test_the_same_grad_run_twice_within_the_noise_reads_the_same() -> None:
    """Run 1 has minigrad's median lower, run 2 jax's; both are within the noise, so both
    runs print the same sentence, naming neither."""
    plan = _plan("manual,minigrad,jax")
    base = _samples(40e-6, 0.10, 60, 11)
    lines = []
    for first, second in (("minigrad", "jax"), ("jax", "minigrad")):
        report = TimeReport(
            plan,
            [_record(first, base), _record(second, [t * 1.04 for t in base])],
        )
        (h,) = report.highlights()
        assert h.fastest_autodiff == first and not h.separated
        lines.append(highlight_line(h))
    assert lines[0] == lines[1]
    assert lines[0] == "least_squares grad at n=200: minigrad and jax were about as fast"


def test_a_clear_winner_is_named_with_its_factor() -> None:
    report = TimeReport(
        _plan("manual,minigrad,jax"),
        [
            _record("minigrad", _samples(40e-6, 0.05, 60, 1)),
            _record("jax", _samples(20e-6, 0.05, 60, 2)),
        ],
    )
    (h,) = report.highlights()
    assert h.separated and h.speedup == pytest.approx(2.0, rel=0.05)
    # 60 samples spread ±5% each: the factor is good to one digit.
    assert h.speedup_figures == 1
    assert highlight_line(h) == "least_squares grad at n=200: jax ran 2× faster than minigrad"
    # A winner between 1.1× and 1.5× keeps a second digit: "1×" would say no difference.
    report = TimeReport(
        report.plan,
        [
            _record("minigrad", _samples(26e-6, 0.05, 60, 1)),
            _record("jax", _samples(20e-6, 0.05, 60, 2)),
        ],
    )
    (h,) = report.highlights()
    assert h.separated and h.speedup_figures == 1
    assert highlight_line(h) == "least_squares grad at n=200: jax ran 1.3× faster than minigrad"


def test_the_summary_answers_what_autodiff_costs_over_the_closed_form_in_each_framework() -> None:
    """Each ratio is shown as the record carries it, against whichever closed form it was
    taken (here torch's own), and named generically."""
    plan = _plan("manual,torch,jax", sizes="1000")
    manual_torch = _record("manual", _samples(10e-6, 0.01, 100, 1), mode="torch", size=1000)
    manual_jax = _record("manual", _samples(10e-6, 0.01, 100, 2), mode="jax", size=1000)
    torch = _record("torch", _samples(38e-6, 0.01, 100, 3), size=1000)
    jax = _record("jax", _samples(11e-6, 0.01, 100, 4), size=1000)
    torch.ratio_to_manual = torch.median_s / manual_torch.median_s
    jax.ratio_to_manual = jax.median_s / manual_jax.median_s
    report = TimeReport(plan, [manual_torch, manual_jax, torch, jax])
    assert report.reference_of(torch, "ratio_to_manual") is manual_torch
    assert report.reference_of(jax, "ratio_to_manual") is manual_jax
    (h,) = report.highlights()
    assert [label for label, _, _ in h.to_manual] == ["torch", "jax"]
    assert highlight_line(h) == (
        "least_squares grad at n=1000: jax ran 3.5× faster than torch; autodiff costs 3.8× "
        "the hand-written derivative in torch, 1.1× in jax"
    )
    # The table shows the same ratio beside ×f.
    assert cell_parts(torch, report).ratios == "×3.8 manual"
    # Without the ratio, the line says only what it can.
    torch.ratio_to_manual = jax.ratio_to_manual = None
    (h,) = TimeReport(plan, [manual_torch, torch, jax]).highlights()
    assert highlight_line(h) == "least_squares grad at n=1000: jax ran 3.5× faster than torch"


def test_one_autodiff_backend_or_none() -> None:
    plan = _plan("manual,minigrad")
    manual = _record("manual", _samples(10e-6, 0.01, 100, 1), mode="default")
    grad = _record("minigrad", _samples(30e-6, 0.01, 100, 2))
    (h,) = TimeReport(plan, [manual, grad]).highlights()
    assert highlight_line(h) == (
        "least_squares grad at n=200: minigrad was the only autodiff backend measured"
    )
    grad.ratio_to_manual = grad.median_s / manual.median_s
    (h,) = TimeReport(plan, [manual, grad]).highlights()
    assert highlight_line(h) == (
        "least_squares grad at n=200: autodiff costs 3.0× the hand-written derivative in minigrad"
    )
    assert highlight_lines(TimeReport(plan, [manual])) == []  # nothing to say: no line


def test_a_line_per_size_and_quantity_and_raw_numbers_in_json() -> None:
    plan = resolve_time_plan(
        EMPTY,
        targets=["least_squares"],
        backends=["manual,minigrad,jax"],
        quantities=["grad,hessian"],
        sizes=["50,200"],
    )
    records = [
        _record(b, _samples(t * n, 0.05, 60, i), quantity=q, size=n)
        for i, (n, q, b, t) in enumerate(
            (n, q, b, t)
            for n in (50, 200)
            for q in ("grad", "hessian")
            for b, t in (("minigrad", 4e-7), ("jax", 1e-7))
        )
    ]
    report = TimeReport(plan, records)
    lines = highlight_lines(report)
    assert [line.split(":")[0] for line in lines] == [
        "least_squares grad at n=50",
        "least_squares hessian at n=50",
        "least_squares grad at n=200",
        "least_squares hessian at n=200",
    ]
    for line in lines:
        assert line.endswith(": jax ran 4× faster than minigrad"), line
    doc = json.loads(TimeRenderer(report).render("json"))
    first = doc["highlights"][0]
    assert first["separated"] is True and first["speedup"] == pytest.approx(4.0, rel=0.05)
    assert first["p_value"] < 0.01 and first["autodiff"] == ["minigrad", "jax"]
    markdown = TimeRenderer(report).render("markdown")
    for line in lines:
        assert f"- {line}" in markdown
    cell = cell_parts(report.get("least_squares", 50, "grad", "jax"), report)
    assert f"| {markdown_cell(cell)} |" in markdown


# ---- a real run --------------------------------------------------------------------------------


def test_a_real_run_prints_a_unit_per_cell_and_the_cost_over_the_closed_form(cli) -> None:
    run = cli(
        "time",
        "-t",
        "least_squares",
        "-b",
        "manual,minigrad",
        "-q",
        "grad,hvp",
        "-n",
        "4,64",
        "--budget",
        "0.02",
        "--min-samples",
        "5",
    )
    assert run.code == 0, run.err
    table = run.out.split("growth")[0]
    durations = re.findall(r"(\d[\d.]*) (ns|µs|ms|s)\b", table)
    assert len(durations) >= 2 * 3 * 2 * 2  # median and cold of 6 cells × 2 backends
    for number, unit in durations:
        assert _mantissa_digits(number) <= 4 and 1 <= float(number) < 1000, (number, unit)
    ratios = re.findall(r"×([\d.e]+) (f|manual)\b", table)
    assert {kind for _, kind in ratios} == {"f", "manual"}
    for number, _ in ratios:
        assert _mantissa_digits(number) <= 4
    for n in (4, 64):
        for q in ("grad", "hvp"):
            assert re.search(
                rf"least_squares {q} at n={n}: autodiff costs [\d.]+× the hand-written "
                r"derivative in minigrad\n",
                run.out,
            ), run.out
    assert "per call)" in run.out and "×m manual" in run.out


# ---- helpers -----------------------------------------------------------------------------------


def _plan(backends: str, sizes: str = "200"):
    return resolve_time_plan(
        EMPTY, targets=["least_squares"], backends=[backends], quantities=["grad"], sizes=[sizes]
    )


def _samples(median: float, spread: float, n: int, seed: int) -> list[float]:
    """``n`` seeded per-call times around ``median``, relative standard deviation ``spread``."""
    rng = np.random.default_rng(seed)
    return [float(t) for t in median * (1 + spread * rng.standard_normal(n))]


def _record(
    backend: str,
    times: list[float],
    *,
    mode: str = "default",
    quantity: str = "grad",
    size: int = 200,
    median: float | None = None,
    iqr: float | None = None,
    samples: int | None = None,
    ratio_to_primal: float | None = None,
) -> TimeRecord:
    q25, q50, q75 = np.percentile(times, [25, 50, 75])
    return TimeRecord(
        target="least_squares",
        size=size,
        quantity=quantity,
        backend=backend,
        mode=mode,
        median_s=float(q50) if median is None else median,
        iqr_s=float(q75 - q25) if iqr is None else iqr,
        samples=len(times) if samples is None else samples,
        times_s=times,
        ratio_to_primal=ratio_to_primal,
    )


def test_the_rank_test_can_decide_with_a_thousand_samples_a_side() -> None:
    from autodiff_bench.compare.stats import rank_test_can_decide

    # C(2000, 1000) is far beyond a float: the comparison must not overflow.
    assert rank_test_can_decide(1000, 1000, 0.01)
    assert rank_test_can_decide(5, 5, 0.01) and not rank_test_can_decide(4, 4, 0.01)
