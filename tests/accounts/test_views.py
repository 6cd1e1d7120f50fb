import sqlalchemy as sa

from tests.conftest import TEST_PASSWORD
from workshop.accounts.models import Centre, Role, User
from workshop.audit.models import AuditEvent
from workshop.extensions import db


def count(model):
    db.session.rollback()  # end this test's read transaction to see what requests wrote
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_login_page_is_thai_by_default(client):
    r = client.get("/login")
    assert r.status_code == 200
    assert '<html lang="th">' in r.text
    assert "เข้าสู่ระบบ" in r.text


def test_anonymous_redirected_to_login_with_next(client):
    r = client.get("/admin/centres")
    assert r.status_code == 302
    assert r.headers["Location"] == "/login?next=%2Fadmin%2Fcentres"


def test_login_redirects_to_safe_next_only(client, create_user):
    user = create_user("admin")
    r = client.post(
        "/login?next=/admin/centres",
        data={"username": user.username, "password": TEST_PASSWORD},
    )
    assert r.headers["Location"] == "/admin/centres"
    client.post("/logout")
    r = client.post(
        "/login?next=//evil.example/", data={"username": user.username, "password": TEST_PASSWORD}
    )
    assert r.headers["Location"] == "/"


def test_wrong_password_message_and_no_session(client, create_user):
    user = create_user("technician")
    r = client.post("/login", data={"username": user.username, "password": "nope-nope-nope"})
    assert r.status_code == 200
    assert "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง" in r.text
    assert client.get("/").status_code == 302


def test_throttled_login_answers_429_with_retry_after(client, create_user):
    user = create_user("technician")
    for _ in range(5):
        r = client.post("/login", data={"username": user.username, "password": "bad-password-x"})
        assert r.status_code == 200
    r = client.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert "รอ" in r.text  # Thai by default
    assert client.get("/").status_code == 302


def test_logout_requires_post(client, auth, create_user):
    user = create_user("technician")
    auth.login(user.username)
    assert client.get("/logout").status_code == 405
    r = client.post("/logout")
    assert r.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_session_cookie_flags(client, create_user):
    user = create_user("technician")
    r = client.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_secure_cookie_from_environment(app_factory, monkeypatch):
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "true")
    app = app_factory()
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_admin_creates_centre_and_user(client, auth, create_user):
    admin = create_user("admin")
    auth.login(admin.username)
    r = client.post(
        "/admin/centres/new",
        data={
            "code": "KKN01",
            "name_th": "ศูนย์ขอนแก่น",
            "name_en": "Khon Kaen centre",
            "province": "KKN",
            "labour_rate": "500.00",
            "active": "y",
        },
    )
    assert r.status_code == 302, r.text
    centre = db.session.scalar(sa.select(Centre).where(Centre.code == "KKN01"))
    assert centre.labour_rate == 500
    r = client.post(
        "/admin/users/new",
        data={
            "username": "newtech",
            "full_name": "ช่างใหม่",
            "roles": ["technician"],
            "centre_id": str(centre.id),
            "password": "a-strong-password",
            "active": "y",
        },
    )
    assert r.status_code == 302, r.text
    db.session.rollback()
    user = db.session.scalar(sa.select(User).where(User.username == "newtech"))
    assert user.roles == {Role.TECHNICIAN} and user.centre_id == centre.id
    actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-2:] == ["centre.create", "user.create"]
    last = db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()))
    assert last.username == admin.username and last.ip == "127.0.0.1"


def test_bad_centre_form_changes_nothing(client, auth, create_user):
    admin = create_user("admin")
    auth.login(admin.username)
    before = count(Centre)
    for bad in (
        {"code": "", "name_th": "ก", "name_en": "A", "province": "BKK", "labour_rate": "1"},
        {"code": "X X", "name_th": "ก", "name_en": "A", "province": "BKK", "labour_rate": "1"},
        {"code": "OK1", "name_th": "ก", "name_en": "A", "province": "ATLANTIS", "labour_rate": "1"},
        {"code": "OK1", "name_th": "ก", "name_en": "A", "province": "BKK", "labour_rate": "-5"},
        {"code": "OK1", "name_th": "ก", "name_en": "A", "province": "BKK", "labour_rate": "lots"},
    ):
        r = client.post("/admin/centres/new", data=bad)
        assert r.status_code == 200
        assert "field-error" in r.text
    assert count(Centre) == before


