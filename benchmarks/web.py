"""Web benchmark: the pages people use all day, at the volume of a national network of centres.

Seeds ~10,000 jobs with ~500,000 step records (and their photos, countersigns and cost lines) into
the PostgreSQL database named by ``DATABASE_URL``, starts gunicorn with the settings of
``workshop serve``, logs real users in through the login form (CSRF on, server-side sessions),
and measures each page next to the bare ``/healthz`` of the same server in the same run:

- closed loop: N clients (default 50) each sending the next request when the last one answered,
  for a fixed time: requests/s and p50/p95/p99 latency; the ratio to ``/healthz`` is what to read
  on a shared machine;
- open loop: the step screen at a steady offered rate (20 and 100 requests/s), latency counted
  from when each request was due (a slow server cannot hide its queue);
- ``--signing``: 50 technicians each opening a step, typing for 2-5 s (``--think``; a real step
  takes minutes, so this is far more signing than 50 people do) and signing it (a correction with
  a reason)
  in a loop; every acknowledged record must be in the database exactly once, no server error.

The load generator is one asyncio process (aiohttp); its own CPU use is printed next to every run,
so a saturated client would show (it stays well under one core at the /healthz rate).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/wt_bench \\
        .venv/bin/python benchmarks/web.py [--quick] [--signing] [--reset]

The database is seeded once and reused by later runs of the same size; ``--reset`` wipes it first
(everything in it). The last line is machine-readable: ``RESULT step_screen_ratio=... ...``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import aiohttp
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "bench-wrench-2569-torque"
MANUAL_ID = "honda-jazz-ge"
KIT_ID = "jazz-ev1"
CENTRES = 5
TECHNICIANS_PER_CENTRE = 10  # 50 technicians in all: the signing test's crowd
CORRECTIONS_PER_JOB = 6  # 44 steps of the manual + 6 corrections = 50 records a job
PORTS = range(5110, 5120)
QUALIFICATIONS = ("conversion_honda_jazz", "hv_live", "hv_qualified")
SIMPLE_INPUTS = {"measurement", "torque", "confirmation", "choice", "text"}


# --- seeding --------------------------------------------------------------------------------------


@dataclass
class Seeded:
    """What the load needs to know about the seeded database."""

    jobs: int
    records: int
    photos: int
    open_job_ids: list[int]  # open jobs of centre BN01 (step screen, job page)
    signing_jobs: dict[str, int]  # technician username -> that technician's own open job
    step_ids: list[str]  # steps of the manual whose screens the benchmark opens
    simple_step_ids: list[str]  # steps signed with only typed inputs (signing test)
    seconds: float = 0.0
    reused: bool = False


def _manual_and_kit():
    from workshop.kits.loader import load_kits
    from workshop.manuals.loader import load_manuals

    return load_manuals()[MANUAL_ID], load_kits()[KIT_ID]


def _step_values(step) -> tuple[dict, dict]:
    """Values (and evaluations) that pass every limit of ``step``, as a tablet would send them."""
    values, evaluations = {}, {}
    for inp in step.inputs:
        if inp.type == "measurement":
            lo = inp.min if inp.min is not None else inp.max - 1
            hi = inp.max if inp.max is not None else inp.min + 1
            values[inp.key], evaluations[inp.key] = (lo + hi) / 2, True
        elif inp.type == "torque":
            values[inp.key], evaluations[inp.key] = inp.spec_nm, True
        elif inp.type == "confirmation":
            values[inp.key] = True
        elif inp.type == "choice":
            values[inp.key] = inp.options[0].value
        elif inp.type == "text" and inp.format == "date":
            values[inp.key] = datetime.now(UTC).date().isoformat()
        elif inp.type == "text" and inp.format == "identifier":
            values[inp.key] = "BENCH1"
        elif inp.type == "text":
            values[inp.key] = "ok"
        elif inp.type == "serial":
            values[inp.key] = [f"SN-{inp.key.upper()}-{i}" for i in range(inp.count)]
    return values, evaluations


def _form_values(step) -> dict[str, str]:
    """The step's typed inputs as form fields."""
    values, _ = _step_values(step)
    form = {}
    for key, value in values.items():
        form[key] = "y" if value is True else (f"{value:g}" if isinstance(value, float) else value)
    return form


