"""The ``workshop`` command: Flask's commands plus the workshop's own."""

import os
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, ScriptInfo, run_command
from flask_migrate import upgrade

from workshop import create_app


def _create_app() -> object:
    return create_app()


cli = FlaskGroup(create_app=_create_app, help="EV conversion workshop.")


def upgrade_database() -> None:
    """Bring the database schema to the newest migration (safe to run every start)."""
    upgrade(directory=current_app.extensions["migrate"].directory, revision="heads")


@cli.command("create-user")
@click.argument("username")
@click.option("--name", "full_name", required=True, help="Full name shown in the app.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice(["technician", "supervisor", "trainer", "inspector", "admin"]),
)
@click.option(
    "--centre", "centre_code", help="Home centre code (technicians, supervisors, trainers)."
)
@click.option("--all-centres", is_flag=True, help="Inspectors and admins: every centre.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    envvar="WORKSHOP_PASSWORD",
    help="Asked for when not given (or set WORKSHOP_PASSWORD).",
)
def create_user_command(username, full_name, roles, centre_code, all_centres, password):
    """Create a user, e.g. the first admin: workshop create-user admin --name "…" --role admin --all-centres."""
    import sqlalchemy as sa

    from workshop.accounts import services
    from workshop.accounts.models import Centre
    from workshop.audit.services import Actor, set_actor
    from workshop.extensions import db

    upgrade_database()
    set_actor(Actor(None, "cli", "cli"))
    centre = None
    if centre_code:
        centre = db.session.scalar(sa.select(Centre).where(Centre.code == centre_code.upper()))
        if centre is None:
            raise click.UsageError(f"no centre with code {centre_code}")
    try:
        user = services.create_user(
            username=username,
            full_name=full_name,
            password=password,
            roles=roles,
            centre=centre,
            all_centres=all_centres,
        )
    except services.AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"created user {user.username} ({', '.join(sorted(roles))})")


# Simulated runs in the demo are paced this many times faster than a real car's physical waits,
# so people can watch the checks arrive; a busy computer makes them slower, never wrong.
DEMO_SPEED = 5.0


def demo_base_url(host: str, port: int) -> str:
    """The address the demo serves at, as a phone on the same network would reach it.

    A wildcard bind address (0.0.0.0, ::) is replaced by this machine's outward address; the
    UDP "connect" only picks a route and sends nothing.
    """
    import socket

    if host in ("0.0.0.0", "::", ""):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                probe.connect(("192.0.2.1", 9))
                host = probe.getsockname()[0]
        except OSError:
            host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


@cli.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Only create the demo data.")
def demo_command(host, port, no_serve):
    """Create the database and demo data (idempotently), print the logins and start the server."""
    from werkzeug.serving import run_simple

    from workshop.audit.services import Actor, set_actor
    from workshop.demo import seed_demo

    app = current_app._get_current_object()
    # The demo's QR codes and printed links must open on the address it serves.
    if not app.config.get("PUBLIC_BASE_URL"):
        app.config["PUBLIC_BASE_URL"] = demo_base_url(host, port)
    upgrade_database()
    set_actor(Actor(None, "demo", "cli"))
    logins = seed_demo()
    click.echo("Demo logins (username / password / role):")
    for login in logins:
        click.echo(f"  {login.username:<12} {login.password:<18} {login.role.value}")
    if no_serve:
        return
    import threading

    from workshop.eol.bench import run_agent

    # The demo's bench is the vehicle simulator, served by an agent thread next to the web
    # server (in production the agent is its own process: `workshop bench`).
    for bench in app.config["EOL_BENCHES"].values():
        if bench.get("simulate"):
            bench["speed"] = max(float(bench.get("speed", 1.0)), DEMO_SPEED)
    # The demo's bay bench stands at BKK01, where the demo jobs are.
    from workshop.certificates.demo import DEMO_BAY, DEMO_BAY_CONFIG

    app.config["EOL_BENCHES"].setdefault(DEMO_BAY, {}).update(DEMO_BAY_CONFIG)
    stop = threading.Event()
    threading.Thread(target=run_agent, args=(app,), kwargs={"stop": stop}, daemon=True).start()
    click.echo(f"Simulated EOL bench running ({DEMO_SPEED:g}x real time).")
    # Background tasks (issuing certificates, evidence bundles) run in a worker process on the
    # queue (Redis).
    import subprocess
    import sys

    worker = subprocess.Popen([sys.executable, "-m", "workshop.cli", "worker"])
    click.echo("Background worker running (queue on Redis).")
    click.echo(f"Open {app.config['PUBLIC_BASE_URL']}/ in a browser.")
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        stop.set()
        worker.terminate()


