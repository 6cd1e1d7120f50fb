"""The issuing rule, gap-free numbering and issuing itself."""

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import ON_POSTGRES
from workshop.certificates import services
from workshop.certificates.models import Certificate, CertificateCounter
from workshop.columns import utcnow
from workshop.eol.models import EolRun, RunStatus
from workshop.extensions import db
from workshop.inspection import services as inspection
from workshop.inspection.models import Branch, SignoffWithdrawal
from workshop.jobs import services as jobs
from workshop.jobs.models import JobStatus, NonConformance
from workshop.jobs.progress import job_progress, manual_of


def texts(job):
    return [str(m) for m in services.certificate_blockers(job)]


def codes(job):
    return [b.code for b in services.certificate_blockers(job)]


def test_a_new_job_lacks_everything(build_job):
    job = build_job(stage="open")
    assert codes(job) == [
        "steps_unsigned",
        "eol_missing",
        "inspection_not_approved",
        "signoff_missing",
        "signoff_missing",
    ]
    missing = texts(job)
    assert any("step(s) not signed" in m for m in missing)
    assert "no EOL run of all three sequences (ECU, BMS, brakes) has finished" in missing
    assert "the inspection is not approved" in missing
    assert "no mechanical engineer sign-off" in missing
    assert "no electrical engineer sign-off" in missing


def test_blocker_messages_are_translated(build_job, cert_app):
    from flask_babel import force_locale

    job = build_job(stage="open")
    with cert_app.test_request_context(), force_locale("th"):
        thai = [b.message for b in services.certificate_blockers(job)]
    with cert_app.test_request_context(), force_locale("en"):
        english = [b.message for b in services.certificate_blockers(job)]
    assert len(thai) == len(english) == 5
    for th, en in zip(thai, english, strict=True):
        assert th != en and any("\u0e00" <= ch <= "\u0e7f" for ch in th), (th, en)


def test_training_jobs_never_get_a_certificate(build_job, crew):
    job = build_job(stage="open", is_training=True)
    assert codes(job) == ["training_job"]
    assert texts(job) == ["this is a training job: training jobs never get a certificate"]
    job.status = JobStatus.APPROVED
    with pytest.raises(services.CertificateError, match="training jobs never"):
        services.issue_certificate(job, crew["inspector"])


def test_the_rule_refuses_each_missing_condition(build_job, crew):
    """One real job, walked to completion; each condition is then broken and restored."""
    job = build_job(stage="signed")
    assert codes(job) == ["inspection_not_approved", "signoff_missing", "signoff_missing"]
    # A correction of a countersigned step waits for a new countersignature.
    plain = ("measurement", "torque", "confirmation", "choice", "text")
    step = next(
        s for s in manual_of(job).steps if s.countersign and all(i.type in plain for i in s.inputs)
    )
    latest = job_progress(job)[step.id]
    raw = {k: "y" if v is True else str(v) for k, v in latest.latest.values.items()}
    # the same calibrated instruments as the first reading
    raw.update({f"instrument:{k}": str(v["id"]) for k, v in latest.latest.instruments.items()})
    jobs.sign_step(job, step.id, crew["tech"], raw, base_seq=1, reason="re-measured")
    db.session.commit()
    assert "countersign_missing" in codes(job)
    assert any("awaiting a countersignature" in m for m in texts(job))
    jobs.countersign_step(job, step.id, crew["supervisor"])
    jobs.submit_for_inspection(job, crew["supervisor"])
    db.session.commit()
    from workshop.certificates.demo import approve_with_signoffs

    approve_with_signoffs(job, crew["inspector"], crew["mech"], crew["elec"])
    assert texts(job) == []

    # An open non-conformance.
    record = job_progress(job)[step.id].latest
    nc = NonConformance(
        job_id=job.id,
        step_id=step.id,
        input_key="x",
        value="1",
        limits="2",
        note="n",
        record_id=record.id,
    )
    db.session.add(nc)
    db.session.flush()
    assert codes(job) == ["nonconformance_open"]
    assert texts(job) == [f"1 non-conformance(s) still open, e.g. {step.id}"]
    db.session.delete(nc)
    db.session.flush()

    # A newer complete EOL run that failed.
    failed = EolRun(
        job_id=job.id,
        centre_id=job.centre_id,
        kit_id=job.kit_id,
        bench="BAY-T",
        bench_kind="virtual_bay",
        bench_centre="CRT01",
        sequences=["ecu", "bms", "brakes"],
        status=RunStatus.FAIL,
        requested_by=crew["tech"],
        requested_at=utcnow() + timedelta(seconds=1),
        finished_at=utcnow(),
    )
    db.session.add(failed)
    db.session.flush()
    assert codes(job) == ["eol_failed"]
    assert texts(job) == [f"the latest complete EOL run (#{failed.id}) did not pass"]
    db.session.delete(failed)
    db.session.flush()

    # The inspection not approved.
    job.status = JobStatus.AWAITING_INSPECTION
    assert codes(job) == ["inspection_not_approved"]
    with pytest.raises(services.CertificateError) as refused:
        services.issue_certificate(job, crew["inspector"])
    assert [b.code for b in refused.value.missing] == ["inspection_not_approved"]
    assert "inspection is not approved" in str(refused.value)
    job.status = JobStatus.APPROVED

    # Sign-offs: a withdrawn one, and one whose licence was revoked since.
    signoffs = inspection.active_signoffs(job)
    db.session.add(SignoffWithdrawal(signoff=signoffs[Branch.MECHANICAL], reason="test"))
    inspection.revoke_licence(signoffs[Branch.ELECTRICAL].licence)
    db.session.flush()
    assert codes(job) == ["signoff_missing", "signoff_missing"]
    assert texts(job) == ["no mechanical engineer sign-off", "no electrical engineer sign-off"]
    db.session.rollback()

    # A sign-off whose licence has expired since (time moved on: the expiry is set in the past).
    from workshop.inspection.models import EngineerLicence

    licence = inspection.active_signoffs(job)[Branch.MECHANICAL].licence
    db.session.execute(
        sa.update(EngineerLicence)
        .where(EngineerLicence.id == licence.id)
        .values(expires_at=utcnow() - timedelta(days=1))
    )
    db.session.expire_all()
    assert codes(job) == ["licence_expired"]
    assert texts(job) == [
        "the mechanical sign-off rests on licence สก.12345 of วิศวกร เครื่องกล, which is no "
        "longer valid"
    ]
    with pytest.raises(services.CertificateError, match="no longer valid"):
        services.issue_certificate(job, crew["inspector"])
    db.session.rollback()


