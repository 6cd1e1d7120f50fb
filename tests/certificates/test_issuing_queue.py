"""Issuing in the background (issue 14): the Issue button queues the work for a real RQ worker on
the real Redis; the job's page follows it; a failure leaves the job approved and nothing issued."""

import pytest
import sqlalchemy as sa

from tests.conftest import ON_POSTGRES
from workshop.certificates import services
from workshop.certificates.issuing import latest_issue_request
from workshop.certificates.models import Certificate, CertificateCounter, IssueRequest, SigningKey
from workshop.columns import utcnow
from workshop.extensions import db
from workshop.jobs.models import JobStatus
from workshop.queue import job_progress, run_worker, task_queue, task_status


def count(model) -> int:
    db.session.rollback()  # see what the requests committed
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def press_issue(client, job, **kwargs):
    return client.post(f"/certificates/jobs/{job.id}/issue", **kwargs)


def status(client, job) -> dict:
    return client.get(f"/certificates/jobs/{job.id}/issue/status").json


def queued(cert_app) -> int:
    return task_queue(cert_app.config).count


def page(client, job) -> str:
    return client.get(f"/inspection/jobs/{job.id}").text


def test_issue_is_queued_then_the_worker_issues_it(build_job, crew, client, auth, cert_app):
    job = build_job(stage="approved")
    auth.login(crew["inspector"].username)
    assert status(client, job) == {"status": "none"}
    r = press_issue(client, job)
    assert r.status_code == 302
    assert r.headers["Location"].endswith(f"/inspection/jobs/{job.id}#certificate-readiness")
    # queued: a row, a task on the queue, and nothing issued yet
    assert count(IssueRequest) == 1 and count(Certificate) == 0 and queued(cert_app) == 1
    request = latest_issue_request(job)
    assert (request.status, request.pending_job_id) == ("queued", job.id) and request.rq_job_id
    db.session.refresh(job)
    assert job.status == JobStatus.APPROVED
    assert status(client, job) == {"status": "queued", "progress": 0.0}
    html = page(client, job)
    assert 'data-issue-status-url="/certificates/jobs/' in html and 'id="issue"' not in html
    # pressing Issue again while it is queued queues nothing more, and says so
    r = press_issue(client, job, follow_redirects=True)
    assert "flash-success" in r.text
    assert count(IssueRequest) == 1 and queued(cert_app) == 1

    run_worker(cert_app.config, burst=True)

    db.session.rollback()
    certificate = services.job_certificate(job)
    assert certificate is not None and certificate.pdf[:5] == b"%PDF-"
    signatures = services.public_signatures(certificate)
    assert [s["field"] for s in signatures] == ["Mechanical", "Electrical", "Centre"]
    request = latest_issue_request(job)
    assert (request.status, request.certificate_id, request.pending_job_id) == (
        "done",
        certificate.id,
        None,
    )
    assert job.status == JobStatus.CERTIFIED
    # the worker reported its stages, up to the end
    assert job_progress(cert_app.config, request.rq_job_id) == 1.0
    assert status(client, job) == {
        "status": "done",
        "progress": 1.0,
        "url": f"/certificates/{certificate.id}?issued=1",
    }
    html = page(client, job)
    assert f'id="certificate-link" href="/certificates/{certificate.id}"' in html
    assert "data-issue-status-url" not in html and 'id="issue"' not in html


def issued_message(cert_app, certificate, locale: str) -> str:
    """The "issued" confirmation as the catalogue renders it in ``locale``."""
    from flask_babel import force_locale, gettext

    with cert_app.test_request_context(), force_locale(locale):
        text = gettext("Certificate %(number)s has been issued.", number=certificate.number)
    return f'<div class="flash flash-success">{text}</div>'


@pytest.mark.parametrize("locale", ["th", "en"])
def test_the_certificate_page_says_it_was_just_issued_once(
    build_job, crew, client, auth, cert_app, locale
):
    crew["inspector"].locale = locale
    db.session.commit()
    job = build_job(stage="approved")
    auth.login(crew["inspector"].username)
    press_issue(client, job)
    run_worker(cert_app.config, burst=True)
    db.session.rollback()
    certificate = services.job_certificate(job)
    # the page that waited goes where the status says: a flagged address, redirected to the plain one
    r = client.get(status(client, job)["url"])
    assert r.status_code == 302
    assert r.headers["Location"] == f"/certificates/{certificate.id}"
    html = client.get(r.headers["Location"]).text
    assert f'<html lang="{locale}"' in html
    assert issued_message(cert_app, certificate, locale) in html
    # a reload, or any later visit, does not say it again
    assert "flash-success" not in client.get(f"/certificates/{certificate.id}").text