def test_user_form_refuses_rule_breaks(client, auth, create_user, create_centre):
    admin = create_user("admin")
    auth.login(admin.username)
    before = count(User)
    r = client.post(
        "/admin/users/new",
        data={
            "username": "tech2",
            "full_name": "T",
            "roles": ["technician"],
            "centre_id": "0",
            "password": "a-strong-password",
        },
    )
    assert r.status_code == 200 and "flash-error" in r.text
    r = client.post(
        "/admin/users/new",
        data={
            "username": "tech2",
            "full_name": "T",
            "roles": ["pilot"],
            "centre_id": str(create_centre().id),
            "password": "a-strong-password",
        },
    )
    assert r.status_code == 200 and "field-error" in r.text
    assert count(User) == before


def test_missing_csrf_token_is_refused_clearly(app_factory, create_user):
    app = app_factory(WTF_CSRF_ENABLED=True)
    user = create_user("technician")
    client = app.test_client()
    r = client.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
    assert r.status_code == 400
    assert "ไม่มีรหัสความปลอดภัย" in r.text or "หมดอายุ" in r.text
    assert client.get("/").status_code == 302  # not logged in


def test_oversized_request_refused(app_factory):
    app = app_factory(MAX_CONTENT_LENGTH=1024)
    client = app.test_client()
    r = client.post("/login", data={"username": "x" * 5000, "password": "y"})
    assert r.status_code == 413
    assert "ใหญ่เกิน" in r.text and "1 KB" in r.text  # the limit is stated


def test_malformed_form_data(client, auth, create_user):
    admin = create_user("admin")
    auth.login(admin.username)
    r = client.post(
        "/admin/centres/new", data=b"\xff\xfe%%%", content_type="application/x-www-form-urlencoded"
    )
    assert r.status_code in (200, 400)
    r = client.post(
        "/admin/centres/new", data=b"--broken", content_type="multipart/form-data; boundary=zzz"
    )
    assert r.status_code in (200, 400)
    assert "Traceback" not in r.text
    assert count(Centre) == 0


def test_unknown_record_is_404(client, auth, create_user):
    auth.login(create_user("admin").username)
    assert client.get("/admin/users/99999/edit").status_code == 404
    assert client.get("/admin/centres/abc/edit").status_code == 404


def test_language_choice_remembered_on_account(client, auth, create_user):
    user = create_user("technician")
    auth.login(user.username)
    r = client.post("/language/en?next=/")
    assert r.headers["Location"] == "/"
    assert "Open jobs at my centre" in client.get("/").text
    client.post("/logout")
    fresh = client.application.test_client()
    fresh.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
    assert '<html lang="en">' in fresh.get("/").text


def test_unsupported_language_ignored(client):
    r = client.post("/language/fr")
    assert r.status_code == 302
    assert '<html lang="th">' in client.get("/login").text


def test_password_change_via_form(client, auth, create_user):
    user = create_user("technician")
    auth.login(user.username)
    r = client.post(
        "/account/password",
        data={
            "current_password": "wrong-one-here",
            "new_password": "another-secret-9",
            "confirm": "another-secret-9",
        },
    )
    assert "flash-error" in r.text
    r = client.post(
        "/account/password",
        data={
            "current_password": TEST_PASSWORD,
            "new_password": "another-secret-9",
            "confirm": "another-secret-9",
        },
    )
    assert r.status_code == 302
    client.post("/logout")
    r = client.post("/login", data={"username": user.username, "password": "another-secret-9"})
    assert r.status_code == 302
