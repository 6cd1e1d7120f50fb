"""Logins cannot be probed, guessed quickly or used to lock someone out; weak passwords refused."""

import difflib
import re

import pytest
import sqlalchemy as sa

from tests.conftest import TEST_PASSWORD
from tests.security.conftest import events
from workshop.accounts import services
from workshop.accounts.models import LoginThrottle
from workshop.columns import utcnow
from workshop.demo import DEMO_LOGINS
from workshop.extensions import db

WRONG = "bad-password-x"
# itsdangerous: payload.timestamp.signature
CSRF_STAMP = re.compile(r'(name="csrf_token"[^>]*value="[^".]+)\.[^".]+\.[^".]+')


def _attempt(client, username, password=WRONG, ip="10.0.0.1"):
    return client.post(
        "/login",
        data={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": ip},
    )


def _time_passes():
    """Every wait ends (the clock moves on, in the database)."""
    db.session.rollback()
    db.session.execute(
        sa.update(LoginThrottle)
        .where(LoginThrottle.blocked_until.is_not(None))
        .values(blocked_until=utcnow())
    )
    db.session.commit()


def test_every_failure_gets_the_same_answer(client, create_user):
    user = create_user("technician")
    gone = create_user("technician")
    gone.active = False
    db.session.commit()
    answers = {
        "wrong password": _attempt(client, user.username, ip="10.0.0.1"),
        "unknown user": _attempt(client, "no-such-user", ip="10.0.0.2"),
        "inactive user": _attempt(client, gone.username, TEST_PASSWORD, ip="10.0.0.3"),
    }
    for r in answers.values():
        assert r.status_code == 200
        assert "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง" in r.text
        assert "Set-Cookie" not in r.headers or "sid" not in r.headers["Set-Cookie"]
    # A CSRF token is signed with the time in whole seconds: on a busy machine the three
    # answers can straddle a second. Compare the token's session-bound payload, not its stamp.
    bodies = {
        CSRF_STAMP.sub(r"\1.<time>.<signature>", r.text)
        .replace(user.username, "X")
        .replace(gone.username, "X")
        for r in answers.values()
    }
    same = sorted({b.replace("no-such-user", "X") for b in bodies})
    assert len(same) == 1, "\n".join(
        difflib.unified_diff(same[0].splitlines(), same[-1].splitlines(), lineterm="")
    )
    reasons = [e.details["reason"] for e in events("login.failed")]
    assert reasons == ["wrong password", "unknown user", "inactive"]


def test_unknown_users_cost_one_password_hash_like_real_ones(client, create_user, monkeypatch):
    """The answer for an unknown user takes as long as for a real one: both hash once, with the
    same method (counted, not timed: a test never depends on the machine's speed)."""
    user = create_user("technician")
    checked = []
    real_check = services.check_password_hash

    def counting(pwhash, password):
        checked.append(pwhash.split("$", 1)[0])
        return real_check(pwhash, password)

    monkeypatch.setattr(services, "check_password_hash", counting)
    _attempt(client, user.username, ip="10.0.0.1")
    _attempt(client, "no-such-user", ip="10.0.0.2")
    assert len(checked) == 2 and checked[0] == checked[1]


@pytest.mark.parametrize("known", [True, False], ids=["real user", "unknown user"])
def test_username_back_off_doubles_and_is_capped(app, client, create_user, known):
    app.config["LOGIN_THROTTLE_MAX_SECONDS"] = 30
    if known:
        create_user("technician", username="somchai")
    for n in range(5):  # five free failures, from five addresses
        assert _attempt(client, "somchai", ip=f"10.0.1.{n}").status_code == 200
    waits = []
    for n in range(6):
        r = _attempt(client, "somchai", TEST_PASSWORD, ip=f"10.0.2.{n}")
        assert r.status_code == 429
        waits.append(int(r.headers["Retry-After"]))
        assert "รอ" in r.text
        _time_passes()
        assert _attempt(client, "somchai", ip=f"10.0.3.{n}").status_code == 200
    # 2 s after the fifth failure, then doubling, never more than the configured cap
    assert waits == [2, 4, 8, 16, 30, 30]
    _time_passes()
    r = _attempt(client, "somchai", TEST_PASSWORD, ip="10.0.4.1")
    assert r.status_code == (302 if known else 200)


def test_one_address_trying_many_usernames_is_slowed(client, create_user):
    user = create_user("technician")
    for n in range(20):
        assert _attempt(client, f"guess{n}", ip="10.9.9.9").status_code == 200
    r = _attempt(client, "guess-more", ip="10.9.9.9")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    # the right password from that address waits too, but the real user elsewhere is not locked out
    assert _attempt(client, user.username, TEST_PASSWORD, ip="10.9.9.9").status_code == 429
    assert _attempt(client, user.username, TEST_PASSWORD, ip="10.1.1.1").status_code == 302


def test_strangers_cannot_lock_the_admin_out_for_good(client, create_user):
    admin = create_user("admin", username="admin")
    for n in range(30):
        _attempt(client, "admin", ip=f"10.7.{n}.1")
        _time_passes()
    r = _attempt(client, "admin", TEST_PASSWORD, ip="10.8.0.1")
    assert r.status_code == 302  # the wait after 30 failures has passed: no lock-out remains
    assert client.get("/", environ_base={"REMOTE_ADDR": "10.8.0.1"}).status_code == 200
    assert admin.username == "admin"


def test_throttling_and_logins_are_audited(client, create_user):
    user = create_user("technician")
    for n in range(6):
        _attempt(client, user.username, ip=f"10.5.0.{n}")
    assert len(events("login.failed")) == 5
    (throttled,) = events("login.throttled")
    assert throttled.username == user.username and throttled.ip == "10.5.0.5"
    assert throttled.details["retry_after"] >= 1
    _time_passes()
    _attempt(client, user.username, TEST_PASSWORD, ip="10.5.1.1")
    (login,) = events("login")
    assert (login.user_id, login.ip) == (user.id, "10.5.1.1")


@pytest.mark.parametrize("weak", ["1234567890", "qwertyuiop", "Password12", "aaaaaaaaaaaa"])
def test_common_passwords_are_refused(client, auth, create_user, weak):
    user = create_user("technician")
    auth.login(user.username)
    r = client.post(
        "/account/password",
        data={"current_password": TEST_PASSWORD, "new_password": weak, "confirm": weak},
    )
    assert r.status_code == 200
    assert "เดาง่ายเกินไป" in r.text or "อย่างน้อย" in r.text
    assert services.authenticate(user.username, TEST_PASSWORD, ip="t").user is not None


def test_demo_and_test_passwords_pass_the_check(app):
    for login in DEMO_LOGINS:
        assert services.password_problem(login.password, login.username) is None, login
    assert services.password_problem(TEST_PASSWORD, "technician1") is None
