"""The EOL run report as a PDF: plain values into templates/eol/report_pdf.html."""

from workshop import charts
from workshop.eol.messages import label
from workshop.eol.models import EolRun
from workshop.extensions import db
from workshop.i18n import format_be_date, format_local_datetime
from workshop.jobs.models import Job
from workshop.pdf import render_pdf

# series -> (x axis label, x unit, y unit); labels are catalogue names of workshop.eol.messages
SERIES_AXES = {
    "brake_vacuum": ("axis_time", "s", "kPa"),
    "dc_link_voltage": ("axis_time", "s", "V"),
    "torque_feedback": ("axis_time", "s", "Nm"),
    "cell_voltage": ("axis_cell", "", "V"),
    "cell_temperature": ("axis_sensor", "", "°C"),
}


def _axis(text: str, unit: str) -> str:
    return f"{text} ({unit})" if unit else text


# The measurement whose limit is a chart's criterion, where the first one in the chart's unit is
# not it (the vacuum build starts by proving the booster empty, <= 5 kPa, then must reach 54 kPa).
CRITERIA = {"brake_vacuum": ("vacuum_reached", "vacuum_recovered")}


def _limits_in(check, key: str, unit: str) -> dict:
    """The limits of the chart's criterion, else of the check's first measurement in the chart's
    ``unit`` (a time limit is never drawn on a voltage chart)."""
    candidates = [
        m
        for m in check.measurements
        if m.get("unit") == unit and (m.get("low") is not None or m.get("high") is not None)
    ]
    for m in candidates:
        if m.get("name") in CRITERIA.get(key, ()):
            return m
    return candidates[0] if candidates else {}


def run_charts(run: EolRun, locale: str = "th") -> list:
    """Charts of a run's series as (title, SVG), where a person would rather look than read."""
    out = []
    for check in run.checks:
        for key, data in (check.series or {}).items():
            if key not in SERIES_AXES or not data:
                continue
            x_name, x_unit, unit = SERIES_AXES[key]
            limits = _limits_in(check, key, unit)
            title = f"{check.title(locale)}: {label(key, locale)}"
            draw = charts.line_chart if isinstance(data[0], list | tuple) else charts.bar_chart
            svg = draw(
                data,
                x_label=_axis(label(x_name, locale), x_unit),
                y_label=_axis(label(key, locale), unit),
                title=title,
                low=limits.get("low"),
                high=limits.get("high"),
                unit=unit,
            )
            out.append((title, svg))
    return out


def render_run_report(run: EolRun, figures=()) -> bytes:
    """The A4 PDF report of a finished run (Thai and English), with ``figures`` as (title, svg)."""
    job = db.session.get(Job, run.job_id) if run.job_id else None
    context = {
        "run_id": run.id,
        "status": run.status.value,
        "abort_reason": run.abort_text("th"),
        "abort_reason_en": run.abort_text("en"),
        "bench": run.bench,
        "simulated": run.simulated,
        "kit_id": run.kit_id,
        "sequences": [s.upper() for s in run.sequences],
        "requested_by": run.requested_by.full_name,
        "requested_at": format_local_datetime(run.requested_at, "th"),
        "requested_at_en": format_local_datetime(run.requested_at, "en"),
        "date_be": format_be_date(run.finished_at, "th"),
        "trace_sha256": run.trace_sha256,
        "trace_frames": run.trace_frames,
        "job": {
            "reference": job.reference,
            "vin": job.vehicle.vin,
            "vehicle": f"{job.vehicle.make} {job.vehicle.model} {job.vehicle.year}",
            "plate": job.vehicle.plate,
        }
        if job
        else None,
        "checks": [
            {
                "sequence": c.sequence.upper(),
                "title_th": c.title_th,
                "title_en": c.title_en,
                "outcome": c.outcome,
                "message": c.message_in("th"),
                "message_en": c.message_in("en"),
                "measurements": [
                    {
                        "name": label(m.get("name", ""), "th"),
                        "value": m.get("value"),
                        "unit": m.get("unit", ""),
                        "limits": m.get("limits_text", ""),
                    }
                    for m in c.measurements
                ],
            }
            for c in run.checks
        ],
        "charts": [(title, str(svg)) for title, svg in figures],
        "font_regular": "workshop:font/Sarabun-Regular.ttf",
        "font_bold": "workshop:font/Sarabun-Bold.ttf",
    }
    return render_pdf("eol/report_pdf.html", context)
