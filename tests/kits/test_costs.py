"""The cost sheet in Decimal with hand-checked totals, the battery register and the cost report."""

import csv
import io
import json
from datetime import timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from tests.kits.conftest import sign
from workshop.accounts.access import CentreScope
from workshop.columns import utcnow
from workshop.extensions import db
from workshop.jobs import services as jobs_services
from workshop.jobs.models import JobStatus, StepRecord
from workshop.jobs.progress import manual_of
from workshop.kits import components, costs, installing, reports, traceability
from workshop.kits.catalogue import StockError
from workshop.kits.models import CostLine
from workshop.manuals.schema import SerialInput

CELLS = SerialInput(type="serial", key="cells", label_th="เซลล์", label_en="Cells",
                    category="battery", count=2)  # fmt: skip


class Everything(CentreScope):
    def __init__(self):
        self.centre_ids = None


@pytest.fixture
def costed_job(app, monkeypatch, centre, receive, create_kit_job, create_worker, ready_for_hv):
    """A job with a BMS, two cells, 3 greases, 4000 s of labour at 650.50/h and two cost lines."""
    centre.labour_rate = D("650.50")
    db.session.commit()
    receive("EVC-BMS-0001", "BMS-1", cost="4321.50")
    receive("JZ1-BAT-0001", "CELL-1", "CELL-2", "CELL-3", cost="1234.56")
    receive("EVC-CON-0001", quantity=10, cost="100.00")
    receive("EVC-CON-0001", quantity=5, cost="130.00")
    job, tech, boss = create_kit_job(), create_worker(), create_worker("supervisor")
    ready_for_hv(job, tech)
    # Opened exactly 4000 s before it is signed (the intake steps were signed without one).
    now = utcnow()
    monkeypatch.setattr(jobs_services, "utcnow", lambda: now)
    record = sign(
        job,
        "hv-01",
        tech,
        {"box_bolts": "45", "bms_serial": ["BMS-1"]},
        started_at=now - timedelta(seconds=4000),
    )
    monkeypatch.undo()
    installing.install_serials(
        job, manual_of(job).step("hv-01"), CELLS, ["CELL-1", "CELL-2"], record, tech
    )
    components.consume_stock(job, "EVC-CON-0001", 3, boss)
    costs.add_cost_line(
        job, boss, kind="sublet", description="Wheel alignment", quantity="1", unit_cost="800.00"
    )
    costs.add_cost_line(
        job, boss, kind="consumable", description="Coolant (litres)", quantity="2.5",
        unit_cost="185.35",
    )  # fmt: skip
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.sum(StepRecord.seconds_spent))) == 4000
    return job


def test_cost_sheet_hand_checked(costed_job):
    sheet = costs.cost_sheet(costed_job)
    # parts: BMS 4,321.50 + cells 2 × 1,234.56 = 2,469.12 + grease 3 × 110.00 (average) = 330.00
    assert sheet.parts_total == D("7120.62")
    assert sheet.battery_total == D("2469.12")
    # labour: 4000 s × 650.50 THB/h = 722.7777… → 722.78
    assert (sheet.labour_seconds, sheet.labour_rate, sheet.labour_total) == (
        4000,
        D("650.50"),
        D("722.78"),
    )
    # other: 800.00 + 2.5 × 185.35 = 463.375 → 463.38
    assert sheet.other_total == D("1263.38")
    assert sheet.total == D("9106.78")
    assert sheet.total_excluding_battery == D("6637.66")
    assert sheet.margin == D("193362.34") and sheet.within_target
    assert sheet.vat == D("637.47")  # 9,106.78 × 7 % = 637.4746
    assert sheet.grand_total == D("9744.25")
    for amount in (sheet.total, sheet.vat, sheet.margin, *(li.amount for li in sheet.lines)):
        assert isinstance(amount, D)
    assert sheet.by_category()["battery"] == D("2469.12")
    assert sheet.by_category()["labour"] == D("722.78")
    assert [li.serial for li in sheet.lines if li.battery] == ["CELL-1", "CELL-2"]


def test_over_target_says_by_how_much(costed_job, create_worker, centre):
    boss = create_worker("supervisor")
    costs.add_cost_line(
        costed_job, boss, kind="other", description="Body work", quantity="1",
        unit_cost="193362.35",
    )  # fmt: skip
    db.session.commit()
    sheet = costs.cost_sheet(costed_job)
    assert sheet.total_excluding_battery == D("200000.01")
    assert sheet.margin == D("-0.01") and not sheet.within_target


def test_cost_sheet_csv_totals(costed_job):
    rows = list(csv.reader(io.StringIO(costs.cost_sheet_csv(costs.cost_sheet(costed_job)))))
    totals = {r[1]: r[7] for r in rows if r[0] == "total"}
    assert totals["total_excluding_battery"] == "6637.66"
    assert totals["vat_7"] == "637.47"
    assert totals["grand_total"] == "9744.25"


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"quantity": "0"}, "quantity must be a positive"),
        ({"quantity": "1.0005"}, "quantity must be a positive"),
        ({"quantity": "abc"}, "quantity must be a positive"),
        ({"unit_cost": "12.345"}, "at most 2 decimal"),
        ({"unit_cost": "-5"}, "enter an amount"),
        ({"description": " "}, "describe the cost"),
        ({"kind": "bribe"}, "choose the kind"),
    ],
)
def test_cost_line_refusals(app, create_kit_job, create_worker, fields, message):
    job, boss = create_kit_job(), create_worker("supervisor")
    data = {"kind": "sublet", "description": "x", "quantity": "1", "unit_cost": "1.00", **fields}
    with pytest.raises(StockError, match=message):
        costs.add_cost_line(job, boss, **data)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(CostLine.id))) == 0


