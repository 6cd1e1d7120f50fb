"""Signatures a relying party can check (issue 10, items 4 and 5): each engineer's own key, the
centre's closing signature, the trust anchor, enrolment refusals and the production refusal."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12

from tests.certificates.test_pdf import issued  # noqa: F401  (fixture)
from workshop.certificates import engineer_keys, pki, services
from workshop.certificates.models import SigningKey
from workshop.cli import cli
from workshop.extensions import db


def _pkcs12(key, cert, passphrase=b"correct horse"):
    return pkcs12.serialize_key_and_certificates(
        b"engineer", key, cert, None, serialization.BestAvailableEncryption(passphrase)
    )


def _dev_ca(app):
    return pki.load_ca(*pki.development_ca(app.instance_path))


def test_the_verification_page_lists_the_three_signatures(issued, client, crew):  # noqa: F811
    page = client.get(f"/verify/{issued.token}")
    assert page.status_code == 200
    rows = page.text.split('id="signatures"')[1].split("</table>")[0]
    assert rows.count("<tr data-field=") == 3
    for name in (crew["mech"].full_name, crew["elec"].full_name):
        assert name in rows
    assert "สก.12345" in rows and "ภฟ.67890" in rows
    assert rows.count("badge-ok") == 3


def test_trust_root_command_writes_the_anchor_the_pdf_validates_against(
    issued,  # noqa: F811
    cert_app,
    tmp_path,
):
    from workshop.certificates.signing import signature_status

    out = tmp_path / "root.pem"
    r = cert_app.test_cli_runner().invoke(cli, ["certificates", "trust-root", "-o", str(out)])
    assert r.exit_code == 0 and "DEVELOPMENT" in r.output
    status = signature_status(issued.pdf, [out])
    assert status["valid"] and len(status["signatures"]) == 3


def test_an_engineer_without_a_signing_key_blocks_the_certificate(build_job, crew):
    job = build_job(stage="approved")
    for key in engineer_keys.active_keys(crew["elec"]):
        key.revoked_at = key.created_at
    db.session.flush()
    blockers = services.certificate_blockers(job)
    assert [b.code for b in blockers] == ["signing_key_missing"]
    assert crew["elec"].full_name in blockers[0].message


@pytest.mark.parametrize(
    "missing",
    [
        "CERTIFICATE_SIGNING_KEY",
        "CERTIFICATE_SIGNING_CERT",
        "CERTIFICATE_SIGNING_CHAIN",
        "CERTIFICATE_TRUST_ROOTS",
        "PUBLIC_BASE_URL",
    ],
)
def test_production_refuses_to_issue_naming_the_missing_setting(cert_app, missing):
    config = {
        "WORKSHOP_ENV": "production",
        "CERTIFICATE_SIGNING_KEY": "/k.pem",
        "CERTIFICATE_SIGNING_CERT": "/c.pem",
        "CERTIFICATE_SIGNING_CHAIN": "/ca.pem",
        "CERTIFICATE_TRUST_ROOTS": "/roots.pem",
        "PUBLIC_BASE_URL": "https://ws.example",
    }
    config[missing] = ""
    with cert_app.test_request_context():
        assert missing in services.issuing_setup_problem(config)
        assert services.issuing_setup_problem({**config, missing: "x"}) is None
        assert services.issuing_setup_problem({}) is None  # development: nothing required


def test_pkcs12_from_the_trust_anchor_is_enrolled(cert_app, crew):
    ca_key, ca_cert = _dev_ca(cert_app)
    key, cert = pki.issue(ca_key, ca_cert, "Engineer Uploaded")
    entry = engineer_keys.enrol_pkcs12(
        crew["mech"], _pkcs12(key, cert), "correct horse", cert_app.config, cert_app.instance_path
    )
    db.session.commit()
    assert entry.source == "pkcs12" and engineer_keys.active_key(crew["mech"]) == entry
    # the private key is stored encrypted, and the app can open it
    assert "ENCRYPTED" in entry.key_pem
    assert b"PRIVATE KEY" in engineer_keys.private_key_pem(entry, cert_app.config)


def _foreign(cert_app):
    # another CA, in a folder of this test's own (the uploads' parent is the test's tmp_path),
    # never the app's instance folder and never /tmp where it would outlive the run
    folder = Path(cert_app.config["UPLOAD_FOLDER"]).parent / "stranger-ca"
    other = pki.load_ca(*pki.development_ca(folder))
    return pki.issue(*other, "Someone Else")


def _expired(cert_app):
    ca_key, ca_cert = _dev_ca(cert_app)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Old")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=400))
        .not_valid_after(now - timedelta(days=30))
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


@pytest.mark.parametrize(
    "make, passphrase, message",
    [
        (lambda app: pki.issue(*_dev_ca(app), "Fine"), "wrong", "passphrase is wrong"),
        (_expired, "correct horse", "not today"),
        (_foreign, "correct horse", "trust anchor"),
    ],
    ids=["wrong passphrase", "expired", "another CA"],
)
def test_bad_pkcs12_is_refused_and_stores_nothing(cert_app, crew, make, passphrase, message):
    key, cert = make(cert_app)
    before = db.session.query(SigningKey).count()
    with pytest.raises(engineer_keys.SigningKeyError) as refused:
        engineer_keys.enrol_pkcs12(
            crew["mech"], _pkcs12(key, cert), passphrase, cert_app.config, cert_app.instance_path
        )
    assert message in str(refused.value)
    db.session.rollback()
    assert db.session.query(SigningKey).count() == before


def test_only_licensed_engineers_enrol(cert_app, crew):
    with pytest.raises(engineer_keys.SigningKeyError, match="engineer licence"):
        engineer_keys.enrol_from_ca(crew["tech"], cert_app.config, cert_app.instance_path)


@pytest.fixture
def local_tsa(cert_app):
    """An RFC 3161 time-stamping authority over real HTTP (pyHanko's DummyTimeStamper behind a
    threaded HTTP server), its certificate issued by the development CA."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from asn1crypto import keys as asn1_keys
    from asn1crypto import tsp
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives.asymmetric import rsa
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    ca_key, ca_cert = _dev_ca(cert_app)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # pyHanko's is RSA-only
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Test TSA")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    as_cert = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    as_key = asn1_keys.PrivateKeyInfo.load(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    stamper = DummyTimeStamper(
        tsa_cert=as_cert,
        tsa_key=as_key,
        certs_to_embed=SimpleCertificateStore.from_certs([as_cert]),
    )
    served = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the http.server API
            body = self.rfile.read(int(self.headers["Content-Length"]))
            response = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
            served.append(len(body))
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(response)))
            self.end_headers()
            self.wfile.write(response)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/", served
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_a_configured_tsa_timestamps_every_signature(build_job, crew, cert_app, local_tsa):
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    url, served = local_tsa
    cert_app.config["TIMESTAMP_URL"] = url
    try:
        certificate = services.issue_certificate(build_job(stage="approved"), crew["inspector"])
    finally:
        cert_app.config.pop("TIMESTAMP_URL")
    signatures = PdfFileReader(io.BytesIO(certificate.pdf), strict=False).embedded_signatures
    assert len(signatures) == 3 and len(served) >= 3  # (pyHanko also asks once to size it)
    for signature in signatures:  # each carries an RFC 3161 signature timestamp token
        attributes = signature.signer_info["unsigned_attrs"]
        assert "signature_time_stamp_token" in [a["type"].native for a in attributes]


