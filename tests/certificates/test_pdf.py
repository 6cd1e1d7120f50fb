"""The certificate PDF: content, Thai font, QR code, link, signature; page images for people."""

import io
from pathlib import Path

import pypdfium2
import pytest
import sqlalchemy as sa
import zxingcpp
from pypdf import PdfReader

from tests.conftest import TEST_PASSWORD
from workshop.certificates import services
from workshop.certificates.pdf import RestrictedFetcher
from workshop.certificates.pki import trust_root_paths
from workshop.certificates.signing import signature_status
from workshop.extensions import db

ARTIFACTS = Path(__file__).resolve().parents[1] / "_artifacts" / "certificates"


@pytest.fixture
def issued(build_job, crew, cert_app):
    job = build_job(stage="approved")
    certificate = services.issue_certificate(job, crew["inspector"])
    db.session.commit()
    return certificate


def page_texts(data: bytes) -> list[str]:
    pdf = pypdfium2.PdfDocument(data)
    try:
        return [page.get_textpage().get_text_range() for page in pdf]
    finally:
        pdf.close()


def test_the_pdf_says_what_the_dlt_needs(issued, cert_app, client, auth, crew, tmp_path):
    data = issued.pdf
    job = issued.job
    pages = page_texts(data)
    assert len(pages) >= 3
    # the certificate itself (two pages: what the DLT registers, then safety and attestations),
    # then the annex of serials and the page of signatures
    first = pages[0] + pages[1]
    for expected in (
        issued.number,
        job.vehicle.vin,
        "L15A7-1234567",  # the removed engine number
        f"EVM{job.id:07d}",  # the motor number as stamped: it replaces the engine number
        "Top of the motor housing",  # where it is stamped
        f"S{job.id}-JZ1-MOT-0001-0001",  # the kit's motor serial
        "45.0 kW",
        "52.0 kW",  # rated and maximum 30-minute power
        "LiFePO4",
        "100S1P",
        "330 V / 365 V",
        "19.8 kWh",
        "3.0 kW",
        "1,040",
        "1,235",
        "+18.8 %",
        # registration particulars: fuel, category, seats, gross weight, payload, owner, limits
        "Electric",
        "Private car, up to 7 seats (RY 1) (M1)",
        "Seats 5",
        "1,540 kg",
        "305 kg",  # payload: 1,540 - 1,235
        "National ID 1-1017-00230-70-8",
        "No structural change to the body",
        "≤ +25 %",
        "+56.2 %",  # the rear axle, against its permitted load
        "≤ 760 kg",
        "AIS-123",
        "Ω/V",
        "PASS",
        "สก.12345",
        "ภฟ.67890",
        "ใบรับรองการดัดแปลงรถยนต์",  # Thai comes out as Thai, not boxes
        f"{issued.year_be}",
        str(issued.issued_at.year),
        "Honda Jazz",
        # a development bay run and a development key: the PDF says so on its face
        "DEVELOPMENT – NOT VALID FOR REGISTRATION",
        "EOL test on a development bay",
        "signed with a development key",
    ):
        assert expected in first, expected
    # isolation and bonding as the technician measured them in the steps, not only the EOL's
    from workshop.inspection.services import latest_values

    measured = latest_values(job)
    assert "Isolation, bonding and touch protection in the steps" in "".join(pages)
    # the touch protection confirmed in the steps, with the rule (IPXXD/IPXXB) and its source
    assert "IPXXD" in "".join(pages) and "§5.1.1.1" in "".join(pages)
    assert "UN R100.02 §5.1.2.2" in "".join(pages)  # each limit with its source
    # the EOL run's safety measurements, each with its limit and source
    flat = " ".join(" ".join(pages).split())  # table cells wrap their text
    assert "AC-side isolation resistance" in flat and "500 Ω per volt" in flat, flat
    assert "Contactors open after HVIL opened" in flat
    # and the calibrated instrument each was measured with
    assert "Hioki RM3548" in "".join(pages) and "calibrated until" in "".join(pages)
    assert f"{measured['bonding_ohm']:,.3f} Ω" in "".join(pages)
    assert f"{measured['isolation_ohm_per_v']:,.1f} Ω/V" in "".join(pages)
    for text in pages:  # the number on every page
        assert issued.number in text
    fonts = {
        str(f["/BaseFont"])
        for page in PdfReader(io.BytesIO(data)).pages
        for f in page["/Resources"]["/Font"].values()
    }
    assert fonts and all("Sarabun" in f for f in fonts), fonts

    # The QR code decodes to the verification URL, which is also a link annotation.
    url = f"http://ws.test/verify/{issued.token}"
    pdf = pypdfium2.PdfDocument(data)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    images = []
    for index, page in enumerate(pdf):
        image = page.render(scale=2).to_pil()
        image.save(ARTIFACTS / f"certificate-page{index + 1}.png")
        images.append(image)
    pdf.close()
    decoded = [r.text for r in zxingcpp.read_barcodes(images[0])]
    assert decoded == [url]
    links = [
        a.get_object()["/A"]["/URI"]
        for a in PdfReader(io.BytesIO(data)).pages[0]["/Annots"]
        if a.get_object().get("/Subtype") == "/Link"
    ]
    assert url in links

    # Three PAdES signatures, mechanical engineer, electrical engineer, then the centre, each
    # valid against the trust root (the development CA); one changed byte breaks them.
    roots = trust_root_paths(cert_app.config, cert_app.instance_path)
    status = signature_status(data, roots)
    assert (status["signed"], status["intact"], status["valid"]) == (True, True, True)
    assert status["covers_whole_file"]
    report = status["signatures"]
    assert [s["field"] for s in report] == ["Mechanical", "Electrical", "Centre"]
    assert [s["signer"] for s in report][:2] == [crew["mech"].full_name, crew["elec"].full_name]
    assert all(s["valid"] and s["time"] is not None for s in report)
    tampered = bytearray(data)
    position = len(data) // 3  # inside the signed byte range, in the page content
    tampered[position] ^= 0x01
    broken = signature_status(bytes(tampered), roots)
    assert broken["intact"] is False and not any(s["intact"] for s in broken["signatures"])
    # A root the PDF was not signed under trusts none of them.
    from workshop.certificates import pki

    stranger = pki.development_ca(tmp_path / "stranger-ca")[1]
    assert signature_status(data, [stranger])["valid"] is False

    # Stored once: the download is byte for byte what was issued and hashed.
    import hashlib

    assert hashlib.sha256(data).hexdigest() == issued.pdf_sha256
    auth.login(crew["inspector"].username)
    r = client.get(f"/certificates/{issued.id}/pdf")
    assert r.status_code == 200 and r.data == data
    assert r.headers["ETag"] == f'"{issued.pdf_sha256}"' and "private" in r.headers["Cache-Control"]
    r.close()
    again = client.get(
        f"/certificates/{issued.id}/pdf", headers={"If-None-Match": r.headers["ETag"]}
    )
    assert again.status_code == 304 and again.data == b""
    # A tablet holding another (older, or damaged) copy gets the whole PDF again.
    stale = client.get(f"/certificates/{issued.id}/pdf", headers={"If-None-Match": '"0a1b"'})
    assert stale.status_code == 200 and stale.data == data
    assert stale.headers["ETag"] == f'"{issued.pdf_sha256}"'
    stale.close()
    assert client.get(f"/certificates/{issued.id + 1000}/pdf").status_code == 404
    page = client.get(f"/certificates/{issued.id}")
    assert issued.number in page.text and issued.pdf_sha256 in page.text


