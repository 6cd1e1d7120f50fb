"""Backup and restore of a whole instance: the database, the instance files, and a manifest.

A backup is one ZIP file:

- ``database/<table>.jsonl``: every row of every table, one JSON object a line, read in one
  consistent snapshot while the app keeps running (SQLite: one read transaction, which WAL
  isolates from writers; PostgreSQL: one REPEATABLE READ, READ ONLY transaction). The format is
  the same for both databases, needs no ``pg_dump`` of the server's exact version, and lets an
  SQLite instance move to PostgreSQL.
- ``files/instance/...`` and ``files/uploads/...``: the instance folder (secret key, signing
  keys, configuration) and the uploaded files (photos, traces, PDFs), if kept elsewhere.
- ``manifest.json``: the schema revision, the row count of every table and the SHA-256 and size
  of every other member.

``restore_backup`` checks the whole manifest before it writes anything, refuses an instance that
already holds data, then rebuilds the schema at the backup's revision, loads the rows, puts the
files back, and upgrades the schema to this version of the code.
"""

import base64
import hashlib
import json
import os
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

FORMAT = "workshop-backup/1"
MANIFEST = "manifest.json"
# SQLite's own files are dumped row by row, never copied while in use.
SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")
# Left over by an interrupted write (content-addressed files are written as .part, then renamed).
SKIPPED_SUFFIXES = (".part",)
ALWAYS_PRESENT = {"secret_key", "config.py"}
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup that cannot be made or restored; the message says why."""


def _encode(value):
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, bytes | memoryview):
        return {"$bytes": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, dict | list):
        return {"$json": value}
    return value


def _decode(value):
    if not isinstance(value, dict):
        return value
    ((tag, raw),) = value.items()
    return {
        "$datetime": datetime.fromisoformat,
        "$date": date.fromisoformat,
        "$decimal": Decimal,
        "$bytes": base64.b64decode,
        "$json": lambda v: v,
    }[tag](raw)


def _tables(metadata: sa.MetaData) -> list[sa.Table]:
    return [t for t in metadata.sorted_tables if t.name != "alembic_version"]


def _snapshot(engine: sa.Engine) -> sa.Connection:
    if engine.dialect.name == "postgresql":
        conn = engine.connect().execution_options(isolation_level="REPEATABLE READ")
        conn.begin()
        conn.execute(sa.text("SET TRANSACTION READ ONLY"))
    else:
        conn = engine.connect()
        conn.begin()
    return conn


def _instance_files(instance: Path, uploads: Path, database_file: str | None):
    """(archive name, path) of every file to keep: the instance folder, then the uploads."""
    excluded = {database_file + s for s in SQLITE_SUFFIXES} if database_file else set()
    roots = [("files/instance", instance)]
    if not uploads.resolve().is_relative_to(instance.resolve()):
        roots.append(("files/uploads", uploads))
    for prefix, root in roots:
        if not root.is_dir():
            continue
        for folder, dirs, names in os.walk(root):
            dirs.sort()
            for name in sorted(names):
                path = Path(folder) / name
                if str(path.resolve()) in excluded or name.endswith(SKIPPED_SUFFIXES):
                    continue
                if path.is_file() and not path.is_symlink():
                    yield f"{prefix}/{path.relative_to(root).as_posix()}", path


def _sqlite_file(engine: sa.Engine) -> str | None:
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        return str(Path(engine.url.database).resolve())
    return None


def create_backup(
    engine: sa.Engine, instance: str | Path, uploads: str | Path, out: str | Path
) -> dict:
    """Write a backup of the database behind ``engine`` and the instance files to ``out``.

    Returns the manifest. Safe while the app runs: rows come from one snapshot, and files
    are content-addressed and written before the rows that name them.
    """
    instance, uploads, out = Path(instance), Path(uploads), Path(out)
    manifest = {"format": FORMAT, "created_at": datetime.now().astimezone().isoformat()}
    members: dict[str, dict] = {}
    tmp = out.with_name(out.name + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        conn = _snapshot(engine)
        try:
            metadata = sa.MetaData()
            metadata.reflect(conn)
            revisions = []
            if "alembic_version" in metadata.tables:
                revisions = sorted(conn.scalars(sa.text("SELECT version_num FROM alembic_version")))
            counts = {}
            for table in _tables(metadata):
                name = f"database/{table.name}.jsonl"
                digest, size, rows = hashlib.sha256(), 0, 0
                order = list(table.primary_key.columns) or list(table.columns)
                with archive.open(name, "w", force_zip64=True) as member:
                    for row in conn.execute(sa.select(table).order_by(*order)):
                        line = (
                            json.dumps(
                                {k: _encode(v) for k, v in row._mapping.items()}, ensure_ascii=False
                            ).encode()
                            + b"\n"
                        )
                        member.write(line)
                        digest.update(line)
                        size += len(line)
                        rows += 1
                members[name] = {"sha256": digest.hexdigest(), "size": size}
                counts[table.name] = rows
        finally:
            conn.rollback()
            conn.close()
        manifest["database"] = {
            "dialect": engine.dialect.name,
            "revisions": revisions,
            "rows": counts,
        }
        # Files after rows: a file a row names was written before that row was committed.
        for name, path in _instance_files(instance, uploads, _sqlite_file(engine)):
            digest, size = hashlib.sha256(), 0
            with open(path, "rb") as src, archive.open(name, "w", force_zip64=True) as member:
                while chunk := src.read(CHUNK):
                    member.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
            members[name] = {"sha256": digest.hexdigest(), "size": size}
        manifest["members"] = members
        archive.writestr(MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False))
    os.replace(tmp, out)
    return manifest


def read_manifest(archive: zipfile.ZipFile) -> dict:
    """The backup's manifest, after checking every member against it (nothing is written)."""
    try:
        manifest = json.loads(archive.read(MANIFEST))
    except (KeyError, ValueError) as exc:
        raise BackupError(f"not a workshop backup: {MANIFEST} missing or unreadable") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    members = manifest.get("members", {})
    present = {n for n in archive.namelist() if n != MANIFEST}
    if present != set(members):
        extra, missing = sorted(present - set(members)), sorted(set(members) - present)
        raise BackupError(f"backup does not match its manifest: extra {extra}, missing {missing}")
    for name, expected in members.items():
        _check_name(name)
        digest, size = hashlib.sha256(), 0
        with archive.open(name) as member:
            while chunk := member.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
        if digest.hexdigest() != expected["sha256"] or size != expected["size"]:
            raise BackupError(f"{name}: content does not match the manifest (damaged backup)")
    return manifest