def _copy(cursor, table: str, columns: list[str], rows) -> int:
    count = 0
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def seed(app, n_jobs: int, *, reset: bool) -> Seeded:
    """Fill the database with ``n_jobs`` jobs (+ one per technician for the signing test)."""
    from workshop.accounts.services import hash_password
    from workshop.cli import upgrade_database
    from workshop.extensions import db

    manual, kit = _manual_and_kit()
    steps = list(manual.steps)
    simple = [s.id for s in steps if all(i.type in SIMPLE_INPUTS for i in s.inputs)]
    signing_users = [
        f"bench-tech-{c}-{t}" for c in range(1, CENTRES + 1) for t in range(TECHNICIANS_PER_CENTRE)
    ]
    total_jobs = n_jobs + len(signing_users)
    started = time.perf_counter()
    with app.app_context():
        engine = db.engine
        if engine.dialect.name != "postgresql":
            raise SystemExit("DATABASE_URL must name a PostgreSQL database")
        tables = sa.inspect(engine).get_table_names()
        if tables and reset:
            with engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
            engine.dispose()
            tables = []
        if "jobs" in tables:
            upgrade_database()  # a database seeded by an older version gets the new columns
            existing = db.session.scalar(sa.text("SELECT count(*) FROM jobs"))
            marker = db.session.scalar(sa.text("SELECT count(*) FROM centres WHERE code = 'BN01'"))
            if not (marker and existing == total_jobs):
                raise SystemExit(
                    f"the database holds other data ({existing} jobs, not this benchmark's "
                    f"{total_jobs}): pass --reset to wipe it, or name another database"
                )
            db.session.rollback()
            _ensure_instruments(db, steps)
            return _describe(db, steps, simple, signing_users, reused=True)
        upgrade_database()
        password_hash = hash_password(PASSWORD)
        now = datetime.now(UTC)
        manual_json = json.dumps(manual.model_dump(mode="json"))
        kit_json = json.dumps(kit.model_dump(mode="json"))
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            # Seeding speed only: 10,000 manual snapshots are 1.7 GB of JSON, which lz4 packs
            # several times faster than the default pglz (reading them back is as fast).
            cur.execute("SET default_toast_compression = 'lz4'")
            _copy(
                cur,
                "centres",
                [
                    "id",
                    "code",
                    "name_th",
                    "name_en",
                    "province",
                    "address",
                    "licence_number",
                    "labour_rate",
                    "active",
                    "created_at",
                ],
                (
                    (
                        c,
                        f"BN{c:02d}",
                        f"ศูนย์ทดสอบ {c}",
                        f"Bench centre {c}",
                        "BKK",
                        "",
                        "",
                        Decimal("450.00"),
                        True,
                        now,
                    )
                    for c in range(1, CENTRES + 1)
                ),
            )
            users, roles, grants = [], [], []
            uid = itertools.count(1)

            def user(username, role, centre_id, all_centres=False):
                user_id = next(uid)
                users.append(
                    (
                        user_id,
                        username,
                        username,
                        "",
                        password_hash,
                        "en",
                        True,
                        centre_id,
                        all_centres,
                        None,
                        now,
                        now,
                    )
                )
                roles.append((user_id, role))
                if role in ("technician", "supervisor"):
                    for code in QUALIFICATIONS:
                        grants.append(
                            (
                                user_id,
                                code,
                                now - timedelta(days=30),
                                now + timedelta(days=700),
                                None,
                                "admin",
                                "",
                                None,
                            )
                        )
                return user_id

            user("bench-admin", "admin", None, all_centres=True)
            inspector = user("bench-inspector", "inspector", None)
            supervisors, technicians = {}, {}
            for c in range(1, CENTRES + 1):
                supervisors[c] = user(f"bench-supervisor-{c}", "supervisor", c)
                technicians[c] = [
                    user(f"bench-tech-{c}-{t}", "technician", c)
                    for t in range(TECHNICIANS_PER_CENTRE)
                ]
            _copy(
                cur,
                "users",
                [
                    "id",
                    "username",
                    "full_name",
                    "email",
                    "password_hash",
                    "locale",
                    "active",
                    "centre_id",
                    "all_centres",
                    "last_login_at",
                    "password_changed_at",
                    "created_at",
                ],
                users,
            )
            _copy(cur, "user_roles", ["user_id", "role"], roles)
            _copy(cur, "user_centres", ["user_id", "centre_id"], [(inspector, 1), (inspector, 2)])
            _copy(
                cur,
                "qualification_grants",
                [
                    "user_id",
                    "code",
                    "granted_at",
                    "expires_at",
                    "granted_by_id",
                    "source",
                    "note",
                    "revoked_at",
                ],
                grants,
            )

            # Jobs: 60 % certified, 5 % approved, 10 % awaiting inspection, 20 % open,
            # 5 % cancelled, spread over two years; then one open job per technician.
            def status_of(i):
                k = i % 20
                if k < 12:
                    return "certified"
                if k == 12:
                    return "approved"
                if k < 15:
                    return "awaiting_inspection"
                if k < 19:
                    return "open"
                return "cancelled"

            span = timedelta(days=730)
            first = now - span - timedelta(days=1)
            plan = []  # (job_id, centre, status, created_at, signing technician or None)
            for i in range(n_jobs):
                plan.append(
                    (
                        i + 1,
                        i % CENTRES + 1,
                        status_of(i // CENTRES),
                        first + span * i / n_jobs,
                        None,
                    )
                )
            for k in range(len(signing_users)):
                c = k // TECHNICIANS_PER_CENTRE + 1
                tech = technicians[c][k % TECHNICIANS_PER_CENTRE]
                plan.append((n_jobs + k + 1, c, "open", now - timedelta(hours=2), tech))
            numbers = dict.fromkeys(range(1, CENTRES + 1), 0)
            vehicle_rows, job_rows = [], []
            for job_id, c, status, created, _tech in plan:
                numbers[c] += 1
                vin = f"BNCH{job_id:013d}"
                vehicle_rows.append(
                    (
                        job_id,
                        vin,
                        "Honda",
                        "Jazz",
                        2010,
                        "white",
                        f"L13A{job_id:07d}",
                        f"กข {job_id % 10000:04d}",
                        "BKK",
                        created,
                    )
                )
                active = status in ("open", "awaiting_inspection", "approved")
                closed = status in ("certified", "cancelled")
                job_rows.append(
                    (
                        job_id,
                        c,
                        numbers[c],
                        job_id,
                        vin if active else None,
                        status,
                        False,
                        manual.id,
                        manual.version,
                        manual.fingerprint or "",
                        manual_json,
                        kit.id,
                        kit.version,
                        kit_json,
                        kit.fingerprint,
                        len(steps) * 600,
                        150000,
                        1050,
                        f"Owner {job_id}",
                        "081 234 5678",
                        supervisors[c],
                        created,
                        created + timedelta(days=12) if closed else None,
                    )
                )
            _copy(
                cur,
                "vehicles",
                [
                    "id",
                    "vin",
                    "make",
                    "model",
                    "year",
                    "colour",
                    "engine_number",
                    "plate",
                    "province",
                    "created_at",
                ],
                vehicle_rows,
            )
            _copy(
                cur,
                "jobs",
                [
                    "id",
                    "centre_id",
                    "number",
                    "vehicle_id",
                    "active_vin",
                    "status",
                    "is_training",
                    "manual_id",
                    "manual_version",
                    "manual_fingerprint",
                    "manual_snapshot",
                    "kit_id",
                    "kit_version",
                    "kit_snapshot",
                    "kit_fingerprint",
                    "labour_seconds",
                    "odometer_km",
                    "curb_weight_kg",
                    "owner_name",
                    "owner_phone",
                    "created_by_id",
                    "created_at",
                    "closed_at",
                ],
                job_rows,
            )

            step_values = {s.id: tuple(json.dumps(v) for v in _step_values(s)) for s in steps}
            photo_inputs = {
                s.id: [(i.key, n) for i in s.inputs if i.type == "photo" for n in range(i.count)]
                for s in steps
            }
            corrected = simple[:CORRECTIONS_PER_JOB]
            record_ids = itertools.count(1)
            photo_ids = itertools.count(1)
            countersigns, photos = [], []

            def records():
                for job_id, c, _status, created, tech in plan:
                    crew = technicians[c]
                    worker = tech or crew[job_id % len(crew)]
                    at = created
                    for step in steps:
                        values, evaluations = step_values[step.id]
                        at = at + timedelta(minutes=15)
                        rid = next(record_ids)
                        last = rid
                        yield (
                            rid,
                            job_id,
                            step.id,
                            1,
                            values,
                            evaluations,
                            True,
                            "",
                            None,
                            "",
                            worker,
                            at - timedelta(minutes=10),
                            at,
                            600,
                            "{}",
                        )
                        for key, k in photo_inputs[step.id]:
                            photos.append(
                                (
                                    next(photo_ids),
                                    job_id,
                                    step.id,
                                    key,
                                    f"{job_id:032x}{rid:024x}{k:08x}",
                                    "image/jpeg",
                                    180000,
                                    1600,
                                    1200,
                                    rid,
                                    worker,
                                    at,
                                )
                            )
                        if step.id in corrected:
                            last = next(record_ids)
                            yield (
                                last,
                                job_id,
                                step.id,
                                2,
                                values,
                                evaluations,
                                True,
                                "",
                                rid,
                                "re-measured",
                                worker,
                                None,
                                at + timedelta(minutes=1),
                                0,
                                "{}",
                            )
                        if step.countersign:
                            other = crew[(crew.index(worker) + 1) % len(crew)]
                            countersigns.append((last, other, at + timedelta(minutes=2)))

            n_records = _copy(
                cur,
                "step_records",
                [
                    "id",
                    "job_id",
                    "step_id",
                    "seq",
                    "values",
                    "evaluations",
                    "passed",
                    "note",
                    "corrects_id",
                    "reason",
                    "user_id",
                    "started_at",
                    "signed_at",
                    "seconds_spent",
                    "instruments",
                ],
                records(),
            )
            _copy(cur, "countersigns", ["record_id", "user_id", "at"], countersigns)
            n_photos = _copy(
                cur,
                "photos",
                [
                    "id",
                    "job_id",
                    "step_id",
                    "input_key",
                    "sha256",
                    "content_type",
                    "size_bytes",
                    "width",
                    "height",
                    "record_id",
                    "uploaded_by_id",
                    "uploaded_at",
                ],
                photos,
            )
            _copy(
                cur,
                "cost_lines",
                [
                    "job_id",
                    "kind",
                    "description",
                    "quantity",
                    "unit_cost",
                    "added_by_id",
                    "added_at",
                ],
                (
                    (
                        job_id,
                        "sublet",
                        "Wheel alignment",
                        Decimal("1.000"),
                        Decimal("850.00"),
                        supervisors[c],
                        created,
                    )
                    for job_id, c, _status, created, _tech in plan
                ),
            )
            for table in ("centres", "users", "vehicles", "jobs", "step_records", "photos"):
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            raw.commit()
            cur.execute("ANALYZE")
            raw.commit()
        finally:
            raw.close()
        _ensure_instruments(db, steps)
        result = _describe(db, steps, simple, signing_users, reused=False)
        result.seconds = time.perf_counter() - started
        del n_records, n_photos
        return result


def _ensure_instruments(db, steps) -> None:
    """One calibrated instrument of every kind the manual's readings need, at every centre (a
    reading that needs one is refused without it); added to a database seeded before them."""
    kinds = sorted(
        {inp.calibrated for s in steps for inp in s.inputs if getattr(inp, "calibrated", None)}
    )
    if not kinds or db.session.scalar(sa.text("SELECT count(*) FROM instruments")):
        db.session.rollback()
        return
    today = datetime.now(UTC).date()
    db.session.execute(
        sa.text(
            "INSERT INTO instruments (centre_id, kind, make_model, serial, certificate_number, "
            "calibrated_on, due_on, certificate_sha256, certificate_type, registered_by_id, "
            "registered_at) SELECT c.id, k.kind, 'Bench instrument', 'BENCH-' || c.code || '-' || "
            "k.kind, 'CAL-' || c.code || '-' || k.kind, :calibrated, :due, '', '', u.id, now() "
            "FROM centres c JOIN users u ON u.username = 'bench-supervisor-' || c.id "
            "CROSS JOIN unnest(CAST(:kinds AS text[])) AS k(kind)"
        ),
        {
            "calibrated": today - timedelta(days=30),
            "due": today + timedelta(days=3650),
            "kinds": kinds,
        },
    )
    db.session.commit()


def _describe(db, steps, simple, signing_users, *, reused) -> Seeded:
    count = lambda q: db.session.scalar(sa.text(q))  # noqa: E731
    open_ids = list(
        db.session.scalars(
            sa.text(
                "SELECT j.id FROM jobs j JOIN centres c ON c.id = j.centre_id "
                "WHERE c.code = 'BN01' AND j.status = 'open' AND j.id IN "
                "(SELECT job_id FROM step_records GROUP BY job_id HAVING max(reason) = "
                "'re-measured') ORDER BY j.id LIMIT 40"
            )
        )
    )
    signing = dict(
        db.session.execute(
            sa.text(
                "SELECT u.username, max(j.id) FROM users u JOIN step_records r ON r.user_id = u.id "
                "JOIN jobs j ON j.id = r.job_id WHERE u.username = ANY(:names) "
                "AND j.created_at > now() - interval '1 day' GROUP BY u.username"
            ),
            {"names": signing_users},
        ).all()
    )
    photo_steps = [s.id for s in steps if any(i.type == "photo" for i in s.inputs)]
    return Seeded(
        jobs=count("SELECT count(*) FROM jobs"),
        records=count("SELECT count(*) FROM step_records"),
        photos=count("SELECT count(*) FROM photos"),
        open_job_ids=open_ids,
        signing_jobs=signing,
        step_ids=photo_steps[:4] + simple[:4],
        simple_step_ids=simple,
        reused=reused,
    )


# --- server -------------------------------------------------------------------------------------


def free_port(wanted: int | None) -> int:
    """``wanted``, or the first free port of this benchmark's range."""
    for port in [wanted] if wanted else PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


def start_server(database_url: str, port: int, workers: int, instance: str) -> subprocess.Popen:
    """gunicorn with the settings of ``workshop serve`` (workshop.cli.gunicorn_argv)."""
    from workshop.cli import gunicorn_argv

    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        WORKSHOP_INSTANCE_PATH=instance,
        SECRET_KEY="benchmark-secret-key-not-for-production",
    )
    log = open(os.path.join(instance, "gunicorn.log"), "w")  # noqa: SIM115
    proc = subprocess.Popen(
        gunicorn_argv(f"127.0.0.1:{port}", workers), cwd=ROOT, env=env, stdout=log, stderr=log
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited: see {log.name}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("gunicorn did not start within 60 s")


class ServerCPU:
    """CPU seconds the server spent: gunicorn (master, live workers and the recycled ones it has
    reaped) and the PostgreSQL backends serving this database, read from /proc. A figure that
    the neighbours' load hardly moves, unlike requests per second: what a page costs, not how fast
    a shared machine happened to serve it. PostgreSQL's share is counted only when the server runs
    on this host; the CPU of a backend that ended between two readings is not counted."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, master: int, database_url: str) -> None:
        self.master = master
        self.engine = sa.create_engine(_psycopg(database_url), poolclass=sa.pool.NullPool)

    @classmethod
    def _stat(cls, pid: int, children: bool = False) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        # utime, stime (and cutime, cstime: children waited for) are fields 14-17
        ticks = int(fields[11]) + int(fields[12])
        if children:
            ticks += int(fields[13]) + int(fields[14])
        return ticks / cls.TICK

    def _workers(self) -> list[int]:
        try:
            text = Path(f"/proc/{self.master}/task/{self.master}/children").read_text()
        except OSError:
            return []
        return [int(p) for p in text.split()]

    def _backends(self) -> list[int]:
        with self.engine.connect() as conn:
            return list(
                conn.scalars(
                    sa.text(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid()"
                    )
                )
            )

    def reading(self) -> tuple[float, dict[int, float]]:
        """(gunicorn CPU seconds, {PostgreSQL backend: its CPU seconds}) so far."""
        app = self._stat(self.master, children=True) + sum(map(self._stat, self._workers()))
        return app, {pid: self._stat(pid) for pid in self._backends()}


def _psycopg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1).replace(
        "postgres://", "postgresql+psycopg://", 1
    )


# --- load ---------------------------------------------------------------------------------------

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
BASE_SEQ_RE = re.compile(r'name="base_seq" value="(\d+)"')
# The first calibrated instrument the step screen offers for a reading that needs one.
INSTRUMENT_RE = re.compile(r'name="(instrument:[^"]+)"><option value="(\d+)"')


async def login(
    base: str, username: str, *, decompress: bool = False, keepalive: float = 15.0
) -> aiohttp.ClientSession:
    """A client session logged in as ``username`` through the login form (CSRF token included).

    ``keepalive``: how long an idle connection is kept for the next request; a client that pauses
    longer than gunicorn keeps a connection open (2 s) must close it first, as a browser would
    (a browser also retries a request on a connection the server has just closed; aiohttp does not).
    """
    session = aiohttp.ClientSession(
        base,
        cookie_jar=aiohttp.CookieJar(unsafe=True),
        connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=keepalive),
        auto_decompress=decompress,
        headers={"Accept-Encoding": "gzip, br"} if not decompress else None,
        timeout=aiohttp.ClientTimeout(total=120),
    )
    async with session.get("/login", headers={"Accept-Encoding": "identity"}) as r:
        page = await r.text()
    token = CSRF_RE.search(page).group(1)
    async with session.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
    ) as r:
        if r.status != 302:
            raise SystemExit(f"login of {username} failed: HTTP {r.status}")
    return session


@dataclass
class Run:
    """Latencies and outcomes of one measured run."""

    name: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0  # 5xx, refused connections, timeouts
    kinds: Counter = field(default_factory=Counter)  # what the errors were
    unexpected: int = 0  # other statuses than the expected one
    client_cpu: float = 0.0
    app_cpu: float = 0.0  # gunicorn CPU seconds during the run
    db_cpu: float = 0.0  # PostgreSQL backends' CPU seconds during the run

    def cpu_ms(self) -> float:
        """Server CPU (gunicorn + PostgreSQL) per answered request, in ms."""
        n = len(self.latencies)
        return (self.app_cpu + self.db_cpu) / n * 1000 if n else float("nan")

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def add(self, other: Run) -> None:
        """Count ``other`` (another slice of the same measurement) into this run."""
        if self.seconds or other.seconds:
            self.client_cpu = (
                self.client_cpu * self.seconds + other.client_cpu * other.seconds
            ) / (self.seconds + other.seconds)
        self.seconds += other.seconds
        self.latencies += other.latencies
        self.errors += other.errors
        self.kinds.update(other.kinds)
        self.unexpected += other.unexpected
        self.app_cpu += other.app_cpu
        self.db_cpu += other.db_cpu

    def pct(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        data = sorted(self.latencies)
        return data[min(len(data) - 1, int(round(p / 100 * (len(data) - 1))))] * 1000


async def paired(label, sessions, urls, seconds, concurrency, bare_sessions, rounds=4):
    """The page and /healthz measured in turns: ``rounds`` slices of each, the page's adding up
    to ``seconds`` and /healthz's to half that, summed into one run each. The machine is shared
    and what else runs changes from second to second: in turns, a slow spell slows both, and the
    ratio of the two stays what the page costs (run one after the other, a spell during one of
    them alone moved the ratio by a third)."""
    page, bare = Run(label), Run("/healthz")
    for _ in range(rounds):
        bare.add(
            await closed_loop(
                "/healthz", bare_sessions, ["/healthz"], seconds / rounds / 2, concurrency
            )
        )
        page.add(await closed_loop(label, sessions, urls, seconds / rounds, concurrency))
    return page, bare


async def _one(session, url, run: Run, started: float, expect: int = 200) -> None:
    try:
        async with session.get(url, allow_redirects=False) as r:
            await r.read()
            status = r.status
    except (TimeoutError, aiohttp.ClientError) as exc:
        run.errors += 1
        run.kinds[type(exc).__name__] += 1
        return
    run.latencies.append(time.perf_counter() - started)
    if status >= 500:
        run.errors += 1
        run.kinds[f"HTTP {status}"] += 1
    elif status != expect:
        run.unexpected += 1


async def closed_loop(name, sessions, urls, seconds, concurrency) -> Run:
    """``concurrency`` clients, each sending its next request when the last one answered."""
    run = Run(name)
    before = METER.reading() if METER else None
    end = time.perf_counter() + seconds
    cycle = itertools.cycle(urls)

    async def client(k):
        session = sessions[k % len(sessions)]
        while time.perf_counter() < end:
            await _one(session, next(cycle), run, time.perf_counter())

    cpu, start = time.process_time(), time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(concurrency)))
    run.seconds = time.perf_counter() - start
    run.client_cpu = (time.process_time() - cpu) / run.seconds
    _charge(run, before)
    return run


def _charge(run: Run, before) -> None:
    if METER:
        app, backends = METER.reading()
        run.app_cpu = app - before[0]
        run.db_cpu = sum(cpu - before[1].get(pid, 0.0) for pid, cpu in backends.items())


async def open_loop(name, sessions, urls, seconds, rate) -> Run:
    """Requests at a steady ``rate``; latency counted from when each request was due."""
    run = Run(name)
    before = METER.reading() if METER else None
    cycle = itertools.cycle(urls)
    tasks = []
    cpu, start = time.process_time(), time.perf_counter()
    for n in range(int(seconds * rate)):
        due = start + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        session = sessions[n % len(sessions)]
        tasks.append(asyncio.create_task(_one(session, next(cycle), run, due)))
    await asyncio.gather(*tasks)
    run.seconds = seconds
    run.client_cpu = (time.process_time() - cpu) / (time.perf_counter() - start)
    _charge(run, before)
    return run


# --- signing ------------------------------------------------------------------------------------

METER: ServerCPU | None = None  # set once gunicorn runs

RUN_ID = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")


async def signing(
    base, seeded: Seeded, seconds: float, form_values: dict, think: tuple[float, float]
) -> dict:
    """Every technician signs steps of their own job in a loop: GET the step, type for ``think``
    seconds (uniform between the two, from a seeded generator per technician), POST the record.
    ``think`` (0, 0) is the stress test: every technician saves the moment the screen answers."""
    sessions = {
        username: await login(base, username, decompress=True, keepalive=1.0)
        for username in seeded.signing_jobs
    }
    acknowledged: list[str] = []
    # This run's records are told apart from those of earlier runs on a reused database.
    run_id = RUN_ID
    get_lat, post_lat = Run("step screen (signing)"), Run("sign")
    end = time.perf_counter() + seconds
    cpu, start = time.process_time(), time.perf_counter()

    async def technician(username, session):
        job_id = seeded.signing_jobs[username]
        typing = random.Random(f"{RUN_ID} {username}")
        if think[1] > 0:  # people do not all open a step in the same millisecond
            await asyncio.sleep(typing.uniform(0, think[1]))
        for n in itertools.count():
            if time.perf_counter() >= end:
                return
            step_id = seeded.simple_step_ids[n % len(seeded.simple_step_ids)]
            url = f"/jobs/{job_id}/steps/{step_id}"
            t0 = time.perf_counter()
            try:
                async with session.get(url) as r:
                    page, status = await r.text(), r.status
            except (TimeoutError, aiohttp.ClientError):
                get_lat.errors += 1
                continue
            get_lat.latencies.append(time.perf_counter() - t0)
            if status != 200:
                get_lat.errors += status >= 500
                get_lat.unexpected += status < 500
                continue
            reason = f"bench-sign {run_id} {username} {n}"
            if think[1] > 0:
                await asyncio.sleep(typing.uniform(*think))
                if time.perf_counter() >= end:
                    return
            data = dict(
                form_values[step_id],
                csrf_token=CSRF_RE.search(page).group(1),
                base_seq=BASE_SEQ_RE.search(page).group(1),
                **dict(INSTRUMENT_RE.findall(page)),
                opened_at=datetime.now(UTC).isoformat(timespec="seconds"),
                reason=reason,
                note="",
            )
            t0 = time.perf_counter()
            try:
                async with session.post(url + "/sign", data=data, allow_redirects=False) as r:
                    await r.read()
                    status = r.status
            except (TimeoutError, aiohttp.ClientError):
                post_lat.errors += 1
                continue
            post_lat.latencies.append(time.perf_counter() - t0)
            if status == 302:
                acknowledged.append(reason)
            elif status >= 500:
                post_lat.errors += 1
            else:
                post_lat.unexpected += 1

    await asyncio.gather(*(technician(u, s) for u, s in sessions.items()))
    elapsed = time.perf_counter() - start
    get_lat.seconds = post_lat.seconds = elapsed
    get_lat.client_cpu = post_lat.client_cpu = (time.process_time() - cpu) / elapsed
    for session in sessions.values():
        await session.close()
    return {"get": get_lat, "post": post_lat, "acknowledged": acknowledged}


def check_signed(app, acknowledged: list[str]) -> tuple[int, int, int]:
    """(acknowledged records missing, present more than once, saved but not acknowledged)."""
    from workshop.extensions import db

    with app.app_context():
        saved = dict(
            db.session.execute(
                sa.text(
                    "SELECT reason, count(*) FROM step_records WHERE reason LIKE :run "
                    "GROUP BY reason"
                ),
                {"run": f"bench-sign {RUN_ID} %"},
            ).all()
        )
    missing = sum(1 for r in acknowledged if r not in saved)
    twice = sum(1 for r in acknowledged if saved.get(r, 0) > 1)
    extra = len(set(saved) - set(acknowledged))
    return missing, twice, extra


# --- main -----------------------------------------------------------------------------------------


def _row(run: Run, healthz: float | None = None, healthz_cpu: float | None = None) -> str:
    ratio = f"{run.rate / healthz:5.3f}x" if healthz else "     —"
    cpu_ratio = f"{healthz_cpu / run.cpu_ms():5.3f}x" if healthz_cpu else "     —"
    server = (
        f"{run.cpu_ms():5.2f} ({run.db_cpu / max(run.app_cpu + run.db_cpu, 1e-9) * 100:2.0f} % db)"
        if METER and run.latencies and (run.app_cpu or run.db_cpu)
        else "—"
    )
    return (
        f"| {run.name:<28} | {run.rate:7.1f} | {run.pct(50):7.1f} | {run.pct(95):7.1f} | "
        f"{run.pct(99):7.1f} | {run.errors:>4} | {ratio:>11} | {server:>16} | {cpu_ratio:>9} | "
        f"{run.client_cpu * 100:4.0f} % |"
    ) + (f" errors: {dict(run.kinds)}" if run.kinds else "")


HEADER = (
    "| page                         |   req/s | p50 ms  | p95 ms  | p99 ms  | err  | vs /healthz "
    "| server CPU ms/req | CPU vs /healthz | client CPU |\n"
    "|------------------------------|---------|---------|---------|---------|------|-------------"
    "|-------------------|-----------------|------------|"
)


async def measure(args, seeded: Seeded, base: str) -> tuple[list[str], dict]:
    manual, _kit = _manual_and_kit()
    sessions = {}
    for name in ("bench-admin", "bench-inspector", "bench-supervisor-1"):
        sessions[name] = [await login(base, name)]
    sessions["technicians"] = [await login(base, f"bench-tech-1-{t}") for t in range(10)]
    jobs = seeded.open_job_ids
    step_urls = [f"/jobs/{j}/steps/{s}" for j in jobs for s in seeded.step_ids]
    step_urls = step_urls[::3] + step_urls[1::3] + step_urls[2::3]
    pages = [
        ("step_screen", "step screen", "technicians", step_urls),
        ("job_page", "job page", "bench-supervisor-1", [f"/jobs/{j}" for j in jobs]),
        ("job_list", "job list (supervisor)", "bench-supervisor-1", ["/jobs/"]),
        ("job_list_all", "job list (admin, all)", "bench-admin", ["/jobs/"]),
        ("job_list_open", "job list ?status=open", "bench-supervisor-1", ["/jobs/?status=open"]),
        ("home_technician", "home: technician", "technicians", ["/"]),
        ("home_supervisor", "home: supervisor", "bench-supervisor-1", ["/"]),
        ("home_inspector", "home: inspector", "bench-inspector", ["/"]),
        ("home_admin", "home: admin", "bench-admin", ["/"]),
        ("inspection_queue", "inspection queue", "bench-inspector", ["/inspection/"]),
        ("cost_report", "cost report", "bench-supervisor-1", ["/kits/reports/costs"]),
    ]
    if args.only:
        pages = [p for p in pages if p[0] in args.only]
    # Warm every page once (caches, connection pools) outside the measurement.
    for _key, _label, who, urls in pages:
        for url in urls[:3]:
            async with sessions[who][0].get(url) as r:
                await r.read()
                if r.status != 200:
                    raise SystemExit(f"{url} answered {r.status} for {who}")
    anonymous = aiohttp.ClientSession(base, connector=aiohttp.TCPConnector(limit=0))
    lines = [HEADER]
    results: dict[str, float] = {}
    c = args.concurrency
    # The machine is shared: what else runs changes from second to second. Each page is measured
    # in turns with /healthz (``paired``) and compared with the /healthz of its own turns.
    rates = []
    for key, label, who, urls in pages:
        run, healthz = await paired(label, sessions[who], urls, args.seconds, c, [anonymous])
        reference = healthz.rate
        reference_cpu = healthz.cpu_ms() if METER else None
        for row in (_row(healthz), _row(run, reference, reference_cpu)):
            print(row, flush=True)
            lines.append(row)
        results[f"{key}_ratio"] = round(run.rate / reference, 3)
        if METER:
            results[f"{key}_cpu_ms"] = round(run.cpu_ms(), 2)
            results[f"{key}_cpu_ratio"] = round(reference_cpu / run.cpu_ms(), 3)
        results[f"{key}_rps"] = round(run.rate, 1)
        results[f"{key}_p95_ms"] = round(run.pct(95))
        results[f"{key}_errors"] = run.errors
        rates.append(healthz.rate)
    healthz = sum(rates) / len(rates)
    results["healthz_rps"] = round(healthz)
    if not args.only or "step_screen" in args.only:
        lines.append("")
        lines.append("open loop (steady offered rate), step screen:")
        lines.append(HEADER)
        for rate in args.rates:
            run = await open_loop(
                f"step screen at {rate:g}/s", sessions["technicians"], step_urls, args.seconds, rate
            )
            print(_row(run), flush=True)
            lines.append(_row(run))
            results[f"step_screen_p95_ms_at_{rate:g}"] = round(run.pct(95))
            results[f"step_screen_rps_at_{rate:g}"] = round(run.rate, 1)
            results[f"step_screen_errors_at_{rate:g}"] = run.errors
    for group in sessions.values():
        for s in group:
            await s.close()
    await anonymous.close()
    del manual
    return lines, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 jobs and 10 s runs")
    parser.add_argument("--signing", action="store_true", help="also the signing test")
    parser.add_argument("--signing-only", action="store_true", help="only the signing test")
    parser.add_argument("--reset", action="store_true", help="wipe the database first")
    parser.add_argument("--jobs", type=int, help="jobs to seed (default 10,000; --quick 1,000)")
    parser.add_argument("--seconds", type=float, help="seconds per run (default 30; --quick 10)")
    parser.add_argument("--signing-seconds", type=float, help="default 300; --quick 30")
    parser.add_argument(
        "--think",
        type=float,
        nargs=2,
        default=[2.0, 5.0],
        metavar=("LOW", "HIGH"),
        help="seconds a technician types between the step screen and the save (signing test; "
        "default 2 5; 0 0: the stress test, saving the moment the screen answers)",
    )
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rates", type=float, nargs="+", default=[20, 100])
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (serve: 3)")
    parser.add_argument(
        "--port", type=int, help=f"default: first free of {PORTS.start}-{PORTS.stop - 1}"
    )
    parser.add_argument("--only", nargs="+", help="measure only these pages (keys of RESULT)")
    args = parser.parse_args()
    args.jobs = args.jobs or (1_000 if args.quick else 10_000)
    args.seconds = args.seconds or (10 if args.quick else 30)
    args.signing_seconds = args.signing_seconds or (30 if args.quick else 300)
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database (it is filled with test data)")

    from workshop import create_app

    instance = tempfile.mkdtemp(prefix="workshop-bench-")
    os.environ["WORKSHOP_INSTANCE_PATH"] = instance
    app = create_app({"SECRET_KEY": "benchmark-secret-key-not-for-production"})
    seeded = seed(app, args.jobs, reset=args.reset)
    how = "reused" if seeded.reused else f"seeded in {seeded.seconds:.0f} s"
    print(
        f"database: {seeded.jobs:,} jobs, {seeded.records:,} step records, {seeded.photos:,} "
        f"photos ({how})",
        flush=True,
    )
    port = free_port(args.port)
    server = start_server(database_url, port, args.workers, instance)
    global METER
    METER = ServerCPU(server.pid, database_url)
    base = f"http://127.0.0.1:{port}"
    print(
        f"gunicorn: {args.workers} gthread workers x 4 threads on {base}; {args.concurrency} "
        f"clients, {args.seconds:g} s per run; {os.cpu_count()} cores shared with other work",
        flush=True,
    )
    results: dict[str, object] = {}
    lines: list[str] = []
    try:
        if not args.signing_only:
            lines, results = asyncio.run(measure(args, seeded, base))
        if args.signing or args.signing_only:
            manual, _kit = _manual_and_kit()
            forms = {s: _form_values(manual.step(s)) for s in seeded.simple_step_ids}
            outcome = asyncio.run(
                signing(base, seeded, args.signing_seconds, forms, tuple(args.think))
            )
            missing, twice, extra = check_signed(app, outcome["acknowledged"])
            errors = outcome["get"].errors + outcome["post"].errors
            lines += [
                "",
                f"signing: {len(seeded.signing_jobs)} technicians for {args.signing_seconds:g} s, "
                f"typing {args.think[0]:g}-{args.think[1]:g} s a step, "
                f"{len(outcome['acknowledged'])} records acknowledged; missing {missing}, "
                f"present twice {twice}, saved unacknowledged {extra}, server errors {errors}, "
                f"refused {outcome['post'].unexpected}",
                HEADER,
                _row(outcome["get"]),
                _row(outcome["post"]),
            ]
            results.update(
                signing_think=f"{args.think[0]:g}-{args.think[1]:g}",
                signing_records=len(outcome["acknowledged"]),
                signing_errors=errors,
                signing_missing=missing,
                signing_duplicated=twice,
                signing_p95_ms=round(outcome["post"].pct(95)),
                signing_step_p95_ms=round(outcome["get"].pct(95)),
            )
    except BaseException:
        print(f"the server's log: {instance}/gunicorn.log", file=sys.stderr)
        raise
    finally:
        server.terminate()
        server.wait(timeout=30)
    shutil.rmtree(instance, ignore_errors=True)  # kept (with the log) when the run failed
    print()
    print("\n".join(lines))
    print("RESULT " + " ".join(f"{k}={v}" for k, v in results.items()))


if __name__ == "__main__":
    main()