def test_only_the_one_who_asked_is_told_it_was_issued(build_job, crew, client, auth, cert_app):
    job = build_job(stage="approved")
    auth.login(crew["inspector"].username)
    press_issue(client, job)
    run_worker(cert_app.config, burst=True)
    db.session.rollback()
    certificate = services.job_certificate(job)
    auth.logout()
    auth.login(crew["mech"].username)  # another inspector of the centre
    assert status(client, job)["url"] == f"/certificates/{certificate.id}"
    # even with the flag typed in, nothing is said to someone who did not ask
    r = client.get(f"/certificates/{certificate.id}?issued=1", follow_redirects=True)
    assert r.request.path == f"/certificates/{certificate.id}"
    assert "flash-success" not in r.text


def test_a_refusal_is_said_at_once_and_queues_nothing(build_job, crew, client, auth, cert_app):
    job = build_job(stage="submitted")  # awaiting inspection: not approved
    auth.login(crew["inspector"].username)
    r = press_issue(client, job, follow_redirects=True)
    assert "flash-error" in r.text
    from flask_babel import force_locale

    with cert_app.test_request_context(), force_locale("th"):  # the page's language
        blockers = [b.message for b in services.certificate_blockers(job)]
    assert "ยังออกใบรับรองไม่ได้: " + "; ".join(blockers) in r.text  # the same words as before
    assert count(IssueRequest) == 0 and count(Certificate) == 0 and queued(cert_app) == 0
    db.session.refresh(job)
    assert job.status == JobStatus.AWAITING_INSPECTION


def test_broken_signing_material_fails_the_request_and_leaves_the_job_approved(
    build_job, crew, client, auth, cert_app, tmp_path
):
    job = build_job(stage="approved")
    broken = tmp_path / "broken.pem"
    broken.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    cert_app.config["CERTIFICATE_SIGNING_KEY"] = str(broken)
    cert_app.config["CERTIFICATE_SIGNING_CERT"] = str(broken)
    auth.login(crew["inspector"].username)
    press_issue(client, job)
    run_worker(cert_app.config, burst=True)

    request = latest_issue_request(job)
    assert (request.status, request.error_code, request.pending_job_id) == (
        "failed",
        "signing_failed",
        None,
    )
    assert set(request.error_params) == {"error"}  # the exception's class, not a sentence
    # the issuing transaction was rolled back whole: job approved, no certificate, no number used
    db.session.refresh(job)
    assert job.status == JobStatus.APPROVED and job.closed_at is None
    assert count(Certificate) == 0
    assert all(c.last_number == 0 for c in db.session.scalars(sa.select(CertificateCounter)))
    answer = status(client, job)
    assert answer["status"] == "failed" and "url" not in answer and answer["message"]
    html = page(client, job)
    assert 'id="issue-failure"' in html and 'id="issue"' in html

    # fixed: Issue works again
    del cert_app.config["CERTIFICATE_SIGNING_KEY"], cert_app.config["CERTIFICATE_SIGNING_CERT"]
    press_issue(client, job)
    run_worker(cert_app.config, burst=True)
    db.session.rollback()
    assert latest_issue_request(job).status == "done"
    assert count(Certificate) == 1 and job.status == JobStatus.CERTIFIED
    assert services.job_certificate(job).number.endswith("-0001")  # the failure used no number


