"""``workshop certificates ...``: list issued certificates and write a stored PDF."""

import hashlib
from pathlib import Path

import click
from flask.cli import AppGroup


@click.group("certificates", cls=AppGroup)
def certificates() -> None:
    """Conversion certificates as issued."""


@certificates.command("list")
def list_command() -> None:
    """Print every issued certificate: number, issue date, status, vehicle."""
    from workshop.accounts.access import CentreScope
    from workshop.certificates.services import list_certificates

    class _Everything:
        is_authenticated = True
        all_centres = True

    for c in reversed(list_certificates(CentreScope(_Everything()), limit=100_000)):
        status = "revoked" if c.revoked else "valid"
        s = c.summary
        click.echo(
            f"{c.number}  {c.issued_at:%Y-%m-%d}  {status:<7}  {s['make']} {s['model']} {s['year']}"
        )


def _output_option(what: str):
    return click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=False, path_type=Path),
        required=True,
        help=f"File to write the {what} to.",
    )


def _certificate(number: str):
    from workshop.certificates.services import certificate_by_number

    certificate = certificate_by_number(number)
    if certificate is None:
        raise click.ClickException(f"no certificate {number}")
    return certificate


def _written(certificate, output: Path, data: bytes) -> None:
    output.write_bytes(data)
    click.echo(
        f"{certificate.number}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}"
    )


@certificates.command("pdf")
@click.argument("number")
@_output_option("PDF")
def pdf_command(number: str, output: Path) -> None:
    """Write the stored PDF of certificate NUMBER, exactly as issued."""
    certificate = _certificate(number)
    _written(certificate, output, certificate.pdf)


@certificates.command("bundle")
@click.argument("number")
@_output_option("ZIP")
def bundle_command(number: str, output: Path) -> None:
    """Write the evidence bundle of certificate NUMBER (the dossier for the registration office)."""
    from flask import current_app

    from workshop.certificates.evidence import build_evidence_bundle

    certificate = _certificate(number)
    _written(
        certificate, output, build_evidence_bundle(certificate, current_app.config["UPLOAD_FOLDER"])
    )


@certificates.command("blockers")
@click.argument("references", nargs=-1)
@click.option("--all", "all_jobs", is_flag=True, help="Every job that is not cancelled.")
def blockers_command(references, all_jobs) -> None:
    """What stands between each job and its certificate: one line per job.

    ``JOB: ready`` or ``JOB: code[, code...] — message; message``. A certified job prints
    ``JOB: certified``. Exit 0 when every job is ready or certified, 1 otherwise.
    """
    from workshop.certificates.services import certificate_blockers, jobs_for_blockers
    from workshop.jobs.models import JobStatus

    if bool(references) == all_jobs:
        raise click.UsageError("name one or more jobs (e.g. BKK01-00042), or use --all")
    all_ready = True
    for reference, job in jobs_for_blockers(references, all_jobs=all_jobs):
        if job is None:
            all_ready = False
            click.echo(f"{reference}: not_found — no such job")
            continue
        if job.status == JobStatus.CERTIFIED:
            click.echo(f"{job.reference}: certified")
            continue
        found = certificate_blockers(job)
        if not found:
            click.echo(f"{job.reference}: ready")
            continue
        all_ready = False
        codes = list(dict.fromkeys(b.code for b in found))
        messages = "; ".join(b.message for b in found)
        click.echo(f"{job.reference}: {', '.join(codes)} — {messages}")
    raise SystemExit(0 if all_ready else 1)


@certificates.command("trust-root")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to write the PEM certificate(s) to.",
)
def trust_root_command(output: Path) -> None:
    """Write the trust anchor(s) that certificate signatures chain to, as PEM (in development,
    the development CA), for pyHanko, Acrobat or an auditor to validate PDFs against."""
    from flask import current_app

    from workshop.certificates.pki import cert_pem as pem
    from workshop.certificates.pki import is_development_root, trust_roots

    roots = trust_roots(current_app.config, current_app.instance_path)
    output.write_bytes(b"".join(pem(root) for root in roots))
    for root in roots:
        mark = "  (DEVELOPMENT: not valid for registration)" if is_development_root(root) else ""
        click.echo(f"{root.subject.rfc4514_string()}{mark}")
