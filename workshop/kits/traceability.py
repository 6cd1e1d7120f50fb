"""Traceability: a serial's history, a vehicle's components and jobs, and the battery register."""

import json

import sqlalchemy as sa

from workshop.columns import utcnow
from workshop.csvexport import csv_dicts
from workshop.extensions import db
from workshop.jobs.models import Job, Vehicle
from workshop.kits.catalogue import job_kit, normalise_serial
from workshop.kits.models import (
    Component,
    ComponentMove,
    ComponentStatus,
)
from workshop.kits.spec import BomLine


def serial_history(component: Component) -> list[ComponentMove]:
    """Every move of a component, oldest first."""
    return list(
        db.session.scalars(
            sa.select(ComponentMove)
            .where(ComponentMove.component_id == component.id)
            .order_by(ComponentMove.at, ComponentMove.id)
        )
    )


def find_serial(text: str, scope, limit: int = 50) -> list[Component]:
    """Components whose serial equals ``text`` (normalised), else contains it, within ``scope``."""
    serial = normalise_serial(text)
    if not serial:
        return []
    stmt = scope.filter(sa.select(Component), Component.centre_id)
    exact = list(db.session.scalars(stmt.where(Component.serial == serial).limit(limit)))
    if exact:
        return exact
    pattern = "%" + serial.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return list(
        db.session.scalars(
            stmt.where(Component.serial.like(pattern, escape="\\"))
            .order_by(Component.serial)
            .limit(limit)
        )
    )


def vehicle_components(vehicle: Vehicle, scope=None) -> list[Component]:
    """Every component installed in ``vehicle`` (within ``scope`` when given)."""
    stmt = sa.select(Component).where(
        Component.vehicle_id == vehicle.id, Component.status == ComponentStatus.INSTALLED
    )
    if scope is not None:
        stmt = scope.filter(stmt, Component.centre_id)
    return list(
        db.session.scalars(
            stmt.order_by(Component.category, Component.part_number, Component.serial)
        )
    )


def vehicle_jobs(vehicle: Vehicle, scope=None) -> list[Job]:
    """The jobs of ``vehicle`` (within ``scope`` when given), newest first."""
    stmt = sa.select(Job).where(Job.vehicle_id == vehicle.id)
    if scope is not None:
        stmt = scope.filter(stmt, Job.centre_id)
    return list(db.session.scalars(stmt.order_by(Job.created_at.desc(), Job.id.desc())))


BATTERY_FIELDS = (
    "vin",
    "serial",
    "part_number",
    "part_name",
    "unit",
    "chemistry",
    "cell_model",
    "capacity_ah",
    "nominal_voltage_v",
    "energy_kwh",
    "installed_at",
    "job",
    "kit",
    "centre",
)


def _battery_unit(line: BomLine, rating) -> tuple[str, float, float, float]:
    """(unit, capacity Ah, nominal V, energy kWh) of one serialised battery part of a kit.

    A line with as many units as the pack has cells is a cell; a single unit is the pack; anything
    in between is a module of ``cells / quantity`` cells in series.
    """
    cells = rating.cells_series * rating.cells_parallel
    if line.quantity >= cells:
        return (
            "cell",
            rating.cell_capacity_ah,
            rating.cell_nominal_voltage_v,
            round(rating.energy_kwh / cells, 4),
        )
    if line.quantity == 1:
        return (
            "pack",
            rating.cell_capacity_ah * rating.cells_parallel,
            rating.nominal_voltage_v,
            rating.energy_kwh,
        )
    return (
        "module",
        rating.cell_capacity_ah * rating.cells_parallel,
        round(rating.nominal_voltage_v / line.quantity, 2),
        round(rating.energy_kwh / line.quantity, 4),
    )


def battery_register(vehicle: Vehicle, scope=None) -> dict:
    """The traction battery of ``vehicle`` unit by unit, for recalls, second life and recycling."""
    entries, packs = [], {}
    for component in vehicle_components(vehicle, scope):
        if component.category != "battery" or component.job is None:
            continue
        kit = job_kit(component.job)
        line = None
        if kit is not None:
            try:
                line = kit.part(component.part_number)
            except KeyError:
                line = None
        rating = kit.ratings.battery if kit is not None else None
        entry = dict.fromkeys(BATTERY_FIELDS, "")
        entry.update(
            vin=vehicle.vin,
            serial=component.serial,
            part_number=component.part_number,
            part_name=line.name_en if line else "",
            installed_at=component.installed_at.isoformat() if component.installed_at else "",
            job=component.job.reference,
            kit=f"{kit.id} v{kit.version}" if kit else component.kit_id,
            centre=component.centre.code,
        )
        if rating is not None and line is not None:
            unit, ah, volts, kwh = _battery_unit(line, rating)
            entry.update(
                unit=unit,
                chemistry=rating.chemistry,
                cell_model=f"{rating.cell_manufacturer} {rating.cell_model}",
                capacity_ah=ah,
                nominal_voltage_v=volts,
                energy_kwh=kwh,
            )
            packs[kit.id] = {
                "kit": f"{kit.id} v{kit.version}",
                "chemistry": rating.chemistry,
                "cell_manufacturer": rating.cell_manufacturer,
                "cell_model": rating.cell_model,
                "cells_series": rating.cells_series,
                "cells_parallel": rating.cells_parallel,
                "cell_capacity_ah": rating.cell_capacity_ah,
                "nominal_voltage_v": rating.nominal_voltage_v,
                "energy_kwh": rating.energy_kwh,
            }
        entries.append(entry)
    return {
        "vehicle": {
            "vin": vehicle.vin,
            "make": vehicle.make,
            "model": vehicle.model,
            "year": vehicle.year,
            "plate": vehicle.plate,
            "province": vehicle.province,
        },
        "generated_at": utcnow().isoformat(timespec="seconds"),
        "packs": list(packs.values()),
        "units": entries,
    }


def battery_register_json(register: dict) -> str:
    """The battery register as JSON (UTF-8, Thai kept readable)."""
    return json.dumps(register, ensure_ascii=False, indent=2)


def battery_register_csv(register: dict) -> str:
    """The battery register as CSV, one battery unit a row."""
    return csv_dicts(BATTERY_FIELDS, register["units"])
