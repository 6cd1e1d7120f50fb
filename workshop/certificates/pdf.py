"""Certificate PDF layouts: plain-value contexts built from a job, rendered by WeasyPrint from
``templates/certificates/pdf_*.html`` with a URL fetcher that serves only the bundled Sarabun font
and the QR image, never the network or the file system."""

import itertools
from datetime import datetime

import sqlalchemy as sa

from workshop import i18n
from workshop.certificates.eol_kits import eol_kit
from workshop.certificates.registration import particulars
from workshop.extensions import db
from workshop.inspection.models import Branch
from workshop.inspection.services import (
    active_signoffs,
    latest_decision,
    latest_values,
    technicians,
)
from workshop.jobs.models import Job
from workshop.national_id import format_national_id
from workshop.pdf import (  # noqa: F401  (shared renderer, re-exported for today's callers)
    FONT_DIR,
    FONT_URLS,
    QR_URL,
    RestrictedFetcher,
    qr_data_uri,
    qr_png,
    render_pdf,
    text_width_pt,
)
from workshop.provinces import province_name

WEIGHT_LABELS = {
    "curb_weight": ("น้ำหนักรถเปล่า", "Curb weight"),
    "front_axle": ("น้ำหนักลงเพลาหน้า", "Front axle load"),
    "rear_axle": ("น้ำหนักลงเพลาหลัง", "Rear axle load"),
}
BRANCH_NAMES = {
    Branch.MECHANICAL: ("วิศวกรเครื่องกล", "Mechanical engineer"),
    Branch.ELECTRICAL: ("วิศวกรไฟฟ้า", "Electrical engineer"),
}
SEQUENCE_NAMES = {
    "ecu": ("กล่องควบคุม EV ECU", "EV ECU"),
    "bms": ("ระบบจัดการแบตเตอรี่ BMS", "BMS"),
    "brakes": ("ระบบเบรก", "Brakes"),
}


def render_certificate(context: dict) -> bytes:
    """The certificate PDF (unsigned) for a context from :func:`certificate_context`."""
    return render_pdf(
        "certificates/pdf_certificate.html",
        context,
        {QR_URL: (qr_png(context["verify_url"]), "image/png")},
    )


def _num(value, digits=1) -> str:
    if value is None:
        return "—"
    return f"{float(value):,.{digits}f}"


def _components(job: Job) -> list[dict]:
    from workshop.kits.models import Component, ComponentStatus

    rows = db.session.scalars(
        sa.select(Component)
        .where(Component.job_id == job.id, Component.status == ComponentStatus.INSTALLED)
        .order_by(Component.category, Component.part_number, Component.serial)
    )
    return [
        {"category": c.category, "part_number": c.part_number, "serial": c.serial} for c in rows
    ]


# The annex's block of serials (templates/certificates/pdf_certificate.html, .serials): 7 pt
# Sarabun across the A4 text width (210 mm less the 14 mm margins), less 4 % for rounding.
ANNEX_FONT_PT = 7
ANNEX_WIDTH_PT = (210 - 2 * 14) * 72 / 25.4 * 0.96
ANNEX_INDENT = "    "


def _annex_lines(components: list[dict]) -> list[str]:
    """The installed components grouped by category and part number, each group's serials as
    many to a line as fit the annex's width (measured in the certificate's font).

    A few long lines of text where a line per serial made 120 line boxes (a tenth of the
    render); and a line never ends inside a serial, which a wrapping paragraph would do at
    its hyphens. Every serial is printed whole, in the order given.
    """
    lines = []
    for (category, part_number), group in itertools.groupby(
        components, key=lambda c: (c["category"], c["part_number"])
    ):
        serials = [c["serial"] for c in group]
        line = f"{category} · {part_number} ({len(serials)}):"
        width = text_width_pt(line, ANNEX_FONT_PT)
        for n, serial in enumerate(serials):
            piece = " " + serial + ("," if n < len(serials) - 1 else "")
            piece_width = text_width_pt(piece, ANNEX_FONT_PT)
            if width + piece_width > ANNEX_WIDTH_PT and line.strip():
                lines.append(line)
                line, piece = ANNEX_INDENT, piece[1:]
                width, piece_width = (
                    text_width_pt(ANNEX_INDENT, ANNEX_FONT_PT),
                    text_width_pt(piece, ANNEX_FONT_PT),
                )
            line += piece
            width += piece_width
        lines.append(line)
    return lines


