"""Embedded defaults; the instance config file and the environment override them."""

import os
import secrets
from datetime import timedelta
from pathlib import Path


class Defaults:
    """Settings that make a fresh checkout run on its own: SQLite, Thai, LAN-friendly."""

    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    BABEL_DEFAULT_LOCALE = "th"
    BABEL_DEFAULT_TIMEZONE = "Asia/Bangkok"
    LANGUAGES = ("th", "en")
    # Photos from a tablet are a few MB; anything much larger is a mistake or an attack.
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    # Flask-Compress: Brotli or gzip for text. Level 2: a step screen of 8 KB compresses in 0.06 ms
    # to 2.8 KB (level 4: 0.12 ms, 2.5 KB): on a LAN the CPU is what counts.
    COMPRESS_ALGORITHM = ["br", "gzip"]
    COMPRESS_BR_LEVEL = 2
    # Streamed responses (files) stay as they are: Flask-Compress would leave the file open, and
    # static files are small and cached for a year by their fingerprinted URL.
    COMPRESS_STREAMS = False
    COMPRESS_MIMETYPES = [
        "text/html",
        "text/css",
        "text/csv",
        "text/plain",
        "application/javascript",
        "text/javascript",
        "application/json",
        "image/svg+xml",
    ]
    MAX_FORM_MEMORY_SIZE = 512 * 1024
    # Every image upload (workshop/photos.py): bytes per file, pixels per image (checked from
    # the header before decoding), files per request.
    PHOTO_MAX_BYTES = 12 * 1024 * 1024
    PHOTO_MAX_PIXELS = 40_000_000
    PHOTO_MAX_FILES = 6
    MAX_FORM_PARTS = 200
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Workshops often serve plain HTTP on a LAN; production behind TLS sets this to true.
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    # A shared workshop tablet left logged in: the session ends after this long without use.
    SESSION_IDLE_MINUTES = 8 * 60
    # Login throttling (accounts/throttle.py): free failures, then 2 s, 4 s, 8 s ... up to 15 min.
    LOGIN_THROTTLE_FREE_PER_USERNAME = 5
    LOGIN_THROTTLE_FREE_PER_IP = 20
    LOGIN_THROTTLE_BASE_SECONDS = 2
    LOGIN_THROTTLE_MAX_SECONDS = 900
    # While the database is unreachable, pages answer 503 and ask the browser to retry after this.
    DATABASE_RETRY_AFTER_SECONDS = 5
    # How long an SQLite writer waits for another's lock before giving up (then: 503, try again).
    SQLITE_BUSY_TIMEOUT_MS = 10000
    # Everything the app writes (database, keys, uploads) is private to its system user.
    FILE_UMASK = 0o077
    # A technician may keep a step open for a long time: the token lives as long as the session.
    WTF_CSRF_TIME_LIMIT = None
    # Number of reverse proxies in front of the app whose X-Forwarded-For is trusted.
    TRUSTED_PROXIES = 0
    # EOL test benches: name -> python-can settings (interface, channel, bitrate) of the adapter
    # the bench agent owns, or a simulated vehicle (simulate=True) on its own simulated clock,
    # paced at ``speed`` vehicle seconds per wall second (1-20; 0 = unpaced). A real
    # bench in instance/config.py: EOL_BENCHES = {"BAY-1": {"interface": "pcan",
    # "channel": "PCAN_USBBUS1", "bitrate": 500000}}.
    # A running EOL run whose bench agent gave no sign of life for this long is ended as
    # aborted by whoever looks first: another agent, the web app or `workshop eol-reap`.
    EOL_STALE_AFTER_SECONDS = 60
    # Background tasks (evidence bundles): an RQ queue on this Redis, run by `workshop worker`.
    REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    QUEUE_NAME = "workshop"
    # "production" (or `workshop serve`) refuses to run on development keys and addresses.
    WORKSHOP_ENV = "development"
    # The address people reach the app at; every printed link and QR code is built on it.
    # Required in production; in development it falls back to DEVELOPMENT_BASE_URL.
    PUBLIC_BASE_URL = ""
    DEVELOPMENT_BASE_URL = "http://127.0.0.1:5000"
    # Kinds (workshop.eol.runs.BenchKind): a simulator bench (training drills; never evidence),
    # a CAN adapter on the car (evidence for the bench's "centre"), or a development bay: the
    # "virtual" python-can interface, with the simulated car on its far end when "car" is
    # "simulated"; evidence only outside production, marked as development on the certificate.
    EOL_BENCHES = {
        "SIM-1": {"simulate": True, "channel": "sim1", "speed": 1.0},
        "BAY-1": {"interface": "virtual", "channel": "bay1", "car": "simulated"},
    }


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for PostgreSQL URLs written the usual way."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_or_create_secret_key(instance_path: str) -> str:
    """Read the instance's secret key, creating a random one (mode 600) on first run."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        key = path.read_text().strip()
        if key:
            return key
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


ENV_SETTINGS = {
    "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "SECRET_KEY": "SECRET_KEY",
    "WORKSHOP_ENV": "WORKSHOP_ENV",
    "PUBLIC_BASE_URL": "PUBLIC_BASE_URL",
    "TIMESTAMP_URL": "TIMESTAMP_URL",
    "CERTIFICATE_SIGNING_KEY": "CERTIFICATE_SIGNING_KEY",
    "CERTIFICATE_SIGNING_CERT": "CERTIFICATE_SIGNING_CERT",
    "CERTIFICATE_SIGNING_CHAIN": "CERTIFICATE_SIGNING_CHAIN",
    "CERTIFICATE_SIGNING_PASSPHRASE": "CERTIFICATE_SIGNING_PASSPHRASE",
}
BOOL_ENV_SETTINGS = ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE")


def apply_environment(config, environ=os.environ) -> None:
    """Apply DATABASE_URL, SECRET_KEY, WORKSHOP_ENV, PUBLIC_BASE_URL, the signing settings,
    cookie flags and FLASK_* variables from the environment."""
    for var, key in ENV_SETTINGS.items():
        if environ.get(var):
            config[key] = environ[var]
    for key in BOOL_ENV_SETTINGS:
        if key in environ:
            config[key] = environ[key].strip().lower() in ("1", "true", "yes", "on")
    if environ.get("TRUSTED_PROXIES"):
        config["TRUSTED_PROXIES"] = int(environ["TRUSTED_PROXIES"])
    config.from_prefixed_env("FLASK")
