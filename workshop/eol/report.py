"""The EOL run report as a PDF: plain values into templates/eol/report_pdf.html."""

from workshop import charts
from workshop.certificates.pdf import render_pdf
from workshop.eol.messages import label
from workshop.eol.models import EolRun
from workshop.extensions import db
from workshop.i18n import format_be_date, format_local_datetime
from workshop.jobs.models import Job

SERIES_AXES = {
    "brake_vacuum": ("s", "kPa"),
    "dc_link_voltage": ("s", "V"),
    "torque_feedback": ("s", "Nm"),
    "cell_voltage": ("cell", "V"),
    "cell_temperature": ("sensor", "°C"),
}


def run_charts(run: EolRun, locale: str = "th") -> list:
    """Charts of a run's series as (title, SVG), where a person would rather look than read."""
    out = []
    for check in run.checks:
        for key, data in (check.series or {}).items():
            if key not in SERIES_AXES or not data:
                continue
            x_label, unit = SERIES_AXES[key]
            limits = next(
                (
                    m
                    for m in check.measurements
                    if m.get("low") is not None or m.get("high") is not None
                ),
                {},
            )
            title = f"{check.title(locale)}: {key}"
            if isinstance(data[0], list | tuple):
                svg = charts.line_chart(
                    data,
                    x_label=x_label,
                    y_label=unit,
                    title=title,
                    low=limits.get("low"),
                    high=limits.get("high"),
                )
            else:
                svg = charts.bar_chart(
                    data,
                    x_label=x_label,
                    y_label=unit,
                    title=title,
                    low=limits.get("low"),
                    high=limits.get("high"),
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
