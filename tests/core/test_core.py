import os
import stat
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from workshop import create_app, i18n
from workshop.audit.models import AppendOnlyError, AuditEvent
from workshop.audit.services import record_event, search_events
from workshop.config import normalise_database_url
from workshop.extensions import db


def test_healthz_reports_backend(client):
    r = client.get("/healthz")
    assert r.json["backend"] in ("sqlite", "postgresql")


def test_secret_key_generated_once_into_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("WORKSHOP_INSTANCE_PATH", str(tmp_path))
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": None})
    key_file = tmp_path / "secret_key"
    assert key_file.read_text() == app.config["SECRET_KEY"]
    assert len(app.config["SECRET_KEY"]) >= 40
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    again = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": None})
    assert again.config["SECRET_KEY"] == app.config["SECRET_KEY"]


def test_environment_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db.example/ws")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("WORKSHOP_INSTANCE_PATH", str(tmp_path))
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.example/ws"
    assert app.config["SECRET_KEY"] == "from-env"


def test_instance_config_file(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("WORKSHOP_INSTANCE_PATH", str(tmp_path))
    (tmp_path / "config.py").write_text("SECRET_KEY = 'from-file'\nTRUSTED_PROXIES = 1\n")
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-file"
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///" + str(tmp_path))


def test_normalise_database_url():
    assert normalise_database_url("postgresql://a@b/c") == "postgresql+psycopg://a@b/c"
    assert normalise_database_url("sqlite:///x") == "sqlite:///x"


def test_buddhist_and_gregorian_dates():
    d = date(2026, 11, 22)
    assert i18n.format_be_date(d, "th") == "22 พ.ย. 2569"
    assert i18n.format_be_date(d, "en") == "22 Nov 2569 BE"
    assert i18n.format_ce_date(d, "th") == "22 พ.ย. 2026"
    assert i18n.format_ce_date(d, "en") == "22 Nov 2026"


def test_bangkok_local_time_crosses_midnight():
    utc = datetime(2026, 12, 31, 18, 30, tzinfo=UTC)  # 01:30 on 1 Jan 2027 in Bangkok
    assert i18n.format_local_datetime(utc, "th") == "1 ม.ค. 2570 01:30"
    assert i18n.format_local_datetime(utc, "en") == "1 Jan 2027 01:30"
    assert i18n.format_be_date(utc, "th") == "1 ม.ค. 2570"


def test_thb_amounts():
    assert i18n.format_thb(Decimal("1234567.5")) == "฿1,234,567.50"
    assert i18n.format_thb(Decimal("-20")) == "-฿20.00"
    assert i18n.format_thb(Decimal("0.005")) == "฿0.01"
    assert i18n.format_thb(None) == ""


def test_filters_follow_the_language(app):
    with app.test_request_context():
        env = app.jinja_env
        assert env.from_string("{{ d|be_date }}").render(d=date(2026, 11, 22)) == "22 พ.ย. 2569"
        assert env.from_string("{{ a|thb }}").render(a=Decimal("5")) == "฿5.00"


def test_audit_events_are_append_only(app):
    ev = record_event("test.thing", details={"a": 1})
    db.session.commit()
    ev.action = "changed"
    with pytest.raises(AppendOnlyError):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEvent, ev.id))
    with pytest.raises(AppendOnlyError):
        db.session.commit()
    db.session.rollback()
    # and the database refuses too, whatever the ORM does
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        db.session.execute(sa.text("UPDATE audit_events SET action = 'x'"))
    db.session.rollback()
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        db.session.execute(sa.text("DELETE FROM audit_events"))
    db.session.rollback()
    assert [e.action for e in search_events()] == ["test.thing"]


def test_audit_page_filters(client, auth, create_user):
    admin = create_user("admin")
    create_user("technician", username="filtered")
    auth.login(admin.username)
    r = client.get("/admin/audit/?action=user.create&username=" + admin.username)
    assert r.status_code == 200
    r = client.get("/admin/audit/?action=login")
    assert "login" in r.text
    r = client.get("/admin/audit/?object_type=User&since=not-a-date")
    assert r.status_code == 200
    assert "flash-error" in r.text
    r = client.get("/admin/audit/?page=zzz")
    assert r.status_code == 200