def gunicorn_argv(bind: str, workers: int) -> list[str]:
    """The production server's command line (also used by benchmarks/web.py)."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        bind,
        "--workers",
        str(workers),
        # Threads let one worker answer /healthz and quick pages while another request
        # renders a PDF; recycling workers now and then bounds any slow growth of memory.
        "--worker-class",
        "gthread",
        "--threads",
        "4",
        # The app is imported once in the master and forked: a recycled worker starts at once
        # instead of importing everything again (seconds on a busy machine, while the requests
        # queued at the exiting worker wait or are cut). Nothing connects at import.
        "--preload",
        # Recycling: every 20,000 requests or so, a worker is replaced. A new worker fills its
        # caches again (manuals, step forms, compiled statements, prepared statements) and its
        # first pages cost several times more; at 2,000 a busy server spent a noticeable share of
        # its CPU on that (every few seconds at full load).
        "--max-requests",
        "20000",
        "--max-requests-jitter",
        "2000",
        "--timeout",
        "60",
        "workshop.wsgi:app",
    ]


@cli.command("serve")
@click.option("--bind", default="0.0.0.0:8000", show_default=True)
@click.option("--workers", default=3, show_default=True, type=int)
def serve_command(bind, workers):
    """Upgrade the database, then run the production server (gunicorn)."""
    upgrade_database()
    argv = gunicorn_argv(bind, workers)
    os.execvp(argv[0], argv)


@click.command("run", params=run_command.params, help=run_command.help)
@click.pass_context
def upgraded_run(ctx, **kwargs):
    """Flask's development server, after upgrading the database."""
    with ctx.ensure_object(ScriptInfo).load_app().app_context():
        upgrade_database()
    ctx.invoke(run_command, **kwargs)


cli.add_command(upgraded_run, "run")


def main() -> None:
    """Entry point of the ``workshop`` console script."""
    cli.main(prog_name="workshop")


@cli.group("manuals")
def manuals_group():
    """Conversion manuals (checklists/manuals)."""


@manuals_group.command("check")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
def manuals_check(files):
    """Validate all manuals (or FILES): one line per manual or its error, then a WARNING for each
    safety measurement whose limits name no source; exit 1 on any error."""
    from workshop.manuals.loader import ManualError, check_manuals, summary_line

    try:
        results = check_manuals(list(files) or None)
    except ManualError as exc:
        click.echo(f"ERROR {exc}", err=True)
        raise SystemExit(1) from None
    failed = 0
    for _path, result in results:
        if isinstance(result, ManualError):
            failed += 1
            click.echo(f"ERROR {result}")
        else:
            click.echo(summary_line(result))
            for place in result.missing_sources():
                click.echo(
                    f"WARNING {_path.name}: {place}: a safety measurement whose limits name no "
                    'source (add source = "standard and clause, datasheet or document")'
                )
    if not results:
        click.echo("no manuals found", err=True)
        raise SystemExit(1)
    raise SystemExit(1 if failed else 0)


def _register_feature_commands() -> None:
    # Feature packages own their command groups; this is the one place they join `workshop`.
    from workshop.certificates.commands import certificates
    from workshop.eol.commands import eol_cli, simulate_command
    from workshop.kits.commands import kits

    cli.add_command(kits)
    cli.add_command(eol_cli)
    cli.add_command(certificates)
    # `workshop simulate` as the issue names it; `workshop eol simulate` is the same command.
    cli.add_command(simulate_command, "simulate")


_register_feature_commands()


@cli.command("bench")
@click.option("--bench", "benches", multiple=True, help="Bench name(s) to serve (default: all).")
@click.option("--once", is_flag=True, help="Run what is queued now, then exit.")
def bench_command(benches, once):
    """Run the bench agent: it owns the CAN adapter and executes queued EOL runs."""
    import logging

    from workshop.audit.services import Actor, set_actor
    from workshop.eol.bench import agent_name, run_agent

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    app = current_app._get_current_object()
    set_actor(Actor(None, f"bench {agent_name()}", "bench"))
    try:
        done = run_agent(app, list(benches) or None, once=once)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    except KeyboardInterrupt:
        return
    click.echo(f"{done} run(s) executed")


