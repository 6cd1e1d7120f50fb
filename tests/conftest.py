"""Shared fixtures: an app on a real database (SQLite by default, PostgreSQL when DATABASE_URL
points there), a test client, and factories for centres and users.

The schema is built once per test process by running the Alembic migrations, so every run
also proves the migrations; each test then starts from empty tables.
"""

import contextvars
import os
import shutil
import uuid
from contextlib import contextmanager
from decimal import Decimal
from itertools import count

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from flask_migrate import upgrade
from hypothesis import settings

from tests.factories import intake_fields
from workshop import create_app
from workshop.extensions import db

DATABASE_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = DATABASE_URL.startswith(("postgres://", "postgresql"))
TEST_PASSWORD = "correct-horse-battery"

BASE_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key",
    "WTF_CSRF_ENABLED": False,
    # scrypt costs ~50 ms a hash; the suite creates hundreds of users.
    "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    # Background tasks go to the real Redis, on a queue of this test process alone.
    "QUEUE_NAME": f"test-{os.getpid()}-{uuid.uuid4().hex[:8]}",
}


# Property tests: the same examples on every run and machine (derandomize, no example
# database), few enough to keep the suite quick, no per-example deadline on a busy CI host.
settings.register_profile(
    "workshop", derandomize=True, database=None, deadline=None, max_examples=25
)
# A longer hunt, for a person looking for bugs: HYPOTHESIS_PROFILE=deep pytest tests/security.
settings.register_profile("deep", database=None, deadline=None, max_examples=400)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "workshop"))


def pytest_configure(config):
    """Compile the translation catalogues so the suite never runs on stale .mo files."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    root = os.path.join(os.path.dirname(__file__), "..", "workshop", "translations")
    for lang in ("th", "en"):
        po = os.path.join(root, lang, "LC_MESSAGES", "messages.po")
        mo = po[:-2] + "mo"
        if not os.path.exists(mo) or os.path.getmtime(mo) < os.path.getmtime(po):
            with open(po, "rb") as fh:
                catalog = read_po(fh, locale=lang)
            with open(mo, "wb") as fh:
                write_mo(fh, catalog)


def run_database_name(base: str, *parts: str) -> str:
    """A PostgreSQL database name of this test run alone: ``<base>_<run>_<worker>[_parts]``.

    The run is xdist's test-run id (one for all workers of a run) or, without xdist, one made
    for this process: two runs on one server (two checkouts, or SQLite and PostgreSQL jobs of a
    CI host) never drop or truncate each other's databases. 63 bytes is PostgreSQL's limit."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", _OWN_RUN)[:8]
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return "_".join((base, run, worker, *parts))[:63]


_OWN_RUN = uuid.uuid4().hex


@contextmanager
def _postgres_database():
    """A PostgreSQL database of this test process, dropped when the session ends."""
    from sqlalchemy.engine import make_url

    from workshop.config import normalise_database_url

    url = make_url(normalise_database_url(DATABASE_URL))
    name = run_database_name(url.database)
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _migrate(url: str) -> None:
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory, revision="heads")
        db.engine.dispose()


@pytest.fixture(scope="session")
def database(tmp_path_factory):
    """A migrated database for this test process: a template file (SQLite) or a database (PG)."""
    if ON_POSTGRES:
        with _postgres_database() as url:
            _migrate(url)
            yield url
    else:
        url = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "template.sqlite")
        _migrate(url)
        yield url


def _empty_postgres(app):
    with app.app_context():
        tables = [t.name for t in db.metadata.sorted_tables]
        if tables:
            with db.engine.begin() as conn:
                conn.execute(
                    sa.text(
                        "TRUNCATE "
                        + ", ".join(f'"{t}"' for t in tables)
                        + " RESTART IDENTITY CASCADE"
                    )
                )
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app_factory(database, tmp_path):
    """Build apps on a fresh copy of the database; extra config overrides the test defaults."""
    apps = []

    def make(**config):
        if ON_POSTGRES:
            url = database
        else:
            copy = tmp_path / f"test{len(apps)}.sqlite"
            shutil.copyfile(database.removeprefix("sqlite:///"), copy)
            url = f"sqlite:///{copy}"
        app = create_app(
            {
                **BASE_CONFIG,
                "SQLALCHEMY_DATABASE_URI": url,
                "UPLOAD_FOLDER": str(tmp_path / "files"),
                **config,
            }
        )
        apps.append(app)
        return app

    yield make
    for app in apps:
        if ON_POSTGRES:
            _empty_postgres(app)
        else:
            with app.app_context():
                db.engine.dispose()