def test_an_engineer_enrols_from_their_page(client, auth, crew, cert_app):
    for key in engineer_keys.active_keys(crew["mech"]):
        key.revoked_at = key.created_at
    db.session.commit()
    auth.login(crew["mech"].username)
    assert 'id="no-signing-key"' in client.get("/certificates/signing-key").text
    r = client.post("/certificates/signing-key", data={"action": "issue"})
    assert r.status_code == 302
    page = client.get("/certificates/signing-key").text
    assert 'id="signing-key"' in page and crew["mech"].full_name in page
    r = client.post("/certificates/signing-key", data={"action": "upload"}, follow_redirects=True)
    assert "flash-error" in r.text


def _stamp_font_programs(xobject, found):
    """The embedded font programs (FontFile2) an appearance stream draws with, nested forms too."""
    resources = xobject.get("/Resources") or {}
    for font in (resources.get("/Font") or {}).values():
        for descendant in font.get_object().get("/DescendantFonts", []):
            descriptor = descendant.get_object()["/FontDescriptor"].get_object()
            found.append(descriptor["/FontFile2"].get_object().get_data())
    for inner in (resources.get("/XObject") or {}).values():
        _stamp_font_programs(inner.get_object(), found)
    return found


def test_each_stamp_embeds_the_shaped_glyphs_of_its_signer(issued, crew):  # noqa: F811
    import io

    import uharfbuzz as hb
    from fontTools.ttLib import TTFont
    from pypdf import PdfReader

    from workshop.certificates.signing import _font_bytes, _font_path

    sarabun = hb.Font(hb.Face(_font_bytes(_font_path())))

    def glyphs(text):
        buf = hb.Buffer()
        buf.add_str(text)
        buf.guess_segment_properties()
        hb.shape(sarabun, buf)
        return {info.codepoint for info in buf.glyph_infos}

    page = PdfReader(io.BytesIO(issued.pdf)).pages[-1]
    stamps = {}
    for annot in page["/Annots"]:
        annot = annot.get_object()
        if annot.get("/FT") == "/Sig":
            stamps[annot["/T"]] = _stamp_font_programs(annot["/AP"]["/N"].get_object(), [])
    assert sorted(stamps) == ["Centre", "Electrical", "Mechanical"]
    for field, engineer, role in (
        ("Mechanical", crew["mech"], "วิศวกรเครื่องกล · Mechanical engineer"),
        ("Electrical", crew["elec"], "วิศวกรไฟฟ้า · Electrical engineer"),
    ):
        (program,) = stamps[field]
        font = TTFont(io.BytesIO(program))
        assert "GSUB" not in font and "GPOS" not in font  # shaped already; not embedded
        order, glyf = font.getGlyphOrder(), font["glyf"]
        # The glyph ids HarfBuzz shaped (Thai marks included) keep their outlines in the subset.
        for gid in glyphs(f"{engineer.full_name} {role}") - glyphs(" "):
            assert glyf[order[gid]].numberOfContours != 0, (field, gid)
