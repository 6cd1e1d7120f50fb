"""Sessions: capacity and waiting list, attendance (roll call and QR), pass rules, grants with
expiry, certificates, and the gating those grants open (HV steps, EOL runs)."""

import hashlib
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.training.conftest import FAST_BENCH, verify_url
from workshop.accounts.services import add_months, holds_qualification
from workshop.columns import utcnow
from workshop.extensions import db
from workshop.training import assessments, services
from workshop.training.models import EnrolmentStatus, TrainingCertificate

SECRET = "test-secret-key"


# --- capacity and waiting list ----------------------------------------------------------


def test_full_session_puts_trainees_on_the_waiting_list_and_promotes_in_order(
    create_session, trainee, trainer
):
    session = create_session(capacity=2)
    a, b, c, d = (trainee() for _ in range(4))
    statuses = [services.enrol_trainee(session, t, by=trainer).status for t in (a, b, c, d)]
    db.session.commit()
    assert statuses == ["enrolled", "enrolled", "waiting", "waiting"]
    first_waiting = session.with_status(EnrolmentStatus.WAITING)[0]
    assert first_waiting.user == c and services.waiting_position(first_waiting) == 1

    # a waiting trainee leaving frees no seat
    services.withdraw_enrolment(session.with_status(EnrolmentStatus.WAITING)[1], by=d)
    # an enrolled one leaving gives the seat to the first in the queue
    promoted = services.withdraw_enrolment(session.with_status(EnrolmentStatus.ENROLLED)[0], by=a)
    db.session.commit()
    assert promoted.user == c
    assert [e.user for e in session.with_status(EnrolmentStatus.ENROLLED)] == [b, c]
    assert session.with_status(EnrolmentStatus.WAITING) == []

    # coming back after withdrawing: a seat is free again? no, 2/2 -> end of the queue
    again = services.enrol_trainee(session, a, by=a)
    assert again.status == EnrolmentStatus.WAITING


def test_enrolment_rules(create_session, trainee, trainer, create_user):
    session = create_session("HV-QP")
    newcomer = trainee()
    with pytest.raises(services.TrainingError, match="High-voltage awareness"):
        services.enrol_trainee(session, newcomer, by=trainer)
    ready = trainee("supervisor", qualifications=["hv_awareness"])
    services.enrol_trainee(session, ready, by=trainer)
    with pytest.raises(services.TrainingError, match="already on this session"):
        services.enrol_trainee(session, ready, by=trainer)
    with pytest.raises(services.TrainingError, match="technicians and supervisors"):
        services.enrol_trainee(session, create_user("inspector"), by=trainer)


def test_session_form_rules(trainer, today):
    with pytest.raises(services.TrainingError, match="unknown course"):
        services.create_session(
            trainer, "NOPE", place="x", starts_on=today, ends_on=today, capacity=1
        )
    with pytest.raises(services.TrainingError, match="before the first day"):
        services.create_session(
            trainer, "HV-AW", place="x", starts_on=today, ends_on=today - timedelta(1), capacity=1
        )
    with pytest.raises(services.TrainingError, match="capacity"):
        services.create_session(
            trainer, "HV-AW", place="x", starts_on=today, ends_on=today, capacity=0
        )


# --- attendance ---------------------------------------------------------------------------


def test_roll_call_sets_the_day_and_refuses_days_to_come(create_session, trainee, trainer, today):
    session = create_session(days=3, start=today - timedelta(days=1))
    a, b = trainee(), trainee()
    for t in (a, b):
        services.enrol_trainee(session, t, by=trainer)
    services.record_attendance(session, today, {a.id, b.id}, by=trainer)
    services.record_attendance(session, today, {a.id}, by=trainer)  # b left early: corrected
    db.session.commit()
    assert [len(e.days_present) for e in session.enrolments] == [1, 0]
    with pytest.raises(services.TrainingError, match="still to come"):
        services.record_attendance(session, today + timedelta(days=1), {a.id}, by=trainer)
    with pytest.raises(services.TrainingError, match="not a day of this session"):
        services.record_attendance(session, today + timedelta(days=5), {a.id}, by=trainer)


def test_qr_code_marks_the_trainee_present_once(create_session, trainee, trainer, today):
    session = create_session()
    a = trainee()
    services.enrol_trainee(session, a, by=trainer)
    token = services.attendance_token(session, today, SECRET)
    _, attendance = services.attend_by_token(token, a, secret=SECRET, max_age_s=300)
    assert attendance.method == "qr" and attendance.day == today
    _, again = services.attend_by_token(token, a, secret=SECRET, max_age_s=300)
    db.session.commit()
    assert again is None and session.enrolments[0].days_present == {today}


