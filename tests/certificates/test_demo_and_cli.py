"""The demo's certified conversion and the one awaiting inspection; the certificates commands,
run the way a shell runs them: a fresh app, no context pushed by the test."""

import pypdfium2
import sqlalchemy as sa
import zxingcpp
from click.testing import CliRunner
from flask.cli import ScriptInfo

from workshop.certificates.models import Certificate
from workshop.cli import cli, demo_base_url
from workshop.extensions import db
from workshop.jobs.models import Job, JobStatus


def _invoke(app, *args):
    return CliRunner().invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: app))


def test_demo_shows_the_whole_flow_and_the_cli_reads_it(app_factory, tmp_path):
    app = app_factory()
    for _ in range(2):  # idempotent
        seeded = _invoke(app, "demo", "--no-serve", "--host", "127.0.0.1", "--port", "5102")
        assert seeded.exit_code == 0, seeded.output
    assert app.config["PUBLIC_BASE_URL"] == "http://127.0.0.1:5102"
    with app.app_context():
        (certificate,) = db.session.scalars(sa.select(Certificate))
        number, token, pdf = certificate.number, certificate.token, certificate.pdf
        statuses = sorted(j.status.value for j in db.session.scalars(sa.select(Job)))
    assert number.startswith("BKK01-") and number.endswith("-0001")
    assert statuses.count(JobStatus.CERTIFIED.value) == 1
    assert statuses.count(JobStatus.AWAITING_INSPECTION.value) == 1

    # The QR code points at the demo's own address, and that address answers.
    document = pypdfium2.PdfDocument(pdf)
    image = document[0].render(scale=2).to_pil()
    document.close()
    (qr,) = [r.text for r in zxingcpp.read_barcodes(image)]
    assert qr == f"http://127.0.0.1:5102/verify/{token}"
    page = app.test_client().get(qr.removeprefix("http://127.0.0.1:5102"))
    assert page.status_code == 200 and number in page.get_data(as_text=True)

    listed = _invoke(app, "certificates", "list")
    assert listed.exit_code == 0 and number in listed.output and "valid" in listed.output
    out = tmp_path / "c.pdf"
    written = _invoke(app, "certificates", "pdf", number, "-o", str(out))
    assert written.exit_code == 0, written.output
    assert out.read_bytes() == pdf
    missing = _invoke(app, "certificates", "pdf", "NOPE-1", "-o", str(out))
    assert missing.exit_code == 1 and "no certificate NOPE-1" in missing.output


def test_demo_address_for_a_wildcard_bind():
    assert demo_base_url("127.0.0.1", 8080) == "http://127.0.0.1:8080"
    assert demo_base_url("workshop.lan", 80) == "http://workshop.lan:80"
    wildcard = demo_base_url("0.0.0.0", 5000)
    assert wildcard.startswith("http://") and "0.0.0.0" not in wildcard


def test_links_refuse_production_without_a_public_address(app_factory):
    from workshop.links import ConfigurationError, public_url

    app = app_factory(WORKSHOP_ENV="production", PUBLIC_BASE_URL="")
    with app.app_context():
        try:
            public_url("certificates.verify", token="x")
        except ConfigurationError as exc:
            assert exc.setting == "PUBLIC_BASE_URL" and "PUBLIC_BASE_URL" in str(exc)
        else:
            raise AssertionError("production built a link without PUBLIC_BASE_URL")
    app = app_factory(PUBLIC_BASE_URL="https://ws.example.org/")
    with app.app_context():
        assert public_url("certificates.verify", token="x") == "https://ws.example.org/verify/x"
