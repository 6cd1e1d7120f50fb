"""`workshop backup` and `workshop restore`: a populated demo makes the round trip whole."""

import hashlib
import os
import zipfile

import pytest
import sqlalchemy as sa

from tests.conftest import BASE_CONFIG, ON_POSTGRES
from tests.security.live import fresh_database
from workshop import create_app
from workshop.backup import SQLITE_SUFFIXES
from workshop.cli import cli
from workshop.extensions import db


def _app(tmp_path, name, url, monkeypatch):
    """An app whose instance folder (uploads, keys) is ``tmp_path/name``."""
    instance = tmp_path / name
    monkeypatch.setenv("WORKSHOP_INSTANCE_PATH", str(instance))
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    monkeypatch.delenv("WORKSHOP_INSTANCE_PATH")
    return app


def _cli(app, *args):
    return app.test_cli_runner().invoke(cli, list(args), catch_exceptions=False)


def _refused(app, *args):
    return app.test_cli_runner().invoke(cli, list(args))


def _row_counts(app) -> dict[str, int]:
    with app.app_context():
        metadata = sa.MetaData()
        with db.engine.connect() as conn:
            metadata.reflect(conn)
            counts = {
                t.name: conn.scalar(sa.select(sa.func.count()).select_from(t))
                for t in metadata.sorted_tables
                if t.name != "alembic_version"
            }
        db.engine.dispose()
    return counts


def _file_hashes(app) -> dict[str, str]:
    root = app.instance_path
    skip = {os.path.join(root, "db.sqlite" + s) for s in SQLITE_SUFFIXES}
    hashes = {}
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            if path not in skip:
                with open(path, "rb") as fh:
                    hashes[os.path.relpath(path, root)] = hashlib.sha256(fh.read()).hexdigest()
    return hashes


def _url(tmp_path, name, url):
    # SQLite lives in its instance folder, as in a real installation.
    return f"sqlite:///{tmp_path}/{name}/db.sqlite" if url.startswith("sqlite") else url


@pytest.fixture
def populated(tmp_path, monkeypatch):
    """The demo seeded (not served) into its own instance and database."""
    with fresh_database(tmp_path, "source") as (url, _name, _admin):
        (tmp_path / "source").mkdir(mode=0o700)
        app = _app(tmp_path, "source", _url(tmp_path, "source", url), monkeypatch)
        result = _cli(app, "demo", "--no-serve")
        assert result.exit_code == 0, result.output
        yield app


def test_round_trip_of_a_populated_demo(populated, tmp_path, monkeypatch):
    source = populated
    counts, files = _row_counts(source), _file_hashes(source)
    assert counts["users"] >= 6 and counts["certificates"] >= 1 and counts["photos"] >= 1
    assert any(name.startswith("files/photos/") for name in files)
    backup = tmp_path / "workshop-backup.zip"
    # written while another connection holds an uncommitted write: the backup does not wait
    # for it and does not contain it (one consistent snapshot)
    with source.app_context():
        with db.engine.connect() as writer, writer.begin():
            writer.execute(
                sa.text(
                    "INSERT INTO centres (code, name_th, name_en, province, address, "
                    "licence_number, labour_rate, active, created_at) VALUES "
                    "('UNCOMMITTED', 'x', 'x', 'BKK', '', '', 0, true, CURRENT_TIMESTAMP)"
                )
            )
            result = _cli(source, "backup", "-o", str(backup))
            writer.rollback()
        db.engine.dispose()
    assert result.exit_code == 0, result.output
    assert "backup written" in result.output
    assert os.stat(backup).st_mode & 0o077 == 0
    with zipfile.ZipFile(backup) as archive:
        assert b"UNCOMMITTED" not in archive.read("database/centres.jsonl")

    with fresh_database(tmp_path, "target") as (url, _name, _admin):
        (tmp_path / "target").mkdir(mode=0o700)
        target = _app(tmp_path, "target", _url(tmp_path, "target", url), monkeypatch)
        result = _cli(target, "restore", str(backup))
        assert result.exit_code == 0, result.output
        assert _row_counts(target) == counts
        assert _file_hashes(target) == files
        # the restored instance works: the demo admin logs in, new rows get new ids
        client = target.test_client()
        r = client.post("/login", data={"username": "admin", "password": "control-room-2569"})
        assert r.status_code == 302
        assert client.get("/certificates/").status_code in (200, 308)
        assert client.get("/admin/users").status_code == 200
        with target.app_context():
            from workshop.accounts import services

            services.create_centre(code="AFTER1", name_th="ก", name_en="A", province="BKK")
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        # restoring again into the now populated instance is refused, and changes nothing
        result = _refused(target, "restore", str(backup))
        assert result.exit_code != 0 and "not empty" in result.output
        assert _row_counts(target)["centres"] == counts["centres"] + 1
    _damaged_backup_is_refused(backup, tmp_path, monkeypatch)


def _damaged_backup_is_refused(backup, tmp_path, monkeypatch):
    """One flipped bit in one photo: refused before anything is written."""
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(backup) as src, zipfile.ZipFile(damaged, "w") as dst:
        names = src.namelist()
        photo = next(n for n in names if "/photos/" in n)
        for name in names:
            data = src.read(name)
            if name == photo:
                data = data[:-1] + bytes([data[-1] ^ 1])
            dst.writestr(name, data)
    with fresh_database(tmp_path, "damaged") as (url, _name, _admin):
        (tmp_path / "damaged").mkdir(mode=0o700)
        target = _app(tmp_path, "damaged", _url(tmp_path, "damaged", url), monkeypatch)
        result = _refused(target, "restore", str(damaged))
        assert result.exit_code != 0 and "does not match the manifest" in result.output
        with target.app_context():
            with db.engine.connect() as conn:
                assert sa.inspect(conn).get_table_names() == []
            db.engine.dispose()
        assert [p.name for p in (tmp_path / "damaged").rglob("*") if p.is_file()] in (
            [],
            ["db.sqlite"],  # the empty database file the app creates, private, at start
        )
        result = _refused(target, "restore", str(tmp_path / "nope.txt"))
        assert result.exit_code != 0


@pytest.mark.skipif(ON_POSTGRES, reason="one backend is enough for a refusal of bad names")
def test_a_backup_with_an_unsafe_name_is_refused(tmp_path, monkeypatch):
    import json

    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("files/instance/../../escape", b"x")
        digest = hashlib.sha256(b"x").hexdigest()
        manifest = {
            "format": "workshop-backup/1",
            "database": {"dialect": "sqlite", "revisions": [], "rows": {}},
            "members": {"files/instance/../../escape": {"sha256": digest, "size": 1}},
        }
        archive.writestr("manifest.json", json.dumps(manifest))
    (tmp_path / "target").mkdir(mode=0o700)
    target = _app(tmp_path, "target", f"sqlite:///{tmp_path}/target/db.sqlite", monkeypatch)
    result = _refused(target, "restore", str(evil))
    assert result.exit_code != 0 and "unsafe name" in result.output
    assert not (tmp_path.parent / "escape").exists()