@pytest.mark.parametrize("case", ["expired", "forged", "other_secret", "not_enrolled", "garbage"])
def test_qr_code_refusals(create_session, trainee, trainer, today, case):
    session = create_session()
    a = trainee()
    services.enrol_trainee(session, a, by=trainer)
    token = services.attendance_token(session, today, SECRET)
    user, secret, message = a, SECRET, "not valid"
    if case == "expired":
        token = services.attendance_token(
            session, today, SECRET, issued_at=utcnow() - timedelta(minutes=6)
        )
        message = "expired"
    elif case == "forged":  # someone edits the session number in the link
        sid, rest = token.split(".", 1)
        token = f"{int(sid) + 1}.{rest}"
    elif case == "other_secret":
        secret = "another-deployment"
    elif case == "not_enrolled":
        user, message = trainee(), "not enrolled"
    else:
        token = "hello"
    with pytest.raises(services.TrainingError, match=message):
        services.attend_by_token(token, user, secret=secret, max_age_s=300)
    assert session.enrolments[0].days_present == set()


def test_qr_code_of_another_day_is_refused(create_session, trainee, trainer, today):
    session = create_session(days=2, start=today - timedelta(days=1))
    a = trainee()
    services.enrol_trainee(session, a, by=trainer)
    token = services.attendance_token(session, today - timedelta(days=1), SECRET)
    with pytest.raises(services.TrainingError, match="another day"):
        services.attend_by_token(token, a, secret=SECRET, max_age_s=300)


# --- pass rules, grants, certificates ---------------------------------------------------------


def _run_course(session, trainer, results, cert_folder):
    """results: [(trainee, days present, theory, practical)]; complete the session."""
    for user, days, theory, practical in results:
        enrolment = services.enrol_trainee(session, user, by=trainer)
        for day in session.days[:days]:
            services.record_attendance(
                session,
                day,
                {e.user_id for e in session.enrolments if day in e.days_present} | {user.id},
                by=trainer,
                today=session.ends_on,
            )
        assessments.record_scores(session, {enrolment.id: (theory, practical)}, by=trainer)
    passed = assessments.complete_session(
        session,
        by=trainer,
        certificate_folder=cert_folder,
        verify_url=verify_url,
        today=session.ends_on,
    )
    db.session.commit()
    return passed


def test_pass_rules(create_session, trainee, trainer, today, cert_folder):
    # HV-QP: theory >= 80 %, practical passed, attendance >= 90 % (of 3 days: all 3)
    session = create_session("HV-QP", days=3, start=today - timedelta(days=2))
    q = ["hv_awareness"]
    good, low_theory, no_practical, absent, no_score = (trainee(qualifications=q) for _ in range(5))
    passed = _run_course(
        session,
        trainer,
        [
            (good, 3, 80, True),
            (low_theory, 3, 79, True),
            (no_practical, 3, 95, False),
            (absent, 2, 95, True),
            (no_score, 3, None, True),
        ],
        cert_folder,
    )
    assert [e.user for e in passed] == [good]
    notes = {e.user: e.result_note for e in session.enrolments}
    assert "theory score 79% is below 80%" in notes[low_theory]
    assert "practical" in notes[no_practical]
    assert "attendance 66% is below 90%" in notes[absent]
    assert "no theory score" in notes[no_score]
    assert holds_qualification(good, "hv_qualified")
    assert not any(holds_qualification(u, "hv_qualified") for u in (low_theory, absent))
    assert session.status == "completed"
    with pytest.raises(services.TrainingError, match="scores cannot change"):
        assessments.record_scores(session, {}, by=trainer)