def test_cost_line_refused_for_other_centre_and_float(app, create_kit_job, create_user):
    job = create_kit_job()
    with pytest.raises(StockError, match="only staff of the job's centre"):
        costs.add_cost_line(
            job, create_user("supervisor"), kind="sublet", description="x", quantity="1",
            unit_cost="1",
        )  # fmt: skip
    with pytest.raises(TypeError):
        costs.add_cost_line(
            job, job.created_by, kind="sublet", description="x", quantity="1", unit_cost=1.1
        )


def test_consume_more_than_on_hand_refused(app, receive, create_kit_job, create_worker):
    receive("EVC-CON-0001", quantity=2, cost="100.00")
    job, boss = create_kit_job(), create_worker("supervisor")
    with pytest.raises(StockError, match="only 2 of EVC-CON-0001 in stock"):
        components.consume_stock(job, "EVC-CON-0001", 3, boss)
    with pytest.raises(StockError, match="no stock of EVC-CON-0002"):
        components.consume_stock(job, "EVC-CON-0002", 1, boss)


def test_battery_register_json_and_csv(costed_job):
    register = traceability.battery_register(costed_job.vehicle)
    assert register["vehicle"]["vin"] == costed_job.vehicle.vin
    assert [u["serial"] for u in register["units"]] == ["CELL-1", "CELL-2"]
    unit = register["units"][0]
    assert (unit["unit"], unit["chemistry"], unit["capacity_ah"]) == ("cell", "LiFePO4", 60)
    assert unit["job"] == costed_job.reference and unit["installed_at"]
    assert register["packs"][0]["cells_series"] == 100
    assert (
        json.loads(traceability.battery_register_json(register))["units"][1]["serial"] == "CELL-2"
    )
    rows = list(csv.DictReader(io.StringIO(traceability.battery_register_csv(register))))
    assert [r["serial"] for r in rows] == ["CELL-1", "CELL-2"]
    assert rows[0]["chemistry"] == "LiFePO4" and rows[0]["vin"] == costed_job.vehicle.vin
    # The BMS is traced to the vehicle but is not part of the battery register.
    assert {c.serial for c in traceability.vehicle_components(costed_job.vehicle)} == {
        "BMS-1",
        "CELL-1",
        "CELL-2",
    }


def test_cost_report_per_model_and_centre(app, create_kit_job, create_worker, centre):
    boss = create_worker("supervisor")
    jobs = [create_kit_job() for _ in range(4)]
    for job, amount in zip(jobs, ("150000.00", "210000.00", "99999.99", "5.00"), strict=True):
        costs.add_cost_line(
            job, boss, kind="sublet", description="x", quantity="1", unit_cost=amount
        )
    jobs[0].status = jobs[1].status = JobStatus.AWAITING_INSPECTION
    jobs[2].status = JobStatus.CERTIFIED
    jobs[2].is_training = True  # never counts
    db.session.commit()  # jobs[3] stays open
    report = reports.cost_report(Everything())
    [row] = report.by_model
    assert (row.label, row.jobs) == ("Honda Jazz", 2)
    assert (row.average, row.minimum, row.maximum) == (
        D("180000.00"),
        D("150000.00"),
        D("210000.00"),
    )
    assert row.average_margin == D("20000.00")
    assert report.by_centre[0].label == centre.code
    with_open = reports.cost_report(Everything(), include_open=True)
    # (150,000 + 210,000 + 5) / 3 = 120,001.666… → 120,001.67
    assert with_open.by_model[0].average == D("120001.67")
    assert "Honda Jazz,2,180000.00,150000.00,210000.00" in reports.cost_report_csv(report)


def test_partly_installed_kit_lines_are_shown_as_such(costed_job, client, auth, create_worker):
    sheet = costs.cost_sheet(costed_job)
    cells = next(p for p in sheet.kit_parts if p.part_number == "JZ1-BAT-0001")
    assert cells.installed == D(2) and cells.needed > D(2) and cells.partial
    bms = next(p for p in sheet.kit_parts if p.part_number == "EVC-BMS-0001")
    assert not bms.partial  # all of it is on the car
    auth.login(create_worker("supervisor").username)
    page = client.get(f"/kits/jobs/{costed_job.id}/costs").text
    assert 'id="partial-parts"' in page and "JZ1-BAT-0001" in page.split('id="partial-parts"')[1]


def test_cost_report_totals_are_the_cost_sheets(costed_job):
    # Installed serials, the battery left out by the kit, stock at average cost, labour, lines.
    costed_job.status = JobStatus.AWAITING_INSPECTION
    db.session.commit()
    sheet = costs.cost_sheet(costed_job)
    [row] = reports.cost_report(Everything()).by_model
    assert row.jobs == 1
    assert row.average == row.minimum == row.maximum == sheet.total_excluding_battery
    assert sheet.battery_total > 0 and sheet.labour_total > 0 and sheet.other_total > 0
