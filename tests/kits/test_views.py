"""The kits screens through the test client: receiving, moves, traceability, costs, reports."""

import io
import json
from decimal import Decimal as D

import sqlalchemy as sa

from tests.kits.conftest import sign
from workshop.extensions import db
from workshop.kits import costs
from workshop.kits.models import Component, ComponentStatus, CostLine, Delivery


def login(client, user):
    """Log in; in English, so the tests can read the messages (Thai is the default)."""
    from tests.conftest import TEST_PASSWORD

    user.locale = "en"
    db.session.commit()
    r = client.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
    assert r.status_code == 302


def count(model):
    db.session.rollback()  # see what the request committed
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


RECEIVE = {
    "supplier": "Cell importer",
    "invoice_number": "INV-77",
    "part": "jazz-ev1|JZ1-BAT-0001",
    "unit_cost": "1,234.56",
}


def test_receive_typed_serials(client, create_worker):
    boss = create_worker("supervisor")
    login(client, boss)
    assert client.get("/kits/deliveries/new").status_code == 200
    r = client.post("/kits/deliveries/new", data={**RECEIVE, "serials": "cell-1\r\ncell-2\r\n"})
    assert r.status_code == 302 and "/kits/deliveries/" in r.headers["Location"]
    db.session.rollback()
    cells = db.session.scalars(sa.select(Component).order_by(Component.serial)).all()
    assert [(c.serial, c.unit_cost, c.centre_id) for c in cells] == [
        ("CELL-1", D("1234.56"), boss.centre_id),
        ("CELL-2", D("1234.56"), boss.centre_id),
    ]
    page = client.get(r.headers["Location"])
    assert "CELL-2" in page.text and "฿2,469.12" in page.text


