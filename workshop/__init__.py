"""EV conversion workshop: the Flask application factory."""

import os
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from workshop.config import (
    Defaults,
    apply_environment,
    load_or_create_secret_key,
    normalise_database_url,
)
from workshop.extensions import babel, compress, csrf, db, login_manager, migrate

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: defaults, then instance/config.py, then the environment, then test_config."""
    app = Flask(
        __name__,
        template_folder=str(REPO_DIR / "templates"),
        instance_relative_config=True,
        # Deployments may keep the database, keys and uploads elsewhere (e.g. /var/lib/workshop).
        instance_path=os.environ.get("WORKSHOP_INSTANCE_PATH") or None,
    )
    app.config.from_object(Defaults)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(
        app.instance_path, "workshop.sqlite"
    )
    app.config["UPLOAD_FOLDER"] = os.path.join(app.instance_path, "files")
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    apply_environment(app.config)
    if test_config is not None:
        app.config.from_mapping(test_config)
    _private_instance(app)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = load_or_create_secret_key(app.instance_path)
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )
    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    _init_extensions(app)
    _connect_signals()
    _register_blueprints(app)
    return app


def _connect_signals() -> None:
    """Features above jobs subscribe to its signals (workshop/jobs/signals.py) when imported:
    installing a signed step's serials (kits) must happen in every app, web or CLI."""
    import workshop.kits.installing  # noqa: F401


def _private_instance(app: Flask) -> None:
    """Make the instance folder and what the app writes private: 0700 folders, 0600 files.

    The instance holds personal data, signing keys and the secret key; the umask covers every
    file written later (SQLite and its WAL, uploads, PDFs, traces, keys) wherever it is written.
    """
    os.umask(app.config["FILE_UMASK"])
    os.makedirs(app.instance_path, mode=0o700, exist_ok=True)
    os.chmod(app.instance_path, 0o700)
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    path = uri.removeprefix("sqlite:///").split("?", 1)[0]
    on_disk = uri.startswith("sqlite:///") and path not in ("", ":memory:")
    if on_disk and os.path.isdir(os.path.dirname(path) or "."):
        # Created here, private, before SQLite would create it with the default mode.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        os.chmod(path, 0o600)


def _init_extensions(app: Flask) -> None:
    from workshop import web
    from workshop.accounts.access import init_access
    from workshop.photos import PhotoLimits, set_decoder_limit
    from workshop.transactions import end_reads_with_commit

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PACKAGE_DIR / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    compress.init_app(app)
    login_manager.init_app(app)
    babel.init_app(app, locale_selector=web.select_locale, timezone_selector=lambda: "Asia/Bangkok")
    init_access(app)
    web.init_web(app)
    set_decoder_limit(PhotoLimits.from_config(app.config))
    with app.app_context():
        end_reads_with_commit(app, db.engine)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        busy_ms = int(app.config["SQLITE_BUSY_TIMEOUT_MS"])
        with app.app_context():
            sa.event.listen(
                db.engine, "connect", lambda conn, record: _sqlite_pragmas(conn, busy_ms)
            )


def _sqlite_pragmas(dbapi_connection, busy_ms: int):
    # SQLite ignores foreign keys unless asked, and waits 0 s on a lock unless told otherwise.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={busy_ms:d}")
    # WAL lets readers and a writer work at once (several tablets, several server threads).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _register_blueprints(app: Flask) -> None:
    from workshop.accounts.views import bp as accounts_bp
    from workshop.audit.views import bp as audit_bp
    from workshop.certificates.views import bp as certificates_bp
    from workshop.core.views import bp as core_bp
    from workshop.eol.views import bp as eol_bp
    from workshop.inspection.views import bp as inspection_bp
    from workshop.jobs.instrument_views import bp as instruments_bp
    from workshop.jobs.views import bp as jobs_bp
    from workshop.kits.views import bp as kits_bp
    from workshop.training.views import bp as training_bp

    app.register_blueprint(core_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(jobs_bp)
    app.register_blueprint(instruments_bp)
    app.register_blueprint(eol_bp)
    app.register_blueprint(kits_bp)
    app.register_blueprint(inspection_bp)
    app.register_blueprint(certificates_bp)
    app.register_blueprint(training_bp)