# The safety measurements a technician records in the manual's steps that the certificate prints
# beside the EOL run's: every measurement input whose key starts with one of these.
SAFETY_MEASUREMENT_PREFIXES = ("isolation", "bonding")


def _measured_safety(job: Job) -> list[dict]:
    """Isolation and bonding as measured in the steps (value, limits, step, instrument), and the
    safety confirmations the manual prints in the annex (touch protection, IPXXD/IPXXB)."""
    from workshop.jobs.progress import latest_records, manual_of
    from workshop.manuals.schema import unit_symbol

    records = latest_records(job)
    rows = []
    for step in manual_of(job).steps:
        latest = records.get(step.id)
        if not latest:
            continue
        values = latest[-1].values or {}
        used = latest[-1].instruments or {}
        for inp in step.inputs:
            if inp.type == "confirmation" and inp.annex and values.get(inp.key) is True:
                rows.append(
                    {
                        "th": inp.label_th,
                        "en": inp.label_en,
                        "value": "ยืนยัน · confirmed",
                        "unit": "",
                        "limit": f"{inp.statement_th} · {inp.statement_en}",
                        "step": step.id,
                        "source": inp.source or "",
                        "instrument": None,
                    }
                )
                continue
            if inp.type != "measurement" or not inp.key.startswith(SAFETY_MEASUREMENT_PREFIXES):
                continue
            value = values.get(inp.key)
            if not isinstance(value, int | float):
                continue
            low = "" if inp.min is None else f"≥ {_num(inp.min, 1)}"
            high = "" if inp.max is None else f"≤ {_num(inp.max, 1)}"
            rows.append(
                {
                    "th": inp.label_th,
                    "en": inp.label_en,
                    "value": _num(value, 3 if abs(value) < 10 else 1),
                    "unit": unit_symbol(inp.unit),
                    "limit": " ".join(x for x in (low, high) if x),
                    "step": step.id,
                    "source": inp.source or "",
                    "instrument": used.get(inp.key),
                }
            )
    return rows


def _measurement(run, name):
    for check in run.checks:
        for m in check.measurements or []:
            if m.get("name") == name and isinstance(m.get("value"), int | float):
                return m["value"]
    return None


# The EOL run's safety measurements the certificate prints, each with the limit it was judged
# against and that limit's source from the kit's eol.toml (or its profile).
EOL_SAFETY_MEASUREMENTS = (
    ("isolation_resistance", "bms.isolation_min_ohm_per_v"),
    ("ac_isolation_resistance", "bms.ac_isolation_min_ohm_per_v"),
    ("precharge_time", "bms.precharge_within_s"),
    ("current_at_close", "bms.contactor_close_current_max_a"),
    ("link_ratio_at_close", "bms.precharge_min_link_ratio_pct"),
    ("hvil_shutdown_time", "bms.hvil_shutdown_within_s"),
    ("thermal_warning_time", "bms.thermal_warning_within_s"),
    ("torque_while_plugged", "ecu.charge_inhibit_max_nm"),
    ("dcdc_voltage_min", "ecu.dcdc_voltage_v"),
    ("vacuum_warning_time", "brakes.vacuum_warning_within_s"),
)


def _eol_safety(run) -> list[dict]:
    """The run's safety measurements with limits and sources (only those the run made)."""
    from workshop.eol.messages import label

    kit = eol_kit(run.kit_id)
    sources = kit.spec.sources if kit is not None else {}
    found = {}
    for check in run.checks:
        for m in check.measurements or []:
            found.setdefault(m.get("name"), m)
    rows = []
    for name, limit_key in EOL_SAFETY_MEASUREMENTS:
        m = found.get(name)
        if m is None or not isinstance(m.get("value"), int | float):
            continue
        value = m["value"]
        rows.append(
            {
                "th": label(name, "th"),
                "en": label(name, "en"),
                "value": _num(value, 3 if abs(value) < 10 else 1),
                "unit": m.get("unit") or "",
                "limit": m.get("limits_text") or "",
                "passed": m.get("outcome") == "pass",
                "source": sources.get(limit_key, ""),
            }
        )
    return rows