@cli.command("worker")
@click.option("--burst", is_flag=True, help="Run what is queued, then exit.")
def worker_command(burst):
    """Run background tasks (issuing certificates, evidence bundles) from the queue on Redis
    (REDIS_URL) until stopped.

    Run one (or more) next to the web server, as a systemd service; `workshop demo` starts one.
    """
    from redis.exceptions import RedisError

    from workshop.eol.sandbox import keep_ready
    from workshop.queue import run_worker

    if not burst:  # a trace check then starts in a sandbox that has already paid for its imports
        keep_ready()
    try:
        run_worker(current_app.config, burst=burst)
    except RedisError as exc:
        raise click.ClickException(f"the queue's Redis cannot be reached: {exc}") from None


@cli.command("reap-runs")
def reap_runs_command():
    """End EOL runs whose bench agent died as aborted, keeping their partial results and trace.

    Bench agents and the EOL screens do this too; run it from cron or a systemd timer (e.g.
    every minute) so that it happens even when no agent runs and nobody looks.
    """
    from workshop.audit.services import Actor, set_actor
    from workshop.eol.runs import reap_with_settings
    from workshop.extensions import db

    set_actor(Actor(None, "reap-runs", "cli"))
    reaped = reap_with_settings(current_app.config)
    db.session.commit()
    for run in reaped:
        click.echo(f"run {run.id}: aborted ({run.abort_code}), {len(run.checks)} check(s) kept")
    click.echo(f"{len(reaped)} run(s) reaped")


@cli.command("backup")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The backup file to write (ZIP).",
)
def backup_command(output):
    """Back up the database, the instance files and the uploads (safe while the app runs)."""
    from workshop.backup import create_backup
    from workshop.extensions import db

    manifest = create_backup(
        db.engine, current_app.instance_path, current_app.config["UPLOAD_FOLDER"], output
    )
    rows = manifest["database"]["rows"]
    files = sum(1 for name in manifest["members"] if name.startswith("files/"))
    click.echo(
        f"backup written to {output}: {sum(rows.values())} rows in {len(rows)} tables, "
        f"{files} files, schema {' + '.join(manifest['database']['revisions'])}"
    )


@cli.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore_command(archive):
    """Restore a backup into an empty instance (checked against its manifest first)."""
    import zipfile

    import sqlalchemy as sa
    from alembic.util import CommandError

    from workshop.backup import BackupError, instance_problems, load_rows, read_manifest
    from workshop.backup import restore_files as write_files
    from workshop.extensions import db

    instance = Path(current_app.instance_path)
    uploads = Path(current_app.config["UPLOAD_FOLDER"])
    try:
        with zipfile.ZipFile(archive) as zf:
            manifest = read_manifest(zf)  # every member checked before anything is written
            problems = instance_problems(db.engine, instance, uploads)
            if problems:
                raise BackupError("the instance is not empty: " + "; ".join(problems[:5]))
            wanted = manifest["database"]["revisions"]
            with db.engine.connect() as conn:
                has_schema = sa.inspect(conn).has_table("alembic_version")
                current = (
                    sorted(conn.scalars(sa.text("SELECT version_num FROM alembic_version")))
                    if has_schema
                    else []
                )
            if current and current != wanted:
                raise BackupError(
                    f"the database already has schema {current}; the backup needs {wanted}: "
                    "restore into a database without tables"
                )
            directory = current_app.extensions["migrate"].directory
            for revision in wanted:
                upgrade(directory=directory, revision=revision)
            with db.engine.begin() as conn:
                load_rows(zf, manifest, conn)
            upgrade_database()  # a backup of an older version comes up to this version
            written = write_files(zf, instance, uploads)
    except (BackupError, zipfile.BadZipFile, CommandError) as exc:
        raise click.ClickException(str(exc)) from None
    rows = manifest["database"]["rows"]
    click.echo(f"restored {sum(rows.values())} rows in {len(rows)} tables and {written} files")


if __name__ == "__main__":
    main()
