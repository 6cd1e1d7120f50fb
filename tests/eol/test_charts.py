"""EOL charts read on a tablet: body-size text, units on both axes, limits in the chart's unit."""

import re
from types import SimpleNamespace

from workshop import charts
from workshop.eol.report import _limits_in


def _font_sizes(svg: str) -> set[float]:
    return {float(v) for v in re.findall(r'font-size="([\d.]+)"', svg)}


def test_line_chart_text_is_body_size_with_labelled_limit():
    svg = str(
        charts.line_chart(
            [(0, 0.5), (1.0, 24.0), (2.0, 23.5)],
            x_label="Time (s)",
            y_label="Torque feedback (Nm)",
            low=22,
            high=28,
            unit="Nm",
        )
    )
    assert min(_font_sizes(svg)) >= 16
    assert "Time (s)" in svg and "Torque feedback (Nm)" in svg
    assert ">22 Nm<" in svg and ">28 Nm<" in svg
    assert svg.count("stroke-dasharray") == 2


def test_bar_chart_numbers_many_bars_sparsely():
    svg = str(charts.bar_chart([3.3] * 100, x_label="Cell number", y_label="V", high=3.65))
    under_bars = re.findall(r'text-anchor="middle" font-size="16" fill="#34495e">(\d+)<', svg)
    assert under_bars[0] == "1" and under_bars[-1] == "100" and len(under_bars) <= 14
    assert min(_font_sizes(svg)) >= 16


def test_limits_come_from_a_measurement_in_the_charts_unit():
    check = SimpleNamespace(
        measurements=[
            {"name": "torque_response_time", "unit": "s", "low": None, "high": 0.5},
            {"name": "torque_feedback", "unit": "Nm", "low": 22.0, "high": 28.0},
        ]
    )
    assert _limits_in(check, "torque_feedback", "Nm")["name"] == "torque_feedback"
    precharge = SimpleNamespace(
        measurements=[{"name": "precharge_time", "unit": "s", "low": None, "high": 5.0}]
    )
    assert _limits_in(precharge, "dc_link_voltage", "V") == {}


def test_the_vacuum_chart_draws_the_54_kpa_criterion_not_the_empty_booster(tmp_path):
    """The build starts by proving the booster empty (<= 5 kPa): the chart's line is the
    vacuum it must reach, and the report's table prints both."""
    from workshop.eol.definitions import load_kit
    from workshop.eol.engine import run_eol
    from workshop.eol.simbus import SimulatedBus

    kit = load_kit("jazz-ev1")
    with SimulatedBus(kit, seed=2) as bus:
        result = run_eol(
            kit, bus, ["brakes"], check_ids=["brakes.vacuum_build"], trace_path=tmp_path / "t.blf"
        )
    build = result.result("brakes.vacuum_build")
    check = SimpleNamespace(measurements=[m.to_dict() for m in build.measurements])
    limits = _limits_in(check, "brake_vacuum", "kPa")
    assert (limits["name"], limits["low"], limits["limits_text"]) == (
        "vacuum_reached",
        54.0,
        "≥ 54 kPa",
    )
    assert [m["limits_text"] for m in check.measurements if m["unit"] == "kPa"] == [
        "≤ 5 kPa",
        "≥ 54 kPa",
    ]
    svg = str(
        charts.line_chart(
            build.series["brake_vacuum"], x_label="s", y_label="kPa", low=limits["low"], unit="kPa"
        )
    )
    assert ">54 kPa<" in svg