def _eol_summary(job: Job, battery_max_v: float | None) -> dict | None:
    from workshop.eol.runs import latest_complete_run

    run = latest_complete_run(job)
    if run is None:
        return None
    isolation_kohm = _measurement(run, "isolation_resistance")
    ohm_per_v = isolation_kohm * 1000 / battery_max_v if isolation_kohm and battery_max_v else None
    sequences = []
    for name in ("ecu", "bms", "brakes"):
        checks = [c for c in run.checks if c.sequence == name]
        sequences.append(
            {
                "th": SEQUENCE_NAMES[name][0],
                "en": SEQUENCE_NAMES[name][1],
                "passed": sum(c.outcome == "pass" for c in checks),
                "total": len(checks),
            }
        )
    finished = run.finished_at or run.requested_at
    return {
        "run_id": run.id,
        "status": run.status.value.upper(),
        "date_be": i18n.format_be_date(finished, "th"),
        "date_ce": i18n.format_ce_date(finished, "en"),
        "bench": run.bench,
        "simulated": run.simulated,
        "sequences": sequences,
        "isolation_kohm": _num(isolation_kohm, 1),
        "isolation_ohm_per_v": _num(ohm_per_v, 0),
        "cell_min_v": _num(_measurement(run, "cell_voltage_min"), 3),
        "cell_max_v": _num(_measurement(run, "cell_voltage_max"), 3),
        "pack_voltage_v": _num(_measurement(run, "pack_voltage"), 1),
        "vacuum_build_s": _num(_measurement(run, "build_time"), 1),
        "trace_sha256": run.trace_sha256,
        "checks": len(run.checks),
        "bench_kind": run.bench_kind,
        "waivers": _waivers(run.kit_id),
        "safety": _eol_safety(run),
    }


def _waivers(kit_id: str) -> list[dict]:
    """The checks the kit waives for certificates, with reason and reference (the annex)."""
    kit = eol_kit(kit_id)
    if kit is None:
        return []
    policy = kit.spec.certificate
    return [
        {"check": w.check, "reason": w.reason, "reference": w.reference} for w in policy.waivers
    ]


def _motor_number(job: Job, values: dict) -> dict:
    """The motor number as stamped on the motor (it replaces the engine number in the
    registration) and where it is stamped, in both languages."""
    from workshop.jobs.progress import manual_of

    number = str(values.get("motor_number_stamped") or "")
    where = values.get("motor_number_location")
    location = {"th": "", "en": ""}
    try:
        _step, choice = manual_of(job).find_input("motor_number_location")
    except KeyError:
        choice = None
    for option in getattr(choice, "options", ()):
        if option.value == where:
            location = {"th": option.label_th, "en": option.label_en}
    return {"number": number or "—", **location}


def _serial_range(serials: list[str]) -> str:
    if not serials:
        return "—"
    if len(serials) <= 3:
        return ", ".join(serials)
    return f"{serials[0]} … {serials[-1]} ({len(serials)})"


