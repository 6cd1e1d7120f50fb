"""The training screens over HTTP: a session from scheduling to certificates, QR attendance,
oversight of a centre's qualifications and a technician's own page."""

import re
from datetime import timedelta

import sqlalchemy as sa

from workshop.accounts.services import grant_qualification
from workshop.columns import utcnow
from workshop.extensions import db
from workshop.training import services
from workshop.training.models import TrainingCertificate, TrainingSession


def test_trainer_runs_a_session_end_to_end(app, client, auth, trainer, trainee, today):
    a, b = trainee(username="somchai"), trainee(username="wipa")
    auth.login(trainer.username)
    r = client.post(
        "/training/sessions/new",
        data={
            "course_code": "HV-AW",
            "place": "ห้อง 1",
            "starts_on": today.isoformat(),
            "ends_on": today.isoformat(),
            "capacity": "1",
        },
    )
    assert r.status_code == 302
    url = r.headers["Location"]
    for username in ("somchai", "wipa", "nobody"):
        client.post(f"{url}/enrol", data={"username": username})
    page = client.get(url).text
    assert "somchai" in page and 'id="waiting"' in page and "wipa" in page

    projector = client.get(f"{url}/projector")
    assert projector.status_code == 200 and "<svg" in projector.text
    link = re.search(r'data-url="([^"]+)"', projector.text).group(1)
    # The QR code carries the public address (PUBLIC_BASE_URL), not the request's Host.
    assert link.startswith("http://127.0.0.1:5000/training/")
    link = link.removeprefix("http://127.0.0.1:5000")
    auth.logout()

    auth.login(a.username)
    attended = client.get(link)
    assert attended.status_code == 200 and "flash-success" in attended.text
    auth.logout()
    auth.login(b.username)  # on the waiting list: refused clearly
    refused = client.get(link)
    assert refused.status_code == 400 and "ไม่ได้ลงทะเบียน" in refused.text
    auth.logout()

    auth.login(trainer.username)
    db.session.rollback()
    enrolment = db.session.scalar(sa.select(TrainingSession)).enrolments[0]
    client.post(f"{url}/scores", data={f"theory-{enrolment.id}": "101"})
    client.post(f"{url}/scores", data={f"theory-{enrolment.id}": "88"})
    done = client.post(f"{url}/complete", follow_redirects=True)
    assert "1 of 1" in done.text or "1 จาก 1" in done.text
    db.session.rollback()
    certificate = db.session.scalar(sa.select(TrainingCertificate))
    assert certificate.enrolment.theory_score == 88
    pdf = client.get(f"/training/certificates/{certificate.id}.pdf")
    assert pdf.status_code == 200 and pdf.data[:5] == b"%PDF-"
    pdf.close()
    auth.logout()
    auth.login(b.username)
    assert client.get(f"/training/certificates/{certificate.id}.pdf").status_code == 403


def test_expired_and_forged_qr_links_are_refused_clearly(
    app, client, auth, create_session, trainer, trainee, today
):
    session = create_session()
    user = trainee()
    services.enrol_trainee(session, user, by=trainer)
    db.session.commit()
    secret = app.config["SECRET_KEY"]
    old = services.attendance_token(session, today, secret, issued_at=utcnow() - timedelta(hours=1))
    auth.login(user.username)
    r = client.get(f"/training/attend/{old}")
    assert r.status_code == 400 and ("expired" in r.text or "หมดอายุ" in r.text)
    r = client.get(f"/training/attend/{old[:-3]}abc")
    assert r.status_code == 400
    db.session.rollback()
    assert session.enrolments[0].days_present == set()


def test_oversight_and_my_qualifications(client, auth, create_user, trainee):
    tech = trainee(qualifications=["hv_awareness"])
    grant_qualification(tech, "eol_operator", expires_at=utcnow() + timedelta(days=30))
    supervisor = create_user("supervisor", centre=tech.centre)
    db.session.commit()
    auth.login(supervisor.username)
    page = client.get("/training/oversight")
    assert page.status_code == 200
    expiring = page.text.split('id="expiring"')[1].split("</section>")[0]
    assert tech.full_name in expiring
    auth.logout()
    auth.login(tech.username)
    mine = client.get("/training/me")
    assert mine.status_code == 200 and 'data-code="eol_operator"' in mine.text
    assert client.get("/training/oversight").status_code == 403
