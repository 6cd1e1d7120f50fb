"""The public verification page in a real browser: valid, revoked, unknown token, tampered upload."""

import pytest

from tests.certificates import conftest as certificate_fixtures
from workshop.certificates import services
from workshop.extensions import db
from workshop.jobs.models import JobStatus

pytestmark = pytest.mark.browser

# The certificates feature's fixtures: a crew at a centre and fully built jobs.
cert_app = certificate_fixtures.cert_app
crew = certificate_fixtures.crew
build_job = certificate_fixtures.build_job


@pytest.fixture
def certificate(build_job, crew, monkeypatch, live_server):
    job = build_job(stage="open")
    job.status = JobStatus.APPROVED
    monkeypatch.setattr(services, "certificate_blockers", lambda job: [])
    issued = services.issue_certificate(job, crew["inspector"])
    db.session.commit()
    return issued


def test_verification_in_a_browser(new_page, live_server, certificate, crew, shot, tmp_path):
    page = new_page("portrait")
    page.goto(f"{live_server}/verify/{certificate.token}")
    assert page.locator("#verdict").inner_text().strip().endswith("ใช้ได้")
    assert page.locator("#number").inner_text() == certificate.number
    assert page.locator("#vin").inner_text() == services.mask_vin(certificate.job.vehicle.vin)
    assert certificate.job.owner_name not in page.content()
    shot(page, "verify-valid-portrait-th")

    original = tmp_path / "certificate.pdf"
    original.write_bytes(certificate.pdf)
    page.set_input_files("#pdf", str(original))
    page.click("#upload-form button[type=submit]")
    page.wait_for_load_state()
    assert "✔" in page.locator("#upload-result").inner_text()

    tampered = bytearray(certificate.pdf)
    tampered[len(tampered) // 3] ^= 0x01
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(bytes(tampered))
    page.set_input_files("#pdf", str(forged))
    page.click("#upload-form button[type=submit]")
    page.wait_for_load_state()
    assert "✖" in page.locator("#upload-result").inner_text()
    shot(page, "verify-tampered-portrait-th")

    services.revoke_certificate(certificate, crew["inspector"], "เลขมอเตอร์ไม่ตรง")
    db.session.commit()
    page.goto(f"{live_server}/verify/{certificate.token}")
    assert "✖" in page.locator("#verdict").inner_text()
    assert "เลขมอเตอร์ไม่ตรง" in page.locator("#revocation").inner_text()
    shot(page, "verify-revoked-portrait-th")

    response = page.goto(f"{live_server}/verify/no-such-token")
    assert response.status == 404
    assert "✖" in page.locator("#result").inner_text()
