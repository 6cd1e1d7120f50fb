"""``workshop certificates ...``: list issued certificates and write a stored PDF."""

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


@certificates.command("pdf")
@click.argument("number")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to write the PDF to.",
)
def pdf_command(number: str, output: Path) -> None:
    """Write the stored PDF of certificate NUMBER, exactly as issued."""
    from workshop.certificates.services import certificate_by_number

    certificate = certificate_by_number(number)
    if certificate is None:
        raise click.ClickException(f"no certificate {number}")
    output.write_bytes(certificate.pdf)
    click.echo(
        f"{certificate.number}: {len(certificate.pdf)} bytes, sha256 {certificate.pdf_sha256}"
    )
