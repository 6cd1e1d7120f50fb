"""Registration particulars in the issuing rule: what the DLT registers must be there and the
weights within the model's limits (the certificate's text is checked in test_pdf.py)."""

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from workshop.certificates import services
from workshop.certificates.models import Certificate
from workshop.certificates.registration import particulars
from workshop.extensions import db


def blockers(job):
    return {b.code: b for b in services.certificate_blockers(job)}


def test_a_complete_job_is_within_every_limit(build_job):
    job = build_job(stage="approved")
    found = particulars(job)
    assert found.registration.seats == 5
    assert [(w.weight.key, w.exceeded) for w in found.weights] == [
        ("curb_weight", False),
        ("front_axle", False),
        ("rear_axle", False),
    ]
    assert found.payload_kg == 1540 - 1235
    assert services.certificate_blockers(job) == []


def test_curb_weight_over_its_limit_blocks_the_certificate(build_job, crew, cert_app):
    # +26.9 %: inside the weighing step's expected range, over the +25 % the model allows
    job = build_job(stage="approved", values={"curb_weight_after_kg": 1320.0})
    found = blockers(job)
    assert list(found) == ["curb_weight_over_limit"]
    assert found["curb_weight_over_limit"].params == {"change": "+26.9", "limit": "25"}
    with cert_app.test_request_context(), force_locale("en"):
        assert found["curb_weight_over_limit"].message == (
            "the curb weight rose +26.9 % in the conversion; the limit is +25 %"
        )
    with cert_app.test_request_context(), force_locale("th"):
        thai = found["curb_weight_over_limit"].message
    assert "+26.9" in thai and any("\u0e00" <= ch <= "\u0e7f" for ch in thai)
    with pytest.raises(services.CertificateError):
        services.issue_certificate(job, crew["inspector"])
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Certificate.id))) == 0


def test_a_job_without_the_owner_id_is_blocked(build_job):
    job = build_job(stage="approved")
    # a job opened before the owner's ID was asked for at intake
    job.owner_national_id = ""
    db.session.commit()
    assert list(blockers(job)) == ["owner_id_missing"]
