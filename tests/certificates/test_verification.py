"""The public verification page: status, masked VIN, no owner data, uploads, rate limit, log."""

import io

import pytest
import sqlalchemy as sa

from workshop.certificates import services
from workshop.certificates.models import CertificateRevocation, VerificationRequest
from workshop.extensions import db
from workshop.jobs.models import JobStatus


@pytest.fixture
def quick_certificate(build_job, crew, monkeypatch):
    """A real, signed certificate of a job whose rule checks are skipped (fast)."""

    def make():
        job = build_job(stage="open")
        job.status = JobStatus.APPROVED
        with monkeypatch.context() as m:
            m.setattr(services, "certificate_blockers", lambda job: [])
            certificate = services.issue_certificate(job, crew["inspector"])
        db.session.commit()
        return certificate

    return make


def test_valid_then_revoked(client, quick_certificate, crew, auth):
    certificate = quick_certificate()
    page = client.get(f"/verify/{certificate.token}")
    assert page.status_code == 200
    assert "ใช้ได้" in page.text and certificate.number in page.text
    vin = certificate.job.vehicle.vin
    assert vin not in page.text and services.mask_vin(vin) in page.text
    assert certificate.job.owner_name not in page.text
    assert certificate.job.owner_phone not in page.text

    auth.login(crew["inspector"].username)
    r = client.post(f"/certificates/{certificate.id}/revoke", data={"reason": "wrong motor number"})
    assert r.status_code == 302
    auth.logout()
    page = client.get(f"/verify/{certificate.token}")
    assert "ถูกเพิกถอน" in page.text and "wrong motor number" in page.text
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(CertificateRevocation.id))) == 1
    with pytest.raises(services.CertificateError, match="already revoked"):
        services.revoke_certificate(certificate, crew["inspector"], "again")


def test_unknown_token_and_uploads(client, quick_certificate):
    certificate = quick_certificate()
    client.post("/language/en")  # a visitor from abroad reads the page in English
    assert client.get("/verify/not-a-real-token").status_code == 404
    same = client.post(
        f"/verify/{certificate.token}",
        data={"pdf": (io.BytesIO(certificate.pdf), "c.pdf")},
        content_type="multipart/form-data",
    )
    assert "byte for byte" in same.text and "digital signature valid" in same.text
    tampered = bytearray(certificate.pdf)
    tampered[len(tampered) // 3] ^= 0x01
    changed = client.post(
        f"/verify/{certificate.token}",
        data={"pdf": (io.BytesIO(bytes(tampered)), "c.pdf")},
        content_type="multipart/form-data",
    )
    assert "NOT the certificate as issued" in changed.text
    assert "digital signature broken" in changed.text
    anywhere = client.post(
        "/verify",
        data={"pdf": (io.BytesIO(certificate.pdf), "c.pdf")},
        content_type="multipart/form-data",
    )
    assert certificate.number in anywhere.text and "byte for byte" in anywhere.text
    db.session.rollback()
    outcomes = list(db.session.scalars(sa.select(VerificationRequest.outcome)))
    assert outcomes == ["unknown", "identical", "different", "identical"]


def test_rate_limited_per_ip(app, client, quick_certificate):
    app.config["VERIFY_RATE_LIMIT"] = 3
    certificate = quick_certificate()
    codes = [client.get(f"/verify/{certificate.token}").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    other = client.get(
        f"/verify/{certificate.token}", environ_overrides={"REMOTE_ADDR": "10.9.9.9"}
    )
    assert other.status_code == 200
    db.session.rollback()
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).where(VerificationRequest.outcome == "rate_limited")
        )
        == 1
    )