def test_numbers_are_gap_free_when_an_issue_rolls_back(app, create_centre):
    centre = create_centre(code="GAP01")
    assert services.allocate_sequence(centre.id, 2569) == 1
    db.session.rollback()
    assert services.allocate_sequence(centre.id, 2569) == 1
    assert services.allocate_sequence(centre.id, 2569) == 2
    assert services.allocate_sequence(centre.id, 2570) == 1
    db.session.commit()
    assert services.format_number("GAP01", 2569, 2) == "GAP01-2569-0002"
    assert db.session.get(CertificateCounter, (centre.id, 2569)).last_number == 2


def test_issue_certifies_the_job_once(build_job, crew, monkeypatch):
    job = build_job(stage="open")
    job.status = JobStatus.APPROVED
    monkeypatch.setattr(services, "certificate_blockers", lambda job: [])
    certificate = services.issue_certificate(job, crew["inspector"])
    db.session.commit()
    year = certificate.year_be
    assert certificate.number == f"CRT01-{year}-0001"
    assert job.status == JobStatus.CERTIFIED and job.active_vin is None
    with pytest.raises(services.CertificateError, match="already has its certificate"):
        services.issue_certificate(job, crew["inspector"])
    with pytest.raises(services.CertificateError, match="only inspectors"):
        services.issue_certificate(job, crew["supervisor"])


@pytest.mark.skipif(not ON_POSTGRES, reason="needs concurrent writers (PostgreSQL)")
def test_concurrent_issues_on_postgres_are_numbered_without_gaps(cert_app, build_job, crew):
    first, second = build_job(), build_job()
    ids = [first.id, first.id, second.id]
    barrier = threading.Barrier(len(ids))
    outcomes = []

    def issue(job_id):
        from workshop.accounts.models import User
        from workshop.jobs.models import Job

        with cert_app.app_context():
            job = db.session.get(Job, job_id)
            inspector = db.session.get(User, crew["inspector"].id)
            barrier.wait()
            try:
                c = services.issue_certificate(job, inspector)
                db.session.commit()
                outcomes.append(c.number)
            except services.CertificateError as exc:
                db.session.rollback()
                outcomes.append(f"refused: {exc}")

    threads = [threading.Thread(target=issue, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    db.session.rollback()
    numbers = sorted(o for o in outcomes if not o.startswith("refused"))
    year = db.session.scalar(sa.select(Certificate.year_be))
    assert numbers == [f"CRT01-{year}-0001", f"CRT01-{year}-0002"], outcomes
    assert sum(o.startswith("refused") for o in outcomes) == 1
