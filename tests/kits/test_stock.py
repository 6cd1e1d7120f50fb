"""Receiving stock, moving components, installing them from a step, and the refusals."""

import threading
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from tests.conftest import ON_POSTGRES
from tests.kits.conftest import sign
from workshop.accounts.access import CentreScope
from workshop.audit.models import AuditEvent
from workshop.extensions import db
from workshop.jobs.models import Job, StepRecord
from workshop.jobs.services import JobError
from workshop.kits import components, installing, receiving, traceability
from workshop.kits.catalogue import StockError
from workshop.kits.models import Component, ComponentMove, ComponentStatus, Delivery, StockLot

BMS = "EVC-BMS-0001"  # BMS master board: serialised, category bms
BOARD = "EVC-BMS-0002"  # battery-monitoring board: serialised, category bms
CELL = "JZ1-BAT-0001"  # LiFePO4 cell: serialised, counts as battery
MOTOR = "JZ1-MOT-0001"  # serialised, category motor
GREASE = "EVC-CON-0001"  # unserialised consumable


class Everything(CentreScope):
    def __init__(self):
        self.centre_ids = None


def component(serial, part=None):
    stmt = sa.select(Component).where(Component.serial == serial)
    if part:
        stmt = stmt.where(Component.part_number == part)
    return db.session.scalar(stmt)


def count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# --- receiving -------------------------------------------------------------------------------------


def test_receive_typed_serials(app, receive, centre):
    delivery = receive(BMS, " bms-0001 ", "BMS-0002", cost="4321.50")
    assert delivery.centre_id == centre.id
    assert [(line.part_number, line.quantity, line.unit_cost) for line in delivery.lines] == [
        (BMS, 2, D("4321.50"))
    ]
    assert delivery.total == D("8643.00")
    c = component("BMS-0001")
    assert c.status == ComponentStatus.IN_STOCK and c.category == "bms"
    assert c.unit_cost == D("4321.50") and isinstance(c.unit_cost, D)
    assert [(m.from_status, m.to_status) for m in traceability.serial_history(c)] == [
        (None, ComponentStatus.IN_STOCK)
    ]
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "stock.receive"))
    [row] = components.stock_levels(Everything())
    assert (row.part_number, row.in_stock, row.reserved, row.value) == (BMS, 2, 0, D("8643.00"))


def test_unserialised_lot_keeps_a_moving_average(app, receive, centre):
    receive(GREASE, quantity=10, cost="100.00")
    receive(GREASE, quantity=5, cost="130.00")
    lot = db.session.scalar(sa.select(StockLot))
    assert (lot.quantity_on_hand, lot.average_cost) == (15, D("110.00"))  # 1650 / 15
    receive(GREASE, quantity=3, cost="99.99")
    db.session.refresh(lot)
    # (110.00 × 15 + 99.99 × 3) / 18 = 1949.97 / 18 = 108.3316… → 108.33
    assert (lot.quantity_on_hand, lot.average_cost) == (18, D("108.33"))


def test_typed_serials_report_their_line():
    assert receiving.parse_serials_text("a-1\n\n b-2 \r\n") == ["A-1", "B-2"]
    with pytest.raises(StockError, match="line 3: A-1 is already on line 1"):
        receiving.parse_serials_text("a-1\nb-2\nA-1\n")
    with pytest.raises(StockError, match="line 2: .*not a serial number"):
        receiving.parse_serials_text("ok-1\nbad serial!\n")


