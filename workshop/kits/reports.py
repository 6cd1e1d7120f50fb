"""Cost reports across a centre's jobs, their CSV, and a kit's bill of materials as CSV."""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from workshop.accounts.models import Centre
from workshop.csvexport import csv_text
from workshop.extensions import db
from workshop.jobs.models import Job, JobStatus, Vehicle
from workshop.kits.catalogue import cache_kit, job_kit_cache, kit_key
from workshop.kits.costs import is_battery_part
from workshop.kits.fields import TARGET_EXCLUDING_BATTERY
from workshop.kits.models import (
    Component,
    ComponentStatus,
    CostLine,
    StockConsumption,
)
from workshop.kits.spec import KitSpec
from workshop.money import round_thb

REPORTED_STATUSES = (JobStatus.AWAITING_INSPECTION, JobStatus.APPROVED, JobStatus.CERTIFIED)


@dataclass
class ReportRow:
    """Conversion cost excluding battery over a group of jobs."""

    group: str
    label: str
    jobs: int
    average: Decimal
    minimum: Decimal
    maximum: Decimal
    target: Decimal = TARGET_EXCLUDING_BATTERY

    @property
    def average_margin(self) -> Decimal:
        """Target minus the average: positive under, negative over."""
        return self.target - self.average


@dataclass
class CostReport:
    """Conversion costs excluding battery per car model and per centre."""

    by_model: list[ReportRow]
    by_centre: list[ReportRow]
    jobs: int
    include_open: bool
    target: Decimal = TARGET_EXCLUDING_BATTERY

    @property
    def chart_max(self) -> Decimal:
        """The scale of the chart: the largest maximum or the target, whichever is higher."""
        values = [r.maximum for r in self.by_model + self.by_centre] + [self.target]
        return max(values)


def _summarise(group, label, totals) -> ReportRow:
    return ReportRow(
        group,
        label,
        len(totals),
        round_thb(sum(totals, Decimal("0.00")) / len(totals)),
        min(totals),
        max(totals),
    )


def cost_report(scope, *, include_open: bool = False) -> CostReport:
    """Average, minimum and maximum conversion cost excluding battery, per car model and centre.

    Finished conversions (submitted, approved, certified) count; ``include_open`` adds the jobs still
    in progress. Training and cancelled jobs never count. Each job's total is the one its cost
    sheet shows, summed in a fixed number of queries whatever the number of jobs.
    """
    statuses = list(REPORTED_STATUSES) + ([JobStatus.OPEN] if include_open else [])
    reported = scope.filter(
        sa.select(Job.id).where(Job.status.in_(statuses), Job.is_training.is_(False)),
        Job.centre_id,
    )
    jobs = db.session.execute(
        reported.add_columns(
            Job.kit_id,
            Job.kit_version,
            Job.kit_fingerprint,
            Job.labour_seconds,
            Vehicle.make,
            Vehicle.model,
            Centre.code,
            Centre.labour_rate,
        )
        .join(Vehicle, Vehicle.id == Job.vehicle_id)
        .join(Centre, Centre.id == Job.centre_id)
        .order_by(Job.id)
    ).all()
    kits = _report_kits(jobs)
    parts = defaultdict(lambda: Decimal("0.00"))  # job id -> parts total excluding battery
    rows = db.session.execute(
        sa.select(
            Component.job_id,
            Component.part_number,
            Component.category,
            sa.func.sum(Component.unit_cost),
        )
        .where(Component.job_id.in_(reported), Component.status == ComponentStatus.INSTALLED)
        .group_by(Component.job_id, Component.part_number, Component.category)
    )
    for job_id, part_number, category, amount in rows:
        if not is_battery_part(kits.get(job_id), part_number, category):
            parts[job_id] += round_thb(amount)
    rows = db.session.execute(
        sa.select(
            StockConsumption.job_id,
            StockConsumption.part_number,
            StockConsumption.category,
            StockConsumption.unit_cost,
            StockConsumption.quantity,
        ).where(StockConsumption.job_id.in_(reported))
    )
    for job_id, part_number, category, unit_cost, quantity in rows:
        if not is_battery_part(kits.get(job_id), part_number, category):
            parts[job_id] += round_thb(unit_cost * quantity)
    other = defaultdict(lambda: Decimal("0.00"))
    for job_id, quantity, unit_cost in db.session.execute(
        sa.select(CostLine.job_id, CostLine.quantity, CostLine.unit_cost).where(
            CostLine.job_id.in_(reported)
        )
    ):
        other[job_id] += round_thb(quantity * unit_cost)
    by_model, by_centre = defaultdict(list), defaultdict(list)
    for job_id, _kit, _version, _fingerprint, seconds, make, model, centre, rate in jobs:
        labour = round_thb(Decimal(int(seconds or 0)) * (rate or Decimal("0.00")) / 3600)
        total = parts[job_id] + labour + other[job_id]
        by_model[f"{make} {model}"].append(total)
        by_centre[centre].append(total)
    return CostReport(
        by_model=[_summarise("model", k, v) for k, v in sorted(by_model.items())],
        by_centre=[_summarise("centre", k, v) for k, v in sorted(by_centre.items())],
        jobs=len(jobs),
        include_open=include_open,
    )


def _report_kits(jobs) -> dict[int, KitSpec]:
    """The pinned kit of each reported job, reading one snapshot per kit version not cached."""
    kits: dict[int, KitSpec] = {}
    for job_id, kit_id, version, fingerprint, *_rest in jobs:
        if kit_id is None:
            continue
        key = kit_key(job_id, kit_id, version, fingerprint)
        kit = job_kit_cache.get(key)
        if kit is None:
            snapshot = db.session.scalar(sa.select(Job.kit_snapshot).where(Job.id == job_id))
            if not snapshot:
                continue
            kit = cache_kit(key, snapshot)
        kits[job_id] = kit
    return kits


def cost_report_csv(report: CostReport) -> str:
    """The cost report as CSV."""
    rows = [["group", "name", "jobs", "average", "minimum", "maximum", "target", "average_margin"]]
    for row in report.by_model + report.by_centre:
        rows.append(
            [
                row.group,
                row.label,
                row.jobs,
                row.average,
                row.minimum,
                row.maximum,
                row.target,
                row.average_margin,
            ]
        )
    return csv_text(rows[0], rows[1:])


def kit_bom_csv(kit: KitSpec) -> str:
    """A kit's bill of material with standard costs as CSV."""
    rows = [
        [
            "part_number",
            "name_en",
            "name_th",
            "category",
            "quantity",
            "unit_cost",
            "line_cost",
            "serialised",
            "counts_as_battery",
            "supplier",
        ]
    ]
    for line in kit.bom:
        rows.append(
            [
                line.part_number,
                line.name_en,
                line.name_th,
                line.category,
                line.quantity,
                line.unit_cost,
                line.line_cost,
                "yes" if line.serialised else "no",
                "yes" if line.counts_as_battery else "no",
                line.supplier,
            ]
        )
    return csv_text(rows[0], rows[1:])