def test_receive_csv_upload_and_bad_row(client, create_worker):
    login(client, create_worker("supervisor"))
    bad = b"serial,unit_cost\nA-1,1200\nA-2,12x\nA-3,1200\n"
    r = client.post(
        "/kits/deliveries/new",
        data={**RECEIVE, "serials_csv": (io.BytesIO(bad), "cells.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 422
    assert "line 3:" in r.text
    assert count(Component) == 0 and count(Delivery) == 0
    good = b"serial\nA-1\nA-2\n"
    r = client.post(
        "/kits/deliveries/new",
        data={**RECEIVE, "serials_csv": (io.BytesIO(good), "cells.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    assert count(Component) == 2


def test_receive_bad_input_changes_nothing(client, create_worker):
    login(client, create_worker("supervisor"))
    for data in (
        {**RECEIVE, "unit_cost": "12.345", "serials": "X-1"},
        {**RECEIVE, "serials": ""},
        {**RECEIVE, "part": "jazz-ev1|NOPE-XXX-0000", "serials": "X-1"},
        {**RECEIVE, "supplier": "", "serials": "X-1"},
    ):
        r = client.post("/kits/deliveries/new", data=data)
        assert r.status_code == 422, data
    assert count(Component) == 0 and count(Delivery) == 0


def test_technician_cannot_receive(client, create_worker):
    login(client, create_worker())
    assert client.post("/kits/deliveries/new", data=RECEIVE).status_code == 403


def test_component_page_history_and_moves(client, receive, create_worker, create_kit_job):
    receive("EVC-BMS-0001", "M-1")
    job = create_kit_job()
    c = db.session.scalar(sa.select(Component))
    login(client, create_worker("supervisor"))
    r = client.post(
        f"/kits/components/{c.id}/move", data={"action": "reserve", "job_id": str(job.id)}
    )
    assert r.status_code == 302
    db.session.rollback()
    assert db.session.get(Component, c.id).status == ComponentStatus.RESERVED
    r = client.post(f"/kits/components/{c.id}/move", data={"action": "scrap", "reason": ""})
    db.session.rollback()
    assert db.session.get(Component, c.id).status == ComponentStatus.RESERVED
    page = client.get(f"/kits/components/{c.id}")
    assert "M-1" in page.text and job.reference in page.text


def test_cross_centre_is_forbidden(
    client, receive, create_worker, create_kit_job, create_centre, create_user
):
    receive("EVC-BMS-0001", "M-1")
    job = create_kit_job()
    c = db.session.scalar(sa.select(Component))
    stranger = create_user("supervisor", centre=create_centre(code="FAR01"))
    login(client, stranger)
    assert client.get(f"/kits/components/{c.id}").status_code == 403
    assert (
        client.post(
            f"/kits/components/{c.id}/move", data={"action": "scrap", "reason": "x"}
        ).status_code
        == 403
    )
    assert client.get(f"/kits/jobs/{job.id}/costs").status_code == 403
    r = client.post(
        f"/kits/jobs/{job.id}/costs/lines",
        data={
            "line-kind": "sublet",
            "line-description": "x",
            "line-quantity": "1",
            "line-unit_cost": "1",
        },
    )
    assert r.status_code == 403
    assert client.get(f"/kits/vehicles/{job.vehicle_id}").status_code == 403
    assert client.get(f"/kits/vehicles/{job.vehicle_id}/battery.json").status_code == 403
    r = client.get("/kits/serials?q=M-1")
    assert r.status_code == 200 and "/kits/components/" not in r.text  # not found, not leaked
    assert db.session.get(Component, c.id).status == ComponentStatus.IN_STOCK
    assert count(CostLine) == 0


def test_serial_search_goes_to_the_component(client, receive, create_worker):
    receive("EVC-BMS-0001", "M-1", "M-10")
    login(client, create_worker())
    r = client.get("/kits/serials?q=m-1")
    assert r.status_code == 302 and "/kits/components/" in r.headers["Location"]
    r = client.get("/kits/serials?q=M")
    assert "M-10" in r.text and "M-1" in r.text


def test_cost_sheet_page_and_lines(client, create_worker, create_kit_job):
    job = create_kit_job()
    boss = create_worker("supervisor")
    login(client, boss)
    page = client.get(f"/kits/jobs/{job.id}/costs")
    assert page.status_code == 200 and "฿200,000.00" in page.text
    bad = {"line-kind": "sublet", "line-description": "Paint", "line-quantity": "1",
           "line-unit_cost": "1.234"}  # fmt: skip
    assert client.post(f"/kits/jobs/{job.id}/costs/lines", data=bad).status_code == 422
    assert count(CostLine) == 0
    good = {**bad, "line-unit_cost": "12,500.00"}
    assert client.post(f"/kits/jobs/{job.id}/costs/lines", data=good).status_code == 302
    page = client.get(f"/kits/jobs/{job.id}/costs")
    assert "Paint" in page.text and "<svg" in page.text and "฿187,500.00" in page.text
    csv_text = client.get(f"/kits/jobs/{job.id}/costs.csv").get_data(as_text=True)
    assert "total_excluding_battery" in csv_text and "12500.00" in csv_text
    assert "/kits/jobs/" in client.get(f"/jobs/{job.id}").text  # linked from the job page


def test_consume_from_stock_view(client, receive, create_worker, create_kit_job):
    receive("EVC-CON-0001", quantity=4, cost="55.50")
    job = create_kit_job()
    login(client, create_worker("supervisor"))
    r = client.post(
        f"/kits/jobs/{job.id}/costs/parts",
        data={"use-part_number": "EVC-CON-0001", "use-quantity": "9"},
    )
    assert r.status_code == 422 and "only 4" in r.text
    r = client.post(
        f"/kits/jobs/{job.id}/costs/parts",
        data={"use-part_number": "EVC-CON-0001", "use-quantity": "2"},
    )
    assert r.status_code == 302
    db.session.rollback()
    assert costs.cost_sheet(job).parts_total == D("111.00")


def test_vehicle_trace_and_battery_downloads(
    client, receive, create_worker, create_kit_job, ready_for_hv, create_user, centre
):
    receive("EVC-BMS-0001", "M-1")
    job, tech = create_kit_job(), create_worker()
    ready_for_hv(job, tech)
    sign(job, "hv-01", tech, {"box_bolts": "45", "bms_serial": ["M-1"]})
    login(client, create_user("inspector", centres=[centre]))
    page = client.get(f"/kits/vehicles/{job.vehicle_id}")
    assert page.status_code == 200 and "M-1" in page.text and tech.full_name in page.text
    r = client.get(f"/kits/vehicles/{job.vehicle_id}/battery.json")
    assert r.mimetype == "application/json"
    assert json.loads(r.data)["vehicle"]["vin"] == job.vehicle.vin
    r = client.get(f"/kits/vehicles/{job.vehicle_id}/battery.csv")
    assert r.mimetype == "text/csv" and r.get_data(as_text=True).lstrip("\ufeff").startswith(
        "vin,serial"
    )
    assert client.get(f"/kits/vehicles/{job.vehicle_id}/battery.xml").status_code == 404


def test_catalogue_kit_page_and_report(client, create_user, create_worker, create_kit_job):
    login(client, create_user("admin"))
    assert "jazz-ev1" in client.get("/kits/").text
    page = client.get("/kits/catalogue/jazz-ev1")
    assert page.status_code == 200 and "<svg" in page.text and "JZ1-BAT-0001" in page.text
    assert client.get("/kits/catalogue/nope").status_code == 404
    bom = client.get("/kits/catalogue/jazz-ev1/bom.csv").get_data(as_text=True)
    assert "JZ1-BAT-0001" in bom and "line_cost" in bom
    job = create_kit_job()
    costs.add_cost_line(
        job, create_worker("supervisor"), kind="sublet", description="x", quantity="1",
        unit_cost="1000.00",
    )  # fmt: skip
    db.session.commit()
    page = client.get("/kits/reports/costs?open=1")
    assert page.status_code == 200 and "<svg" in page.text and "Honda Jazz" in page.text
    report_csv = client.get("/kits/reports/costs.csv?open=1").get_data(as_text=True)
    assert "model,Honda Jazz,1,1000.00" in report_csv


def test_stock_page(client, receive, create_worker):
    receive("EVC-CON-0001", quantity=4, cost="55.50")
    login(client, create_worker())
    page = client.get("/kits/stock")
    assert page.status_code == 200 and "EVC-CON-0001" in page.text and "฿222.00" in page.text
    assert "EVC-CON-0001" in client.get("/kits/stock.csv").get_data(as_text=True)
