"""CSV exports: a cell that a spreadsheet would run as a formula comes out as plain text."""

import csv
import io
import re
from pathlib import Path

import pytest

from tests.conftest import TEST_PASSWORD
from workshop.accounts.services import grant_qualification
from workshop.csvexport import csv_dicts, csv_text, neutralise_cell
from workshop.extensions import db

PAYLOAD = "=cmd|' /C calc'!A0"


@pytest.mark.parametrize(
    "cell, expected",
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("ค่าแรง = 2", "ค่าแรง = 2"),
        ("", ""),
    ],
)
def test_text_cells_that_start_a_formula_get_a_quote(cell, expected):
    assert neutralise_cell(cell) == expected
    assert list(csv.reader(io.StringIO(csv_text(["h"], [[cell]])))) == [["h"], [expected]]


def test_numbers_stay_numbers():
    from decimal import Decimal

    assert csv_text(["a", "b"], [[Decimal("-12.50"), -3]]) == "a,b\r\n-12.50,-3\r\n"
    assert csv_dicts(["a", "b"], [{"a": "=x"}]) == "a,b\r\n'=x,\r\n"


def test_a_cost_line_formula_comes_out_as_text_in_the_cost_sheet(
    app, client, auth, create_user, open_real_job
):
    supervisor = create_user("supervisor")
    grant_qualification(supervisor, "conversion_honda_jazz")
    db.session.commit()
    job = open_real_job(supervisor.centre, supervisor, "MRHGE8840BP900001")
    auth.login(supervisor.username, TEST_PASSWORD)
    r = client.post(
        f"/kits/jobs/{job.id}/costs/lines",
        data={
            "line-kind": "other",
            "line-description": PAYLOAD,
            "line-quantity": "1",
            "line-unit_cost": "10.00",
        },
    )
    assert r.status_code == 302
    r = client.get(f"/kits/jobs/{job.id}/costs.csv")
    assert r.status_code == 200
    rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    descriptions = [row[2] for row in rows if row[0] == "other"]
    assert descriptions == ["'" + PAYLOAD]
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row[2:5])


def test_every_csv_export_goes_through_the_one_helper():
    """No module but workshop/csvexport.py builds a CSV writer (exports would skip the rule)."""
    root = Path(__file__).resolve().parents[2] / "workshop"
    writers = re.compile(r"csv\.(writer|DictWriter)\(")
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.name != "csvexport.py" and writers.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
