"""Crashes and outages, done for real against gunicorn: a worker killed with SIGKILL in the
middle of a request, and (on PostgreSQL) the database cut off under load."""

import http.client
import os
import signal
import sqlite3
import threading
import time
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from tests.conftest import ON_POSTGRES
from tests.security.live import (
    PATIENCE_S,
    Client,
    Gunicorn,
    centre_codes,
    centre_form,
    server_database,
)


def wait_for(condition, what: str):
    """Poll ``condition`` until it returns something truthy (an event, not a speed test)."""
    deadline = time.monotonic() + PATIENCE_S
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"waited {PATIENCE_S} s for {what}")


@contextmanager
def centres_locked(url: str, admin, dbname: str | None):
    """Hold a lock that makes any new centre wait: the request stops inside the worker."""
    if ON_POSTGRES:
        engine = sa.create_engine(admin.url.set(database=dbname))
        with engine.connect() as conn, conn.begin():
            conn.execute(sa.text("LOCK TABLE centres IN EXCLUSIVE MODE"))
            yield engine
        engine.dispose()
    else:
        holder = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            yield None
        finally:
            holder.execute("ROLLBACK")
            holder.close()


def _waiting_on_lock(engine, dbname):
    with engine.connect() as conn:
        return conn.scalar(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = :db AND wait_event_type = 'Lock'"
            ),
            {"db": dbname},
        )


def test_kill_9_of_a_worker_mid_request(tmp_path):
    """The client gets a clear error (not a false success), nothing half-done is kept, the
    master replaces the worker by itself, and the same request then goes through once."""
    with server_database(tmp_path, "kill") as (url, dbname, admin):
        server = Gunicorn(
            url, tmp_path / "instance", workers=2, FLASK_SQLITE_BUSY_TIMEOUT_MS="600000"
        )
        try:
            client = Client(server.port)
            client.log_in()
            with centres_locked(url, admin, dbname) as locked:
                conn = client.connect()
                client.send(conn, "POST", "/admin/centres/new", centre_form("KILL1"))
                port = conn.sock.getsockname()[1]
                victim = wait_for(lambda: server.worker_serving(port), "the request's worker")
                if ON_POSTGRES:  # the request is inside the worker, waiting on the lock
                    wait_for(lambda: _waiting_on_lock(locked, dbname), "the blocked insert")
                os.kill(victim, signal.SIGKILL)
                with pytest.raises((http.client.HTTPException, ConnectionError)):
                    client.receive(conn)
                conn.close()
            server.wait_until_serving(expected_workers=2)
            assert victim not in server.workers()
            assert "KILL1" not in centre_codes(url)
            log = (tmp_path / "instance" / "gunicorn.log").read_text()
            assert f"Worker (pid:{victim}) was sent SIGKILL" in log
            # the user is still logged in; sending the form again saves it exactly once
            assert client.get("/admin/centres/new").status == 200
            r = client.post("/admin/centres/new", centre_form("KILL1"))
            assert r.status == 302 and r.headers["Location"] == "/admin/centres"
            assert centre_codes(url).count("KILL1") == 1
        finally:
            server.stop()


@pytest.mark.skipif(not ON_POSTGRES, reason="runs when DATABASE_URL is PostgreSQL")
def test_postgresql_outage_under_load(tmp_path):
    """Cut the server's database off under load (only this test's database: other test runs
    share the PostgreSQL server): every answer is a success or a 503 "try again" with
    Retry-After, never a 500; the app reconnects by itself; no acknowledged record is lost."""
    with server_database(tmp_path, "outage") as (url, dbname, admin):
        server = Gunicorn(url, tmp_path / "instance", workers=2, threads=2)
        results, errors, lock = [], [], threading.Lock()
        stop = threading.Event()
        # Every loader is logged in before the database is cut off: on a busy machine a slow
        # thread would otherwise try to log in during the outage (a 503, rightly).
        logged_in = [threading.Event() for _ in range(4)]

        def load(n: int):
            client = Client(server.port)
            client.log_in()
            logged_in[n].set()
            for i in range(100_000):
                if stop.is_set():
                    return
                code = f"L{n}N{i}"
                try:
                    r = client.post("/admin/centres/new", centre_form(code))
                except (OSError, http.client.HTTPException) as exc:
                    with lock:
                        errors.append(repr(exc))
                    continue
                with lock:
                    results.append((time.monotonic(), code, r.status, r.headers, r.text))
                if r.status == 503:
                    time.sleep(0.2)

        def count(status, since=0.0):
            with lock:
                return sum(1 for t, _, s, _, _ in results if s == status and t >= since)

        threads = [threading.Thread(target=load, args=(n,)) for n in range(4)]
        try:
            for t in threads:
                t.start()
            wait_for(lambda: all(e.is_set() for e in logged_in), "every loader logged in")
            wait_for(lambda: count(302) >= 8, "successes before the outage")
            cut = time.monotonic()
            with admin.connect() as conn:
                conn.execute(sa.text(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false'))
                conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :db AND pid <> pg_backend_pid()"
                    ),
                    {"db": dbname},
                )
            wait_for(lambda: count(503, cut) >= 6, "503 answers during the outage")
            with admin.connect() as conn:
                conn.execute(sa.text(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true'))
            back = time.monotonic()
            wait_for(lambda: count(302, back) >= 8, "successes after the outage")
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=PATIENCE_S)
            server.stop()
        print(f"outage under load: {count(302)} saved (302), {count(503)} answered 503")
        statuses = {s for _, _, s, _, _ in results}
        assert statuses <= {302, 503}, statuses
        assert errors == []
        for _, _, status, headers, text in results:
            if status == 503:
                assert headers["Retry-After"] == "5"
                assert "กรุณาลองใหม่" in text and "ยังไม่ได้บันทึก" in text
        acknowledged = {code for _, code, s, h, _ in results if s == 302}
        assert acknowledged <= set(centre_codes(url)), "an acknowledged centre was lost"
