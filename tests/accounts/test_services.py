from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tests.conftest import TEST_PASSWORD
from workshop.accounts import services
from workshop.accounts.models import Centre, Role, User
from workshop.audit.models import AuditEvent
from workshop.columns import utcnow
from workshop.extensions import db


def events(action):
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def test_create_centre_normalises_and_audits(app):
    centre = services.create_centre(
        code="bkk02", name_th="ศูนย์", name_en="Centre", province="BKK", labour_rate=Decimal("650.5")
    )
    db.session.commit()
    assert centre.code == "BKK02"
    assert centre.labour_rate == Decimal("650.50")
    assert [e.details for e in events("centre.create")] == [{"code": "BKK02"}]


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"code": "x"}, "centre code"),
        ({"code": "BAD CODE"}, "centre code"),
        ({"labour_rate": Decimal("-1")}, "negative"),
    ],
)
def test_create_centre_refuses_bad_input(app, fields, message):
    data = {"code": "OK01", "name_th": "ก", "name_en": "A", "province": "BKK", **fields}
    with pytest.raises(services.AccountError, match=message):
        services.create_centre(**data)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Centre.id))) == 0


def test_duplicate_centre_code_refused(app, create_centre):
    create_centre(code="DUP01")
    with pytest.raises(services.AccountError, match="already used"):
        services.create_centre(code="dup01", name_th="ก", name_en="A", province="BKK")


def test_update_centre_records_differences(app, create_centre):
    centre = create_centre(labour_rate=Decimal("600.00"))
    services.update_centre(centre, labour_rate=Decimal("700"), name_en=centre.name_en)
    db.session.commit()
    (ev,) = events("centre.update")
    assert ev.details == {"labour_rate": ["600.00", "700.00"]}


def test_password_is_hashed_with_salt(app, create_user):
    a = create_user("technician", password="same-password-123")
    b = create_user("technician", password="same-password-123")
    assert "same-password-123" not in a.password_hash
    assert a.password_hash != b.password_hash


def test_production_hash_is_scrypt(app):
    app.config.pop("PASSWORD_HASH_METHOD")
    assert services.hash_password("whatever-long-pass").startswith("scrypt:")


@pytest.mark.parametrize(
    "password, problem",
    [
        ("short", "at least 10"),
        ("aaaaaaaaaaaa", "too easy to guess"),
        ("1234567890", "too easy to guess"),
        ("qwertyuiop", "too easy to guess"),
        ("Password12", "too easy to guess"),
        ("xxtech99xxxyy", "username"),
    ],
)
def test_weak_passwords_refused(app, create_centre, password, problem):
    with pytest.raises(services.AccountError, match=problem):
        services.create_user(
            username="tech99",
            full_name="T",
            password=password,
            roles=["technician"],
            centre=create_centre(),
        )


def test_role_and_centre_rules(app, create_centre):
    centre = create_centre()
    with pytest.raises(services.AccountError, match="at least one role"):
        services.create_user(username="nobody", full_name="N", password=TEST_PASSWORD, roles=[])
    with pytest.raises(services.AccountError, match="belong to a centre"):
        services.create_user(
            username="tech", full_name="T", password=TEST_PASSWORD, roles=["technician"]
        )
    with pytest.raises(services.AccountError, match="several centres"):
        services.create_user(
            username="tech",
            full_name="T",
            password=TEST_PASSWORD,
            roles=["technician"],
            centre=centre,
            extra_centres=[centre],
        )
    inspector = services.create_user(
        username="insp",
        full_name="I",
        password=TEST_PASSWORD,
        roles=["inspector"],
        extra_centres=[centre],
    )
    assert inspector.roles == {Role.INSPECTOR}
    assert services.centres_of(inspector) == [centre]


def test_duplicate_username_refused(app, create_user):
    create_user("technician", username="somchai")
    with pytest.raises(services.AccountError, match="taken"):
        create_user("technician", username="SOMCHAI")


def test_authenticate_success_and_audit(app, create_user):
    user = create_user("technician")
    result = services.authenticate(user.username, TEST_PASSWORD, ip="10.0.0.5")
    db.session.commit()
    assert result.user is user
    (ev,) = events("login")
    assert (ev.user_id, ev.ip) == (user.id, "10.0.0.5")


def test_failures_throttle_the_username_instead_of_locking_it(app, create_user):
    from workshop.accounts.models import LoginThrottle

    user = create_user("technician")
    free = app.config["LOGIN_THROTTLE_FREE_PER_USERNAME"]
    for _ in range(free - 1):
        assert services.authenticate(user.username, "wrong-password").retry_after == 0
    # the last free failure sets the first wait: 2 s, doubling with each further failure
    assert services.authenticate(user.username, "wrong-password").user is None
    db.session.commit()
    result = services.authenticate(user.username, TEST_PASSWORD)
    assert result.user is None and 1 <= result.retry_after <= 2
    assert len(events("login.failed")) == free
    assert len(events("login.throttled")) == 1
    # once the wait is over (time moved on in the database), the right password works
    row = db.session.get(LoginThrottle, f"user:{user.username}")
    row.blocked_until = utcnow() - timedelta(seconds=1)
    assert services.authenticate(user.username, TEST_PASSWORD).user is user
    db.session.commit()
    assert db.session.get(LoginThrottle, f"user:{user.username}") is None


def test_unknown_and_inactive_users_cannot_log_in(app, create_user):
    user = create_user("technician")
    user.active = False
    db.session.commit()
    assert services.authenticate(user.username, TEST_PASSWORD).user is None
    assert services.authenticate("ghost", TEST_PASSWORD).user is None


def test_change_password(app, create_user):
    user = create_user("technician")
    with pytest.raises(services.AccountError, match="current password is wrong"):
        services.change_password(user, "not-it-at-all", "brand-new-secret-1")
    with pytest.raises(services.AccountError, match="differ"):
        services.change_password(user, TEST_PASSWORD, TEST_PASSWORD)
    services.change_password(user, TEST_PASSWORD, "brand-new-secret-1")
    db.session.commit()
    assert services.authenticate(user.username, "brand-new-secret-1").user is user
    assert len(events("user.password_change")) == 1


def test_update_user_roles_and_self_protection(app, create_user, create_centre):
    admin = create_user("admin")
    tech = create_user("technician")
    services.update_user(
        tech,
        full_name="New Name",
        email="",
        roles=["technician", "supervisor"],
        centre=tech.centre,
        all_centres=False,
        extra_centres=[],
        active=True,
        actor=admin,
    )
    db.session.commit()
    assert tech.roles == {Role.TECHNICIAN, Role.SUPERVISOR}
    (ev,) = events("user.update")
    assert ev.details["roles"] == [["technician"], ["supervisor", "technician"]]
    with pytest.raises(services.AccountError, match="your own admin"):
        services.update_user(
            admin,
            full_name="A",
            email="",
            roles=["inspector"],
            centre=None,
            all_centres=True,
            extra_centres=[],
            active=True,
            actor=admin,
        )


def test_set_locale(app, create_user):
    user = create_user("technician")
    services.set_locale(user, "en")
    with pytest.raises(services.AccountError):
        services.set_locale(user, "fr")
    db.session.commit()
    assert db.session.get(User, user.id).locale == "en"