def test_csv_import_good_file(app, receive, centre, create_worker):
    text = (
        "\ufeffserial,part_number,unit_cost\n"
        "c-001,JZ1-BAT-0001,1234.56\n"
        "c-002,JZ1-BAT-0001,\n"
        "m-001,EVC-BMS-0001,4000\n"
    )
    rows = receiving.parse_serials_csv(text)
    assert [(r.line, r.serial, r.part_number, r.unit_cost) for r in rows] == [
        (2, "C-001", CELL, D("1234.56")),
        (3, "C-002", CELL, None),
        (4, "M-001", BMS, D("4000.00")),
    ]
    lines = receiving.rows_to_lines("jazz-ev1", CELL, D("1200.00"), rows)
    delivery = receiving.receive_delivery(
        centre, create_worker("supervisor"), supplier="S", invoice_number="CSV-1", lines=lines
    )
    db.session.commit()
    assert sorted((line.part_number, line.quantity, line.unit_cost) for line in delivery.lines) == [
        (BMS, 1, D("4000.00")),
        (CELL, 1, D("1200.00")),
        (CELL, 1, D("1234.56")),
    ]
    assert component("C-002").unit_cost == D("1200.00")


def test_csv_semicolons_and_serial_only():
    assert [r.serial for r in receiving.parse_serials_csv("serial\nx1\n\nx2\n")] == ["X1", "X2"]
    assert [
        r.part_number for r in receiving.parse_serials_csv("part_number;serial\nEVC-BMS-0001;x\n")
    ] == [BMS]


@pytest.mark.parametrize(
    "text, message",
    [
        ("serial,unit_cost\nA-1,10\nA-2,1o.00\nA-3,5\n", "line 3: unit_cost: enter an amount"),
        ("serial\nA-1\nA-2\nA-1\n", "line 4: A-1 is already on line 2"),
        ("serial\nA-1\nbad serial\n", "line 3: BAD SERIAL is not a serial number"),
        ("serial,unit_cost\nA-1,1.005\n", "line 2: unit_cost: at most 2 decimal places"),
        ("serial\nA-1\nA-2,3\n", "line 3: 2 values, but the header names 1 columns"),
        ("number,cost\n1,2\n", "line 1: the first line must name the columns"),
        ("", "empty"),
        ("serial\n\n", "no serial numbers"),
    ],
)
def test_csv_errors_name_the_line_and_import_nothing(app, text, message):
    with pytest.raises(StockError, match=message.replace("(", r"\(")):
        receiving.parse_serials_csv(text)
    assert count(Component) == 0


def test_every_bad_csv_row_is_reported():
    with pytest.raises(StockError) as info:
        receiving.parse_serials_csv("serial\n!\nok\n?\n")
    assert "line 2:" in str(info.value) and "line 4:" in str(info.value)


def test_duplicate_serials_refused_and_nothing_received(app, receive, centre):
    receive(BMS, "BMS-1")
    with pytest.raises(StockError, match="BMS-1 of EVC-BMS-0001 is already recorded"):
        receive(BMS, "BMS-2", "BMS-1")
    db.session.rollback()
    assert component("BMS-2") is None
    assert count(Delivery) == 1
    with pytest.raises(StockError, match="appears twice"):
        receive(BMS, "BMS-3", "bms-3")
    db.session.rollback()
    # The same serial on another part number is another component.
    receive(MOTOR, "BMS-1")
    assert count(Component) == 2


def test_delivery_refusals(app, centre, create_worker, receive):
    boss = create_worker("supervisor")

    def go(*lines, invoice="X-1", supplier="S"):
        return receiving.receive_delivery(
            centre, boss, supplier=supplier, invoice_number=invoice, lines=list(lines)
        )

    line = receiving.ReceiveLine
    with pytest.raises(StockError, match="serialised: give one serial"):
        go(line("jazz-ev1", BMS, D("1.00"), quantity=2))
    with pytest.raises(StockError, match="quantity 3 but 1 serial"):
        go(line("jazz-ev1", BMS, D("1.00"), quantity=3, serials=("A",)))
    with pytest.raises(StockError, match="not serialised"):
        go(line("jazz-ev1", GREASE, D("1.00"), serials=("A",)))
    with pytest.raises(StockError, match="quantity of 1 or more"):
        go(line("jazz-ev1", GREASE, D("1.00")))
    with pytest.raises(StockError, match="no part"):
        go(line("jazz-ev1", "DM2-BAT-0001", D("1.00"), serials=("A",)))
    with pytest.raises(StockError, match="at most 2 decimal"):
        go(line("jazz-ev1", GREASE, D("1.005"), quantity=1))
    with pytest.raises(StockError, match="supplier"):
        go(line("jazz-ev1", GREASE, D("1.00"), quantity=1), supplier=" ")
    with pytest.raises(TypeError):
        go(line("jazz-ev1", GREASE, 1.5, quantity=1))
    go(line("jazz-ev1", GREASE, D("1.00"), quantity=1))
    db.session.commit()
    with pytest.raises(StockError, match="already received"):
        go(line("jazz-ev1", GREASE, D("1.00"), quantity=1))
    db.session.rollback()
    assert count(Delivery) == 1