def certificate_context(job: Job, *, number: str, issued_at: datetime, verify_url: str) -> dict:
    """Everything the certificate prints, as plain values (no ORM objects reach the template)."""
    from workshop.kits.catalogue import job_kit

    vehicle, centre = job.vehicle, job.centre
    kit = job_kit(job)
    ratings = kit.ratings if kit is not None else None
    components = _components(job)

    def serials(category):
        return [c["serial"] for c in components if c["category"] == category]

    values = latest_values(job)
    motor_serials = serials("motor") or [str(values.get("motor_serial", ""))]
    found = particulars(job, values)
    weight_rows = []
    for limit in found.weights:
        w, change = limit.weight, limit.weight.change_percent
        if limit.limit_kg is not None:
            shown_limit = f"≤ {_num(limit.limit_kg, 0)} kg"
        elif limit.limit_percent is not None:
            shown_limit = f"≤ +{limit.limit_percent:g} %"
        else:
            shown_limit = "—"
        weight_rows.append(
            {
                "th": WEIGHT_LABELS[w.key][0],
                "en": WEIGHT_LABELS[w.key][1],
                "before": _num(w.before, 0),
                "after": _num(w.after, 0),
                "change": "—" if change is None else f"{change:+.1f} %",
                "limit": shown_limit,
                "exceeded": limit.exceeded,
            }
        )
    registration = found.registration
    decision = latest_decision(job)
    inspector = decision.decided_by or decision.inspector if decision is not None else None
    engineers = [
        {
            "branch": s.branch.value,
            "th": BRANCH_NAMES[s.branch][0],
            "en": BRANCH_NAMES[s.branch][1],
            "name": s.engineer.full_name,
            "licence_number": s.licence_number,
            "date_be": i18n.format_be_date(s.signed_at, "th"),
        }
        for branch, s in sorted(
            active_signoffs(job).items(), key=lambda kv: kv[0].value, reverse=True
        )
    ]
    battery = ratings.battery if ratings else None
    motor = ratings.motor if ratings else None
    charger = ratings.charger if ratings else None
    return {
        "number": number,
        "job_reference": job.reference,
        "issued_be_th": i18n.format_be_date(issued_at, "th"),
        "issued_be_en": i18n.format_be_date(issued_at, "en"),
        "issued_ce_en": i18n.format_ce_date(issued_at, "en"),
        "verify_url": verify_url,
        "qr_url": QR_URL,
        "vehicle": {
            "vin": vehicle.vin,
            "plate": vehicle.plate,
            "province_th": province_name(vehicle.province, "th"),
            "province_en": province_name(vehicle.province, "en"),
            "make": vehicle.make,
            "model": vehicle.model,
            "year": vehicle.year,
            "colour": vehicle.colour,
            "engine_number": vehicle.engine_number or "—",
        },
        "motor_serial": ", ".join(s for s in motor_serials if s) or "—",
        "motor_number": _motor_number(job, values),
        "motor": None
        if motor is None
        else {
            "type": motor.type,
            "maker": f"{motor.manufacturer} {motor.model}",
            "rated_kw": _num(motor.rated_power_kw, 1),
            "max_30min_kw": _num(motor.max_30min_power_kw, 1),
            "peak_kw": _num(motor.peak_power_kw, 1),
            "voltage_v": _num(motor.voltage_v, 0),
        },
        "battery": None
        if battery is None
        else {
            "chemistry": battery.chemistry,
            "cells": f"{battery.cells_series}S{battery.cells_parallel}P",
            "cell": f"{battery.cell_manufacturer} {battery.cell_model}, "
            f"{_num(battery.cell_capacity_ah, 0)} Ah",
            "nominal_v": _num(battery.nominal_voltage_v, 0),
            "max_v": _num(battery.max_voltage_v, 0),
            "energy_kwh": _num(battery.energy_kwh, 1),
            "serials": _serial_range(serials("battery")),
        },
        "charger": None
        if charger is None
        else {
            "power_kw": _num(charger.power_kw, 1),
            "ac": f"{_num(charger.ac_voltage_min_v, 0)}–{_num(charger.ac_voltage_max_v, 0)} V AC, "
            f"{_num(charger.ac_frequency_min_hz, 0)}–{_num(charger.ac_frequency_max_hz, 0)} Hz",
            "dc": "; ".join(
                f"{_num(r.min_v, 0)}–{_num(r.max_v, 0)} V DC, {_num(r.max_current_a, 1)} A"
                for r in charger.dc_ranges
            ),
            "serial": ", ".join(serials("charger")) or "—",
        },
        "kit": None
        if kit is None
        else {"id": kit.id, "version": kit.version, "th": kit.name_th, "en": kit.name_en},
        "weights": weight_rows,
        "registration": None
        if registration is None
        else {
            "category": registration.category,
            "category_th": registration.category_name("th"),
            "category_en": registration.category_name("en"),
            "seats": registration.seats,
            "gross_weight_kg": _num(registration.gross_weight_kg, 0),
            "payload_kg": _num(found.payload_kg, 0),
            "structural_change_th": registration.structural_change("th"),
            "structural_change_en": registration.structural_change("en"),
            "source": registration.source,
        },
        "owner": {
            "name": job.owner_name,
            "national_id": format_national_id(job.owner_national_id) or "—",
        },
        "eol": _eol_summary(job, battery.max_voltage_v if battery else None),
        "measured_safety": _measured_safety(job),
        "centre": {
            "code": centre.code,
            "th": centre.name_th,
            "en": centre.name_en,
            "address": centre.address,
            "licence_number": centre.licence_number,
        },
        "technicians": [u.full_name for u in technicians(job)],
        "engineers": engineers,
        "inspector": None
        if inspector is None
        else {
            "name": inspector.full_name,
            "date_be": i18n.format_be_date(decision.decided_at, "th"),
        },
        "components": components,
        "annex_lines": _annex_lines(components),
    }


def public_summary(context: dict) -> dict:
    """What the public verification page may show: no owner data, a masked VIN."""
    from workshop.vin import mask_vin

    v = context["vehicle"]
    return {
        "number": context["number"],
        "issued_be_th": context["issued_be_th"],
        "issued_ce_en": context["issued_ce_en"],
        "centre_code": context["centre"]["code"],
        "centre_th": context["centre"]["th"],
        "centre_en": context["centre"]["en"],
        "make": v["make"],
        "model": v["model"],
        "year": v["year"],
        "vin_masked": mask_vin(v["vin"]),
    }