def test_the_renderer_fetches_nothing_outside(app):
    fetcher = RestrictedFetcher()
    for url in ("http://example.com/x.png", "file:///etc/passwd", "workshop:other"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    assert fetcher.fetch("workshop:font/Sarabun-Regular.ttf").read()[:4] == b"\x00\x01\x00\x00"


def test_the_annex_prints_every_installed_serial_whole_within_the_page(issued):
    from workshop.kits.models import Component, ComponentStatus

    serials = db.session.scalars(
        sa.select(Component.serial).where(
            Component.job_id == issued.job_id, Component.status == ComponentStatus.INSTALLED
        )
    ).all()
    assert len(serials) > 100
    pdf = pypdfium2.PdfDocument(issued.pdf)
    try:
        (page,) = [p for p in pdf if "Annex: installed serialised components" in text_of(p)]
        text = page.get_textpage()
        content = text.get_text_range()
        lines = content.splitlines()
        right_edge = page.get_width() - 14 * 72 / 25.4  # the page's right margin
        for serial in serials:
            # on one line, never broken at one of its hyphens
            assert sum(serial in line for line in lines) == 1, serial
            last = content.index(serial) + len(serial) - 1
            assert text.get_charbox(last)[2] <= right_edge + 0.5, serial
    finally:
        pdf.close()


def text_of(page) -> str:
    return page.get_textpage().get_text_range()


def test_annex_lines_group_by_part_and_fit_the_width():
    from workshop.certificates.pdf import ANNEX_FONT_PT, ANNEX_WIDTH_PT, _annex_lines
    from workshop.pdf import text_width_pt

    components = [
        {"category": "battery", "part_number": "JZ1-BAT-0001", "serial": f"B0-JZ1-BAT-{n:04d}"}
        for n in range(1, 41)
    ] + [
        {"category": "pump", "part_number": "EVC-BVP-0001", "serial": "X" * 30 + "-" + "9" * 150},
        {"category": "pump", "part_number": "EVC-BVP-0001", "serial": "P-2"},
    ]
    lines = _annex_lines(components)
    assert lines[0].startswith("battery · JZ1-BAT-0001 (40): B0-JZ1-BAT-0001,")
    text = " ".join(lines)
    printed = [s.strip(",") for s in text.split() if s.startswith(("B0-", "X", "P-"))]
    assert printed == [c["serial"] for c in components]  # each once, in order, whole
    pump = [n for n, line in enumerate(lines) if line.startswith("pump")]
    assert pump and lines[pump[0]] == "pump · EVC-BVP-0001 (2):"
    for line in lines:
        if "X" * 30 not in line:  # a serial wider than the page has a line of its own
            assert text_width_pt(line, ANNEX_FONT_PT) <= ANNEX_WIDTH_PT, line


def test_an_inspector_of_other_centres_cannot_download_it(
    issued, client, create_user, create_centre
):
    elsewhere = create_user("inspector", centres=[create_centre(code="CRT99")])
    client.post("/login", data={"username": elsewhere.username, "password": TEST_PASSWORD})
    r = client.get(f"/certificates/{issued.id}/pdf")
    assert r.status_code == 403 and not r.data.startswith(b"%PDF")