@pytest.fixture
def app(app_factory):
    """The app, with an application context pushed for direct service calls."""
    app = app_factory()
    with app.app_context():
        yield app
        db.session.remove()


class IsolatedClient(FlaskClient):
    """A test client whose requests run in their own, empty context.

    The ``app`` fixture keeps an application context pushed for factories and service calls;
    without this, requests would share its ``g`` (and Flask-Login's cached user) and its
    database session, which production requests never do. Tests that read what a request
    wrote call ``db.session.rollback()`` first to end their own transaction.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = IsolatedClient
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def create_centre(app):
    """Factory: create_centre(code="C1", ...) -> Centre, committed."""
    from workshop.accounts import services

    numbers = count(1)

    def make(code=None, **fields):
        n = next(numbers)
        data = {
            "code": code or f"TC{n:02d}",
            "name_th": f"ศูนย์ทดสอบ {n}",
            "name_en": f"Test centre {n}",
            "province": "BKK",
            "labour_rate": Decimal("600.00"),
            **fields,
        }
        centre = services.create_centre(**data)
        db.session.commit()
        return centre

    return make


@pytest.fixture
def create_user(app, create_centre):
    """Factory: create_user("technician", centre=..., username=..., qualifications=(...)) ->
    User holding those qualifications, committed.

    Technicians, supervisors and trainers get a new centre when none is given; admins see
    every centre; inspectors get the given centre(s).
    """
    from workshop.accounts import services
    from workshop.accounts.models import Role

    numbers = count(1)

    def make(
        *roles,
        centre=None,
        username=None,
        password=TEST_PASSWORD,
        centres=(),
        qualifications=(),
        **fields,
    ):
        roles = [Role(r) for r in (roles or ("technician",))]
        n = next(numbers)
        multi_only = all(r in (Role.INSPECTOR, Role.ADMIN) for r in roles)
        if centre is None and not multi_only:
            centre = create_centre()
        if Role.INSPECTOR in roles and not centres and centre is not None and multi_only:
            centres, centre = (centre,), None
        user = services.create_user(
            username=username or f"{roles[0].value}{n}",
            full_name=fields.pop("full_name", f"Test {roles[0].value} {n}"),
            password=password,
            roles=roles,
            centre=None if multi_only else centre,
            all_centres=fields.pop("all_centres", Role.ADMIN in roles and multi_only),
            extra_centres=list(centres) or ([centre] if multi_only and centre else []),
            **fields,
        )
        for code in qualifications:
            services.grant_qualification(user, code)
        db.session.commit()
        return user

    return make


class AuthActions:
    """Log a test client in and out through the real login form."""

    def __init__(self, client):
        self._client = client

    def login(self, username, password=TEST_PASSWORD, **kwargs):
        return self._client.post(
            "/login", data={"username": username, "password": password}, **kwargs
        )

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


REAL_MODELS = {
    # manual id -> (make, model, year, kit id)
    "honda-jazz-ge": ("Honda", "Jazz", 2011, "jazz-ev1"),
    "toyota-vios-ncp93": ("Toyota", "Vios", 2011, "vios-ev1"),
    "isuzu-dmax-mt": ("Isuzu", "D-Max", 2015, "dmax-ev2"),
}


@pytest.fixture
def open_real_job(app):
    """Factory: open_real_job(centre, supervisor, vin, manual_id=..., kit=True) opens a job on a
    real manual (and its real kit), committed."""
    from workshop.jobs import services as jobs
    from workshop.kits.loader import load_kits
    from workshop.manuals.loader import load_manuals

    def make(centre, supervisor, vin, manual_id="honda-jazz-ge", kit=True, **fields):
        make_, model, year, kit_id = REAL_MODELS[manual_id]
        is_training = fields.pop("is_training", False)
        intake = intake_fields(
            **{
                "vin": vin,
                "plate": "1กข 1234",
                "make": make_,
                "model": model,
                "year": year,
                "engine_number": "ENG-1",
                "odometer_km": 1,
                "owner_name": "O",
                "owner_phone": "0812345678",
                **fields,
            }
        )
        job = jobs.open_job(
            centre,
            jobs.Intake(**intake),
            load_manuals()[manual_id],
            supervisor,
            kit=load_kits()[kit_id] if kit else None,
            is_training=is_training,
        )
        db.session.commit()
        return job

    return make