# --- moves -----------------------------------------------------------------------------------------


def test_reserve_release_return_scrap(app, receive, create_kit_job, create_worker):
    receive(BMS, "R-1", "R-2")
    job = create_kit_job()
    boss = create_worker("supervisor")
    c = component("R-1")
    components.reserve_component(c, job, boss)
    db.session.commit()
    assert (c.status, c.job_id) == (ComponentStatus.RESERVED, job.id)
    with pytest.raises(StockError, match="cannot be reserved: it is reserved for job"):
        components.reserve_component(c, create_kit_job(), boss)
    db.session.rollback()
    components.release_component(c, boss)
    db.session.commit()
    assert (c.status, c.job_id) == (ComponentStatus.IN_STOCK, None)
    with pytest.raises(StockError, match="give a reason"):
        components.scrap_component(c, boss, "  ")
    components.scrap_component(c, boss, "dropped, case cracked")
    db.session.commit()
    assert c.status == ComponentStatus.SCRAPPED
    with pytest.raises(StockError, match="already scrapped"):
        components.return_component(c, boss, "warranty")
    with pytest.raises(StockError, match="cannot be reserved"):
        components.reserve_component(c, job, boss)
    db.session.rollback()
    components.return_component(component("R-2"), boss, "wrong firmware")
    db.session.commit()
    history = traceability.serial_history(c)
    assert [m.to_status for m in history] == [
        ComponentStatus.IN_STOCK,
        ComponentStatus.RESERVED,
        ComponentStatus.IN_STOCK,
        ComponentStatus.SCRAPPED,
    ]
    assert history[-1].reason == "dropped, case cracked"
    actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {"component.reserve", "component.release", "component.scrap", "component.return"} <= (
        actions
    )


def test_reserve_refuses_parts_outside_the_kit_and_other_centres(
    app, receive, create_kit_job, create_worker, create_centre
):
    receive("DM2-BAT-0001", "D-1", kit="dmax-ev2")
    elsewhere = create_centre(code="FAR01")
    receive(BMS, "FAR-1", at=elsewhere, user=create_worker("supervisor", centre=elsewhere))
    job = create_kit_job()
    boss = create_worker("supervisor")
    with pytest.raises(StockError, match="not in this job's kit jazz-ev1"):
        components.reserve_component(component("D-1"), job, boss)
    with pytest.raises(StockError, match="at centre FAR01"):
        components.reserve_component(component("FAR-1"), job, boss)


# --- installing from a step ------------------------------------------------------------------------


def test_install_through_sign_step_traces_the_serial(
    app, receive, create_kit_job, create_worker, ready_for_hv
):
    receive(BMS, "BMS-0001", cost="4321.50")
    job = create_kit_job()
    tech = create_worker()
    ready_for_hv(job, tech)
    record = sign(job, "hv-01", tech, {"box_bolts": "45", "bms_serial": ["bms-0001"]})
    c = component("BMS-0001")
    assert c.status == ComponentStatus.INSTALLED
    assert (c.job_id, c.vehicle_id, c.step_id, c.record_id, c.installed_by_id) == (
        job.id,
        job.vehicle_id,
        "hv-01",
        record.id,
        tech.id,
    )
    assert c.installed_at is not None
    [found] = traceability.find_serial("bms-0001", Everything())
    assert found.vehicle.vin == job.vehicle.vin and found.installed_by.id == tech.id
    assert traceability.vehicle_components(job.vehicle) == [c]
    assert traceability.serial_history(c)[-1].record_id == record.id
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "component.install"))
    assert event.details["vin"] == job.vehicle.vin


