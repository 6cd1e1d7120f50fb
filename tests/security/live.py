"""A real gunicorn serving the app on its own database, and a small HTTP client for it.

Used by the failure tests: they kill processes and cut the database, which only a server in
its own processes can live through.
"""

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa
from flask_migrate import upgrade

from tests.conftest import DATABASE_URL, ON_POSTGRES, TEST_PASSWORD, run_database_name
from workshop import create_app
from workshop.extensions import db

REPO = Path(__file__).resolve().parents[2]
TOKEN_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
# Generous bounds for things that happen by themselves (a worker restarting); never a verdict
# on speed: the tests wait for an event and only give up after this long.
PATIENCE_S = 90


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def fresh_database(tmp_path, name: str):
    """An empty database of the test's own: an SQLite file in ``tmp_path``, or a PostgreSQL
    database ``<test database>_<worker>_<name>`` created for the test and dropped after it.
    Yields (url, database name or None, an admin engine or None)."""
    if not ON_POSTGRES:
        yield f"sqlite:///{tmp_path}/{name}.sqlite", None, None
        return
    from sqlalchemy.engine import make_url

    from workshop.config import normalise_database_url

    base = make_url(normalise_database_url(DATABASE_URL))
    dbname = run_database_name(base.database, name)
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{dbname}"'))
    try:
        yield base.set(database=dbname).render_as_string(hide_password=False), dbname, admin
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true'))
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def server_database(tmp_path, name: str):
    """A fresh database, migrated, with one admin (password TEST_PASSWORD)."""
    with fresh_database(tmp_path, name) as (url, dbname, admin):
        app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            upgrade(directory=app.extensions["migrate"].directory, revision="heads")
            from workshop.accounts import services

            services.create_user(
                username="admin",
                full_name="Admin",
                password=TEST_PASSWORD,
                roles=["admin"],
                all_centres=True,
            )
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        yield url, dbname, admin


def environ_for(url: str, instance: Path, **env) -> dict[str, str]:
    """The environment of a server process (and of a worker beside it) on ``url``."""
    instance.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "gunicorn-test-secret",
        "WORKSHOP_INSTANCE_PATH": str(instance),
        **env,
    }


class Gunicorn:
    """``gunicorn workshop.wsgi:app`` with N sync workers on a free port."""

    def __init__(
        self,
        url: str,
        instance: Path,
        workers: int = 2,
        threads: int = 1,
        *,
        production: bool = False,
        **env,
    ):
        """``production``: the command line of `workshop serve` (gthread workers, its timeout and
        worker recycling) instead of plain sync workers."""
        self.port = free_port()
        self.environ = environ_for(url, instance, **env)
        self.log = open(instance / "gunicorn.log", "wb")  # noqa: SIM115  (closed in stop)
        if production:
            from workshop.cli import gunicorn_argv

            argv = gunicorn_argv(f"127.0.0.1:{self.port}", workers)
        else:
            argv = [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--timeout",
                "120",
                "workshop.wsgi:app",
            ]
        try:
            self.process = subprocess.Popen(
                argv,
                cwd=REPO,
                env=self.environ,
                stdout=self.log,
                stderr=subprocess.STDOUT,
            )
        except BaseException:
            self.log.close()
            raise
        try:
            self.wait_until_serving()
        except BaseException:
            # Nobody holds this object yet to call stop(): do not leave a server or its log open.
            self.stop()
            raise

    def wait_until_serving(self, expected_workers: int | None = None) -> None:
        """Wait until /healthz answers 200 (and the master has its workers again)."""
        deadline = time.monotonic() + PATIENCE_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "gunicorn exited"
            try:
                status = Client(self.port).get("/healthz").status
            except OSError:
                status = None
            workers_ok = expected_workers is None or len(self.workers()) == expected_workers
            if status == 200 and workers_ok:
                return
            time.sleep(0.2)
        raise AssertionError("gunicorn did not come back")

    def workers(self) -> list[int]:
        """Pids of the master's live worker processes (a killed worker stays a zombie until the
        master reaps it, later on a busy machine: it is not a worker any more)."""
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                state, parent = stat.rsplit(")", 1)[1].split()[:2]
                if int(parent) == self.process.pid and state not in ("Z", "X"):
                    pids.append(int(entry))
        return pids

    def worker_serving(self, client_port: int) -> int | None:
        """The worker holding the connection that comes from ``client_port``, if any."""
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, remote = fields[1], fields[2]
                if (
                    int(local.rsplit(":", 1)[1], 16) == self.port
                    and int(remote.rsplit(":", 1)[1], 16) == client_port
                ):
                    inodes.add(fields[9])
        for pid in self.workers():
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for fd in fds:
                try:
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    return pid
        return None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


class Response:
    def __init__(self, status: int, headers: dict, body: str):
        self.status, self.headers, self.text = status, headers, body


class Client:
    """Just enough of a browser: one cookie jar, CSRF tokens from the forms, no redirects."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.token = ""

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=PATIENCE_S)

    def send(self, conn, method: str, path: str, form: dict | None = None) -> None:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode({**form, "csrf_token": self.token})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)

    def receive(self, conn) -> Response:
        r = conn.getresponse()
        body = r.read().decode("utf-8", "replace")
        for header, value in r.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        match = TOKEN_RE.search(body)
        if match:
            self.token = match.group(1)
        return Response(r.status, dict(r.getheaders()), body)

    def request(self, method: str, path: str, form: dict | None = None) -> Response:
        conn = self.connect()
        try:
            self.send(conn, method, path, form)
            return self.receive(conn)
        finally:
            conn.close()

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, form: dict) -> Response:
        return self.request("POST", path, form)

    def upload(self, path: str, form: dict, field: str, filename: str, data: bytes) -> Response:
        """POST ``form`` and one file as multipart/form-data (the browser's way of uploading)."""
        boundary = f"----workshop{os.urandom(8).hex()}"
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in {**form, "csrf_token": self.token}.items()
        ]
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
            + data
            + b"\r\n"
        )
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        conn = self.connect()
        try:
            conn.request(
                "POST",
                path,
                body=body,
                headers={
                    "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
                    "Content-Type": f"multipart/form-data; boundary={boundary}",
                },
            )
            return self.receive(conn)
        finally:
            conn.close()

    def log_in(self, username: str = "admin", password: str = TEST_PASSWORD) -> None:
        self.get("/login")
        r = self.post("/login", {"username": username, "password": password})
        assert r.status == 302, r.status
        self.get("/admin/centres/new")  # the new CSRF token of the logged-in session


def centre_form(code: str) -> dict:
    return {
        "code": code,
        "name_th": f"ศูนย์ {code}",
        "name_en": f"Centre {code}",
        "province": "BKK",
        "labour_rate": "500",
    }


def centre_codes(url: str) -> list[str]:
    """Every centre code in the server's database (read directly, not through the app)."""
    from workshop.config import normalise_database_url

    engine = sa.create_engine(normalise_database_url(url))
    try:
        with engine.connect() as conn:
            return list(conn.scalars(sa.text("SELECT code FROM centres")))
    finally:
        engine.dispose()
