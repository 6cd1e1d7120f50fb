"""Sessions end on the server: logout, password change, admin reset, admin action, idle tablet."""

from datetime import timedelta

import sqlalchemy as sa

from tests.conftest import TEST_PASSWORD, IsolatedClient
from tests.security.conftest import events
from workshop.accounts.models import UserSession
from workshop.extensions import db


def _login(app, user, password=TEST_PASSWORD):
    client = app.test_client()
    r = client.post("/login", data={"username": user.username, "password": password})
    assert r.status_code == 302 and r.headers["Location"] == "/"
    return client


def _copy(app, client):
    """A second client holding a copy of ``client``'s session cookie (a stolen cookie)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def _opens_jobs(client) -> bool:
    r = client.get("/jobs/")
    if r.status_code == 302:
        assert r.headers["Location"].startswith("/login")
        return False
    assert r.status_code == 200
    return True


def test_a_cookie_copied_before_logout_opens_nothing_after(app, create_user):
    app.test_client_class = IsolatedClient
    user = create_user("technician")
    client = _login(app, user)
    thief = _copy(app, client)
    assert _opens_jobs(thief)
    assert client.post("/logout").headers["Location"] == "/login"
    assert not _opens_jobs(thief)
    assert not _opens_jobs(client)
    (ended,) = events("session.end")
    assert ended.details["reason"] == "logout"


def test_password_change_ends_every_other_session(app, create_user):
    app.test_client_class = IsolatedClient
    user = create_user("technician")
    tablet, phone = _login(app, user), _login(app, user)
    r = tablet.post(
        "/account/password",
        data={
            "current_password": TEST_PASSWORD,
            "new_password": "another-secret-9",
            "confirm": "another-secret-9",
        },
    )
    assert r.status_code == 302
    assert _opens_jobs(tablet)  # the session that made the change stays
    assert not _opens_jobs(phone)
    assert [e.details["reason"] for e in events("session.end")] == ["password_change"]


def test_admin_reset_ends_every_session_of_the_user(app, create_user):
    app.test_client_class = IsolatedClient
    admin = create_user("admin")
    user = create_user("technician")
    tablet, phone = _login(app, user), _login(app, user)
    admin_client = _login(app, admin)
    r = admin_client.get(f"/admin/users/{user.id}/edit")
    assert r.status_code == 200 and 'id="end-sessions"' in r.text
    form = {
        "username": user.username,
        "full_name": user.full_name,
        "email": "",
        "roles": ["technician"],
        "centre_id": user.centre_id,
        "password": "brand-new-secret-1",
        "active": "y",
    }
    r = admin_client.post(f"/admin/users/{user.id}/edit", data=form)
    assert r.status_code == 302, r.text
    assert not _opens_jobs(tablet) and not _opens_jobs(phone)
    assert _opens_jobs(_login(app, user, "brand-new-secret-1"))
    assert admin_client.get("/").status_code == 200  # the admin's own session is untouched


def test_admin_ends_a_users_sessions(app, create_user):
    app.test_client_class = IsolatedClient
    admin = create_user("admin")
    user = create_user("technician")
    tablet = _login(app, user)
    admin_client = _login(app, admin)
    r = admin_client.post(f"/admin/users/{user.id}/sessions/end")
    assert r.status_code == 302
    assert not _opens_jobs(tablet)
    assert admin_client.get("/").status_code == 200
    assert [e.details["reason"] for e in events("session.end")] == ["admin"]
    # an admin ending their own sessions keeps the one they are using
    other = _login(app, admin)
    admin_client.post(f"/admin/users/{admin.id}/sessions/end")
    assert admin_client.get("/").status_code == 200
    assert other.get("/").status_code == 302


def _age_sessions(user, idle: timedelta):
    db.session.rollback()
    for record in db.session.scalars(sa.select(UserSession).where(UserSession.user_id == user.id)):
        record.last_seen_at = record.last_seen_at - idle
    db.session.commit()


def test_idle_shared_tablet_is_logged_out_after_the_default_8_hours(app, create_user):
    app.test_client_class = IsolatedClient
    assert app.config["SESSION_IDLE_MINUTES"] == 8 * 60
    user = create_user("technician")
    tablet = _login(app, user)
    _age_sessions(user, timedelta(hours=7, minutes=50))  # time moves on, in the database
    assert _opens_jobs(tablet)  # still in time, and the visit counts as use
    _age_sessions(user, timedelta(hours=8, minutes=2))
    r = tablet.get("/jobs/", follow_redirects=True)
    assert "/login" in r.request.path
    assert "ไม่ได้ใช้งานเป็นเวลานาน" in r.text  # told why, in Thai
    assert not _opens_jobs(tablet)
    assert [e.details["reason"] for e in events("session.end")] == ["idle"]


def test_idle_timeout_is_configurable(app, create_user):
    app.test_client_class = IsolatedClient
    app.config["SESSION_IDLE_MINUTES"] = 30  # FLASK_SESSION_IDLE_MINUTES=30 in the environment
    user = create_user("technician")
    tablet = _login(app, user)
    _age_sessions(user, timedelta(minutes=31))
    assert not _opens_jobs(tablet)


def test_deactivated_user_is_out_at_once(app, create_user):
    app.test_client_class = IsolatedClient
    user = create_user("technician")
    tablet = _login(app, user)
    db.session.rollback()
    db.session.get(type(user), user.id).active = False
    db.session.commit()
    assert not _opens_jobs(tablet)
