"""The CSRF token changes at login: a token seen before logging in is worthless after."""

import pytest

from tests.conftest import TEST_PASSWORD
from tests.security.conftest import csrf_token
from workshop.extensions import db


@pytest.fixture
def app(app_factory):
    """The app with CSRF protection on, as in production."""
    app = app_factory(WTF_CSRF_ENABLED=True)
    with app.app_context():
        yield app
        db.session.remove()


def test_csrf_token_rotates_at_login(client, create_user):
    user = create_user("admin")
    before = csrf_token(client.get("/login").text)
    r = client.post(
        "/login",
        data={"username": user.username, "password": TEST_PASSWORD, "csrf_token": before},
    )
    assert r.status_code == 302
    after = csrf_token(client.get("/admin/centres/new").text)
    assert after != before
    form = {
        "code": "NEW01",
        "name_th": "ศูนย์",
        "name_en": "Centre",
        "province": "BKK",
        "labour_rate": "500",
    }
    # the pre-login token (which a page seen by someone else could have carried) is refused
    r = client.post("/admin/centres/new", data={**form, "csrf_token": before})
    assert r.status_code == 400
    r = client.post("/admin/centres/new", data={**form, "csrf_token": after})
    assert r.status_code == 302


def test_login_without_token_is_refused(client, create_user):
    user = create_user("admin")
    r = client.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
    assert r.status_code == 400
    assert client.get("/").status_code == 302