def test_passing_grants_with_expiry_and_a_verifiable_certificate(
    create_session, trainee, trainer, today, cert_folder, client
):
    session = create_session("HV-AW")
    user = trainee()
    before = utcnow()
    (enrolment,) = _run_course(session, trainer, [(user, 1, 90, None)], cert_folder)
    (grant,) = [g for g in user.qualifications if g.code == "hv_awareness"]
    assert grant.source == "course" and grant.granted_by == trainer
    # 24 months of validity from today
    assert add_months(before, 24) - timedelta(minutes=1) < grant.expires_at
    assert grant.expires_at < add_months(utcnow(), 24) + timedelta(minutes=1)
    assert holds_qualification(user, "hv_awareness", at=grant.expires_at - timedelta(days=1))
    assert not holds_qualification(user, "hv_awareness", at=grant.expires_at + timedelta(days=1))

    certificate = db.session.scalar(sa.select(TrainingCertificate))
    assert certificate.enrolment == enrolment and certificate.qualifications == ["hv_awareness"]
    pdf = assessments.certificate_path(cert_folder, certificate.sha256).read_bytes()
    assert pdf[:5] == b"%PDF-" and hashlib.sha256(pdf).hexdigest() == certificate.sha256
    page = client.get(f"/training/verify/{certificate.verify_code}")
    assert page.status_code == 200 and certificate.number in page.text
    assert user.full_name in page.text and 'data-state="valid"' in page.text
    assert client.get("/training/verify/forged-code").status_code == 404

    # Revoked: still a genuine paper, but the check says the qualification no longer holds.
    from workshop.accounts.services import revoke_qualification
    from workshop.certificates.models import VerificationRequest

    revoke_qualification(grant, "failed a practical re-check")
    db.session.commit()
    page = client.get(f"/training/verify/{certificate.verify_code}")
    assert 'id="verdict" data-state="revoked"' in page.text
    assert '<li data-state="revoked">' in page.text
    # Expired: the same, once the grant's time is up.
    grant.revoked_at = None
    grant.expires_at = utcnow() - timedelta(days=1)
    db.session.commit()
    page = client.get(f"/training/verify/{certificate.verify_code}")
    assert 'id="verdict" data-state="expired"' in page.text
    outcomes = db.session.scalars(
        sa.select(VerificationRequest.outcome)
        .where(VerificationRequest.kind == "training")
        .order_by(VerificationRequest.id)
    ).all()
    assert outcomes == ["valid", "unknown", "revoked", "expired"]


def test_training_checks_are_rate_limited(client, app):
    app.config["VERIFY_RATE_LIMIT"] = 3
    codes = [client.get("/training/verify/nothing-here").status_code for _ in range(5)]
    assert codes[:3] == [404, 404, 404] and codes[3:] == [429, 429]


def test_a_session_is_completed_only_after_its_last_day(
    create_session, trainer, today, cert_folder
):
    session = create_session(days=2)
    with pytest.raises(services.TrainingError, match="after its last day"):
        assessments.complete_session(
            session, by=trainer, certificate_folder=cert_folder, verify_url=verify_url, today=today
        )


# --- gating: what the course's qualifications open, and what expiry closes again ---------------


def test_passing_opens_hv_steps_and_eol_runs_until_expiry(
    app, create_session, trainee, trainer, today, cert_folder, create_user, open_real_job
):
    from workshop.eol import runs
    from workshop.jobs import services as jobs
    from workshop.jobs.progress import manual_of

    app.config["EOL_BENCHES"] = {"SIM-T": dict(FAST_BENCH)}
    user = trainee(qualifications=["hv_awareness"])
    supervisor = create_user("supervisor", centre=user.centre)
    job = open_real_job(user.centre, supervisor, "MRHGE8840BP200077", is_training=True)
    hv_step = next(s.id for s in manual_of(job).steps if s.qualification == "hv_qualified")

    def queue():
        return runs.queue_run(job, user, "SIM-T", ["ecu"], app.config["EOL_BENCHES"])

    with pytest.raises(runs.EolRunError, match="EOL test operator"):
        queue()
    with pytest.raises(jobs.JobError, match="hv_qualified"):
        jobs.sign_step(job, hv_step, user, {}, base_seq=0)

    for course in ("EOL-OP", "HV-QP"):
        _run_course(create_session(course), trainer, [(user, 1, 100, True)], cert_folder)

    run = queue()  # the EOL operator course opened the bench
    db.session.commit()
    assert run.requested_by == user
    runs.request_cancel(run, user)
    # the HV step now stops only at its order in the manual, no longer at the qualification
    with pytest.raises(jobs.JobError) as exc:
        jobs.sign_step(job, hv_step, user, {}, base_seq=0)
    assert "hv_qualified" not in str(exc.value)

    # two years on, the grant has lapsed: the bench is closed again
    for grant in user.qualifications:
        if grant.code == "eol_operator":
            grant.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    with pytest.raises(runs.EolRunError, match="EOL test operator"):
        queue()
