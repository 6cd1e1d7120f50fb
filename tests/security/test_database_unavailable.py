"""A database that cannot answer gives a "try again" page (503, Retry-After), never a 500."""

import sqlite3

import pytest
import sqlalchemy as sa

from tests.conftest import BASE_CONFIG, ON_POSTGRES, TEST_PASSWORD, IsolatedClient
from workshop import create_app
from workshop.accounts.models import Centre
from workshop.extensions import db

CENTRE = {
    "code": "LOCK1",
    "name_th": "ศูนย์",
    "name_en": "Centre",
    "province": "BKK",
    "labour_rate": "500",
}


@pytest.mark.skipif(ON_POSTGRES, reason="an SQLite write lock; PostgreSQL: test_failures.py")
def test_a_locked_sqlite_database_answers_503_and_saves_nothing(app_factory):
    app = app_factory(SQLITE_BUSY_TIMEOUT_MS=100)
    app.test_client_class = IsolatedClient
    with app.app_context():
        from workshop.accounts import services

        admin = services.create_user(
            username="admin1",
            full_name="A",
            password=TEST_PASSWORD,
            roles=["admin"],
            all_centres=True,
        )
        db.session.commit()
        path = db.engine.url.database
        client = app.test_client()
        client.post("/login", data={"username": admin.username, "password": TEST_PASSWORD})
        english = app.test_client()
        english.post("/language/en")
        english.post("/login", data={"username": admin.username, "password": TEST_PASSWORD})

        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
        try:
            r = client.post("/admin/centres/new", data=CENTRE)
            assert r.status_code == 503
            assert r.headers["Retry-After"] == str(app.config["DATABASE_RETRY_AFTER_SECONDS"])
            assert "กรุณาลองใหม่" in r.text and "ยังไม่ได้บันทึก" in r.text
            r = english.post("/admin/centres/new", data=CENTRE)
            assert r.status_code == 503 and "Try again in a moment" in r.text
            assert 'http-equiv="refresh"' not in r.text  # a POST is never resent by itself
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        db.session.rollback()
        assert db.session.scalar(sa.select(Centre).where(Centre.code == "LOCK1")) is None
        # the lock is gone: the same request now goes through, once
        assert client.post("/admin/centres/new", data=CENTRE).status_code == 302
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).where(Centre.code == "LOCK1")) == 1
        db.session.remove()


def _unreachable(tmp_path):
    """An app whose database cannot be opened (on either backend's test run)."""
    url = f"sqlite:///{tmp_path}/missing/dir/x.sqlite"
    return create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url})


def test_healthz_reports_an_unreachable_database(tmp_path):
    app = _unreachable(tmp_path)
    r = app.test_client().get("/healthz")
    assert r.status_code == 503 and r.json["database"] == "unreachable"


def test_a_page_read_during_an_outage_reloads_itself(tmp_path):
    app = _unreachable(tmp_path)
    r = app.test_client().get("/verify/some-certificate-token")  # public, reads the database
    assert r.status_code == 503
    assert 'http-equiv="refresh"' in r.text and "Traceback" not in r.text
