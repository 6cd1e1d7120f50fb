"""What the app writes is private: 0700 folders, 0600 files (database, keys, uploads)."""

import io
import os
import stat

from flask_migrate import upgrade
from PIL import Image

from tests.conftest import BASE_CONFIG, TEST_PASSWORD
from workshop import create_app
from workshop.extensions import db


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _walk_modes(root):
    for folder, _dirs, files in os.walk(root):
        yield folder, _mode(folder)
        for name in files:
            yield os.path.join(folder, name), _mode(os.path.join(folder, name))


def test_instance_database_and_secret_key_are_private(tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    monkeypatch.setenv("WORKSHOP_INSTANCE_PATH", str(instance))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    app = create_app({"TESTING": True})  # the embedded defaults: SQLite in the instance folder
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory, revision="heads")
        db.engine.dispose()
    assert _mode(instance) == 0o700
    assert _mode(instance / "secret_key") == 0o600
    assert _mode(instance / "workshop.sqlite") == 0o600
    for path, mode in _walk_modes(instance):
        assert mode & 0o077 == 0, (path, oct(mode))


def test_an_existing_world_readable_database_is_made_private(tmp_path):
    database = tmp_path / "old.sqlite"
    database.write_bytes(b"")
    os.chmod(database, 0o644)
    os.chmod(tmp_path, 0o755)
    create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}"})
    assert _mode(database) == 0o600


def test_uploads_and_signing_keys_are_private(
    app, client, auth, create_user, open_real_job, tmp_path
):
    from workshop.accounts.services import grant_qualification
    from workshop.certificates.signing import signing_material

    supervisor = create_user("supervisor")
    grant_qualification(supervisor, "conversion_honda_jazz")
    db.session.commit()
    job = open_real_job(supervisor.centre, supervisor, "MRHGE8840BP900001")
    auth.login(supervisor.username, TEST_PASSWORD)
    png = io.BytesIO()
    Image.new("RGB", (64, 48), "orange").save(png, "PNG")
    r = client.post(
        f"/jobs/{job.id}/steps/intake-01/photos",
        data={"input_key": "vin_photo", "photo": (io.BytesIO(png.getvalue()), "vin.png")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    uploads = app.config["UPLOAD_FOLDER"]
    written = list(_walk_modes(uploads))
    assert sum(os.path.isfile(p) for p, _ in written) >= 2  # the photo and its thumbnail
    for path, mode in written:
        assert mode == (0o700 if os.path.isdir(path) else 0o600), (path, oct(mode))
    keys = tmp_path / "instance"
    material = signing_material({}, str(keys))  # the development key, created on first use
    assert material is not None
    for path, mode in _walk_modes(keys):
        assert mode & 0o077 == 0, (path, oct(mode))