def test_a_job_that_changed_before_the_worker_ran_fails_with_the_reason(
    build_job, crew, client, auth, cert_app
):
    from workshop.certificates.engineer_keys import enrol_from_ca

    job = build_job(stage="approved")
    auth.login(crew["inspector"].username)
    press_issue(client, job)
    assert latest_issue_request(job).status == "queued"
    # between the request and the task, the mechanical engineer's signing key is revoked
    key = db.session.scalar(sa.select(SigningKey).where(SigningKey.user_id == crew["mech"].id))
    key.revoked_at = utcnow()
    db.session.commit()
    run_worker(cert_app.config, burst=True)

    request = latest_issue_request(job)
    assert (request.status, request.error_code) == ("failed", "blocked")
    assert [b["code"] for b in request.error_params["blockers"]] == ["signing_key_missing"]
    db.session.refresh(job)
    assert job.status == JobStatus.APPROVED and count(Certificate) == 0
    answer = status(client, job)
    assert answer["status"] == "failed" and crew["mech"].full_name in answer["message"]
    assert crew["mech"].full_name in page(client, job)

    enrol_from_ca(crew["mech"], cert_app.config, cert_app.instance_path)
    db.session.commit()
    press_issue(client, job)
    run_worker(cert_app.config, burst=True)
    db.session.rollback()
    assert latest_issue_request(job).status == "done" and job.status == JobStatus.CERTIFIED
    assert count(IssueRequest) == 2 and count(Certificate) == 1


def test_an_unreachable_queue_is_said_and_records_nothing(build_job, crew, client, auth, cert_app):
    job = build_job(stage="approved")
    cert_app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there
    auth.login(crew["inspector"].username)
    r = press_issue(client, job, follow_redirects=True)
    assert "flash-error" in r.text
    assert count(IssueRequest) == 0 and count(Certificate) == 0
    db.session.refresh(job)
    assert job.status == JobStatus.APPROVED
    assert 'id="issue"' in r.text  # the button is still there to try again


def test_a_task_the_queue_lost_does_not_block_the_job(build_job, crew, client, auth, cert_app):
    """A worker killed mid-task (or a flushed Redis) leaves a row that says under way: the page
    says it stopped, and Issue queues a new request."""
    job = build_job(stage="approved")
    auth.login(crew["inspector"].username)
    press_issue(client, job)
    task_queue(cert_app.config).empty()  # the task and its record are gone from Redis
    assert task_status(cert_app.config, latest_issue_request(job).rq_job_id) == "missing"
    answer = status(client, job)
    assert answer["status"] == "failed" and answer["message"]
    assert 'id="issue"' in page(client, job)
    press_issue(client, job)
    assert count(IssueRequest) == 2
    first, second = db.session.scalars(sa.select(IssueRequest).order_by(IssueRequest.id)).all()
    assert (first.status, first.error_code) == ("failed", "worker_lost")
    run_worker(cert_app.config, burst=True)
    db.session.rollback()
    assert second.status == "done" and count(Certificate) == 1


def test_the_thai_page_says_it_in_thai(build_job, crew, client, auth, cert_app):
    job = build_job(stage="approved")
    auth.login(crew["inspector"].username)  # Thai is the default language
    press_issue(client, job)
    html = page(client, job)
    assert "กำลังออกใบรับรอง…" in html
    key = db.session.scalar(sa.select(SigningKey).where(SigningKey.user_id == crew["mech"].id))
    key.revoked_at = utcnow()
    db.session.commit()
    run_worker(cert_app.config, burst=True)
    answer = status(client, job)
    assert answer["status"] == "failed"
    assert answer["message"].startswith("ยังออกใบรับรองไม่ได้")
    html = page(client, job)
    assert "ออกใบรับรองไม่สำเร็จ" in html


@pytest.mark.skipif(not ON_POSTGRES, reason="needs concurrent writers (PostgreSQL)")
def test_two_presses_at_once_queue_one_request(build_job, crew, cert_app):
    """The database keeps a job to one request under way, even when both presses pass the
    "already under way?" look at the same moment."""
    import threading

    from workshop.accounts.models import User
    from workshop.certificates.issuing import request_issue
    from workshop.jobs.models import Job

    job = build_job(stage="approved")
    job_id, inspector_id = job.id, crew["inspector"].id  # read here: the threads have sessions
    barrier = threading.Barrier(3, timeout=120)
    outcomes = []

    def press():
        with cert_app.app_context():
            mine = db.session.get(Job, job_id)
            inspector = db.session.get(User, inspector_id)
            barrier.wait()
            request, new = request_issue(mine, inspector, cert_app.config)
            db.session.commit()
            outcomes.append((request.id, new))

    threads = [threading.Thread(target=press) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 3 and len({request_id for request_id, _ in outcomes}) == 1, outcomes
    assert sorted(new for _, new in outcomes) == [False, False, True]
    assert count(IssueRequest) == 1 and queued(cert_app) == 1