def _refused(job, tech, serial, message):
    before = count(StepRecord)
    with pytest.raises(JobError, match=message):
        sign(job, "hv-01", tech, {"box_bolts": "45", "bms_serial": [serial]})
    db.session.rollback()
    assert count(StepRecord) == before


def test_install_refusals_change_nothing(
    app, receive, create_kit_job, create_worker, create_centre, ready_for_hv
):
    receive(BMS, "OK-1")
    receive(MOTOR, "MOT-1")
    receive("DM2-BAT-0001", "DMAX-1", kit="dmax-ev2")
    receive(BOARD, "RES-1", "SCR-1", "INST-1")
    elsewhere = create_centre(code="FAR01")
    receive(BMS, "FAR-1", at=elsewhere, user=create_worker("supervisor", centre=elsewhere))
    job, other_job = create_kit_job(), create_kit_job()
    tech, boss = create_worker(), create_worker("supervisor")
    components.reserve_component(component("RES-1"), other_job, boss)
    components.scrap_component(component("SCR-1"), boss, "burnt")
    db.session.commit()
    ready_for_hv(other_job, tech)
    sign(other_job, "hv-01", tech, {"box_bolts": "45", "bms_serial": ["INST-1"]})
    ready_for_hv(job, tech)

    _refused(job, tech, "NOPE-1", "NOPE-1 is unknown: receive it into stock first")
    _refused(job, tech, "MOT-1", r"part JZ1-MOT-0001 \(motor\), but this step needs a bms")
    _refused(job, tech, "DMAX-1", "not in this job's kit jazz-ev1")
    _refused(job, tech, "FAR-1", "in stock at centre FAR01, not at this job's centre")
    _refused(job, tech, "RES-1", f"reserved for job {other_job.reference}")
    _refused(job, tech, "SCR-1", "was scrapped")
    _refused(
        job,
        tech,
        "INST-1",
        f"already installed in vehicle {other_job.vehicle.vin}, job {other_job.reference}",
    )
    assert component("OK-1").status == ComponentStatus.IN_STOCK
    assert component("INST-1").job_id == other_job.id
    sign(job, "hv-01", tech, {"box_bolts": "45", "bms_serial": ["OK-1"]})
    assert component("OK-1").status == ComponentStatus.INSTALLED


def test_reserved_for_this_job_installs(app, receive, create_kit_job, create_worker, ready_for_hv):
    receive(BMS, "RES-1")
    job, tech, boss = create_kit_job(), create_worker(), create_worker("supervisor")
    components.reserve_component(component("RES-1"), job, boss)
    db.session.commit()
    ready_for_hv(job, tech)
    sign(job, "hv-01", tech, {"box_bolts": "45", "bms_serial": ["RES-1"]})
    assert component("RES-1").status == ComponentStatus.INSTALLED


def test_part_number_input_refuses_other_parts(app, receive, create_kit_job, create_worker):
    from workshop.manuals.schema import SerialInput

    receive(BOARD, "BOARD-1")
    job, tech = create_kit_job(), create_worker()
    step = job and __import__("workshop.jobs.services", fromlist=["manual_of"]).manual_of(job).step(
        "hv-01"
    )
    wanted = SerialInput(type="serial", key="master", label_th="บอร์ด", label_en="Board",
                         part_number=BMS)  # fmt: skip
    with pytest.raises(JobError, match="but this step needs part EVC-BMS-0001"):
        installing.install_serials(job, step, wanted, ["BOARD-1"], None, tech)