def _check_name(name: str) -> None:
    parts = name.split("/")
    if name.startswith("/") or ".." in parts or "\\" in name or len(parts) < 2:
        raise BackupError(f"unsafe name in backup: {name!r}")
    if parts[0] == "files" and parts[1] not in ("instance", "uploads"):
        raise BackupError(f"unexpected member {name!r}")


def instance_problems(engine: sa.Engine, instance: Path, uploads: Path) -> list[str]:
    """Why the target is not empty (rows in its tables, files in its folders); [] when empty."""
    problems = []
    metadata = sa.MetaData()
    with engine.connect() as conn:
        metadata.reflect(conn)
        for table in _tables(metadata):
            if conn.scalar(sa.select(sa.func.count()).select_from(table)):
                problems.append(f"table {table.name} has rows")
    database_file = _sqlite_file(engine)
    for name, _path in _instance_files(instance, uploads, database_file):
        if name.removeprefix("files/instance/") not in ALWAYS_PRESENT:
            problems.append(f"file {name.split('/', 2)[2]} exists")
    return problems


def _rows(archive: zipfile.ZipFile, table: str) -> Iterator[dict]:
    with archive.open(f"database/{table}.jsonl") as member:
        for line in member:
            yield {k: _decode(v) for k, v in json.loads(line).items()}


def load_rows(archive: zipfile.ZipFile, manifest: dict, conn: sa.Connection) -> None:
    """Insert the backup's rows into the (empty) tables reachable through ``conn``."""
    metadata = sa.MetaData()
    metadata.reflect(conn)
    expected = manifest["database"]["rows"]
    unknown = sorted(set(expected) - set(metadata.tables))
    if unknown:
        raise BackupError(f"tables in the backup but not in the schema: {unknown}")
    for table in _tables(metadata):
        if table.name not in expected:
            continue
        batch = []
        for row in _rows(archive, table.name):
            batch.append(row)
            if len(batch) == 500:
                conn.execute(table.insert(), batch)
                batch = []
        if batch:
            conn.execute(table.insert(), batch)
        if conn.dialect.name == "postgresql":
            _reset_sequences(conn, table)


def _reset_sequences(conn: sa.Connection, table: sa.Table) -> None:
    # Rows came with their ids: the next id must come after the largest one restored.
    for column in table.primary_key.columns:
        sequence = conn.scalar(
            sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
            {"t": table.name, "c": column.name},
        )
        if sequence:
            conn.execute(
                sa.text(
                    f'SELECT setval(:s, coalesce((SELECT max("{column.name}") FROM '
                    f'"{table.name}"), 1), (SELECT count(*) FROM "{table.name}") > 0)'
                ),
                {"s": sequence},
            )


def restore_files(archive: zipfile.ZipFile, instance: Path, uploads: Path) -> int:
    """Write the backup's files into the instance and upload folders (private modes)."""
    written = 0
    for name in archive.namelist():
        if not name.startswith("files/"):
            continue
        _, root, relative = name.split("/", 2)
        base = instance if root == "instance" else uploads
        target = base / relative
        if relative == "config.py" and target.exists():
            continue  # the target's own configuration (its database URL, its benches) stays
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = target.with_name(target.name + ".part")
        with archive.open(name) as src, open(tmp, "wb") as dst:
            while chunk := src.read(CHUNK):
                dst.write(chunk)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
        written += 1
    return written