def test_correction_keeps_or_swaps_the_serial(
    app, receive, create_kit_job, create_worker, ready_for_hv
):
    receive(BMS, "A-1", "A-2")
    job, tech = create_kit_job(), create_worker()
    ready_for_hv(job, tech)
    first = sign(job, "hv-01", tech, {"box_bolts": "45", "bms_serial": ["A-1"]})
    second = sign(
        job, "hv-01", tech, {"box_bolts": "46", "bms_serial": ["A-1"]}, base_seq=1, reason="torque"
    )
    assert component("A-1").record_id == second.id != first.id
    third = sign(
        job, "hv-01", tech, {"box_bolts": "46", "bms_serial": ["A-2"]}, base_seq=2, reason="typo"
    )
    a1, a2 = component("A-1"), component("A-2")
    assert (a1.status, a1.job_id, a1.vehicle_id) == (ComponentStatus.IN_STOCK, None, None)
    assert (a2.status, a2.record_id) == (ComponentStatus.INSTALLED, third.id)
    assert traceability.serial_history(a1)[-1].reason.startswith("step hv-01 corrected")


def test_job_without_kit_keeps_serials_in_the_record_only(
    app, create_job, create_worker, ready_for_hv
):
    job, tech = create_job(), create_worker()
    ready_for_hv(job, tech)
    record = sign(job, "hv-01", tech, {"box_bolts": "45", "bms_serial": ["ANY-1"]})
    assert record.values["bms_serial"] == ["ANY-1"]
    assert count(Component) == 0


@pytest.mark.skipif(not ON_POSTGRES, reason="needs concurrent writers (PostgreSQL)")
def test_concurrent_installs_of_one_serial_one_wins(
    app, receive, create_kit_job, create_worker, ready_for_hv
):
    receive(BMS, "RACE-1")
    tech = create_worker()
    jobs_ = [create_kit_job(), create_kit_job()]
    for job in jobs_:
        ready_for_hv(job, tech)
    job_ids = [j.id for j in jobs_]
    tech_id = tech.id
    results, barrier = [], threading.Barrier(2)

    def worker(job_id):
        from workshop.accounts.models import User
        from workshop.jobs import services
        from workshop.jobs.progress import job_progress

        with app.app_context():
            job = db.session.get(Job, job_id)
            user = db.session.get(User, tech_id)
            job_progress(job)
            component("RACE-1")  # both tablets see it in stock
            barrier.wait()
            try:
                services.sign_step(
                    job, "hv-01", user, {"box_bolts": "45", "bms_serial": ["RACE-1"]}, base_seq=0
                )
                db.session.commit()
                results.append("ok")
            except JobError as exc:
                db.session.rollback()
                results.append(str(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in job_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 1, results
    [refusal] = [r for r in results if r != "ok"]
    assert "RACE-1" in refusal and "installed in vehicle" in refusal
    db.session.rollback()
    c = component("RACE-1")
    assert c.status == ComponentStatus.INSTALLED and c.job_id in job_ids
    installs = db.session.scalars(
        sa.select(ComponentMove).where(
            ComponentMove.component_id == c.id,
            ComponentMove.to_status == ComponentStatus.INSTALLED,
        )
    ).all()
    assert len(installs) == 1 and installs[0].job_id == c.job_id
    hv_records = db.session.scalars(
        sa.select(StepRecord).where(StepRecord.step_id == "hv-01")
    ).all()
    assert [r.job_id for r in hv_records] == [c.job_id]


def test_component_history_is_append_only_in_the_database(app, receive):
    from workshop.audit.models import AppendOnlyError

    receive(BMS, "H-1")
    move = db.session.scalar(sa.select(ComponentMove))
    move.reason = "rewritten"
    with pytest.raises(AppendOnlyError):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        db.session.execute(sa.text("UPDATE component_moves SET reason = 'x'"))
    db.session.rollback()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        db.session.execute(sa.text("DELETE FROM component_moves"))
    db.session.rollback()
