"""The inspector's evidence bundle and the owner's handover sheet."""

import hashlib
import io
import json
import zipfile
from decimal import Decimal

import pytest
from pypdf import PdfReader

from tests.certificates.test_pdf import issued  # noqa: F401  (fixture)
from workshop.certificates.handover import EnergyFileError, energy_costs, load_energy


def test_evidence_bundle_holds_everything_with_hashes(
    issued,  # noqa: F811
    client,
    auth,
    crew,
    cert_app,
):
    """Built by a worker on the real queue (RQ on Redis), never inside the request."""
    from workshop.certificates.models import EvidenceBundle
    from workshop.extensions import db
    from workshop.queue import run_worker

    auth.login(crew["inspector"].username)
    # Nothing built yet: the download sends the inspector to the page that prepares it.
    r = client.get(f"/certificates/{issued.id}/evidence.zip")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/certificates/{issued.id}")
    assert client.get(f"/certificates/{issued.id}/evidence/status").json == {"status": "none"}
    r = client.post(f"/certificates/{issued.id}/evidence")
    assert r.status_code == 302
    status = client.get(f"/certificates/{issued.id}/evidence/status").json
    assert status["status"] == "queued"
    page = client.get(f"/certificates/{issued.id}").text
    assert "data-bundle-status-url" in page and 'id="prepare-evidence"' not in page
    # Asking again while it is queued queues nothing more.
    client.post(f"/certificates/{issued.id}/evidence")
    db.session.rollback()
    assert db.session.query(EvidenceBundle).count() == 1
    run_worker(cert_app.config, burst=True)
    status = client.get(f"/certificates/{issued.id}/evidence/status").json
    assert status["status"] == "ready" and status["progress"] == 1.0 and status["size"] > 0
    r = client.get(f"/certificates/{issued.id}/evidence.zip")
    assert r.status_code == 200 and r.mimetype == "application/zip"
    assert r.headers["ETag"] and "private" in r.headers["Cache-Control"]
    data = r.data
    r.close()
    assert f"{status['size']:,}" in client.get(f"/certificates/{issued.id}").text
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = archive.namelist()
    assert f"certificate/{issued.number}.pdf" in names
    assert archive.read(f"certificate/{issued.number}.pdf") == issued.pdf
    assert any(n.endswith("-trace.blf") for n in names)
    # each EOL report is the one stored when its run ended, byte for byte, not a new rendering
    from workshop.eol.runs import job_runs

    (run,) = [run for run in job_runs(issued.job) if run.finished]
    assert run.report_sha256
    report = archive.read(f"eol/run-{run.id}-report.pdf")
    assert hashlib.sha256(report).hexdigest() == run.report_sha256
    assert client.get(f"/eol/runs/{run.id}/report.pdf").data == report
    assert any(n.startswith("photos/") for n in names)
    records = json.loads(archive.read("steps/step_records.json"))
    assert records and all(r["signed_by"] for r in records)
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["vin"] == issued.job.vehicle.vin
    for name, digest in manifest["files"].items():
        assert hashlib.sha256(archive.read(name)).hexdigest() == digest
    # photos are named by step and input and listed with their labels
    photos = json.loads(archive.read("photos/index.json"))
    assert photos and all(p["file"] in names and p["label_en"] and p["label_th"] for p in photos)
    assert any(p["file"].startswith("photos/intake-01/vin_photo-1.") for p in photos)
    # the motor's stamped number, nameplate and purchase invoice, as the DLT asks
    inputs = {p["input"] for p in photos}
    assert {"motor_number_photo", "motor_nameplate_photo", "motor_invoice_photo"} <= inputs
    (invoice,) = [p for p in photos if p["input"] == "motor_invoice_photo"]
    assert invoice["file"].endswith("-1.pdf") and archive.read(invoice["file"]).startswith(b"%PDF-")
    assert manifest["files"][invoice["file"]] == invoice["sha256"]
    # the inspection and the engineers' sign-offs, with their licence numbers
    (inspection,) = json.loads(archive.read("inspection/inspections.json"))
    assert inspection["decision"] == "approved" and inspection["answers"]
    # the calibration record of every instrument a reading was taken with, and its certificate
    calibration = json.loads(archive.read("calibration/instruments.json"))
    kinds = {c["kind"] for c in calibration}
    assert {"insulation_tester", "milliohm_meter", "vehicle_scale"} <= kinds
    for entry in calibration:
        assert entry["readings"] and entry["due_on"] and entry["certificate_number"]
        assert archive.read(entry["certificate_file"]).startswith(b"%PDF-")
    assert any(r["instruments"] for r in records)
    signoffs = json.loads(archive.read("inspection/engineer_signoffs.json"))
    assert {s["branch"] for s in signoffs} == {"mechanical", "electrical"}
    assert all(s["licence_number"] and s["engineer"] for s in signoffs)


def test_the_bundle_from_the_command_line(issued, cert_app, tmp_path):  # noqa: F811
    from workshop.cli import cli

    out = tmp_path / "dossier.zip"
    result = cert_app.test_cli_runner().invoke(
        cli, ["certificates", "bundle", issued.number, "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    archive = zipfile.ZipFile(out)
    assert f"certificate/{issued.number}.pdf" in archive.namelist()
    assert hashlib.sha256(out.read_bytes()).hexdigest() in result.output
    missing = cert_app.test_cli_runner().invoke(
        cli, ["certificates", "bundle", "NO-SUCH", "-o", str(tmp_path / "x.zip")]
    )
    assert missing.exit_code != 0 and "no certificate NO-SUCH" in missing.output
    assert not (tmp_path / "x.zip").exists()


def test_handover_sheet(issued, client, auth, crew):  # noqa: F811
    auth.login(crew["inspector"].username)
    r = client.get(f"/certificates/{issued.id}/handover.pdf")
    assert r.status_code == 200 and r.data[:5] == b"%PDF-"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.data)).pages)
    assert issued.number in text and "22:00" in text and "2.4662" in text
    # the duty to re-register before driving, high-voltage advice, the range the usable energy gives
    assert "Land Traffic Act" in text and "2,000" in text
    assert "Orange cables" in text and "call 199" in text
    assert "about 113 km" in text and "15.8 kWh usable" in text


def test_the_job_page_links_the_handover_sheet_and_shows_the_signoffs(issued, client, auth, crew):  # noqa: F811
    """The job page of a certified job: its sign-offs in force and, for the office, the sheet."""
    link = f'id="handover-link" href="/certificates/{issued.id}/handover.pdf"'
    auth.login(crew["supervisor"].username)
    with client.get(f"/jobs/{issued.job_id}") as page:
        assert link in page.text
        panel = page.text.split('id="inspection-panel"')[1].split("</section>")[0]
        assert "สก.12345" in panel and "ภฟ.67890" in panel
    auth.logout()
    auth.login(crew["tech"].username)
    with client.get(f"/jobs/{issued.job_id}") as page:
        assert page.status_code == 200 and 'id="handover-link"' not in page.text


def test_energy_cost_arithmetic():
    costs = energy_costs("eco_car", Decimal("19.8"), Decimal("3"), usable_kwh=Decimal("15.8"))
    # 14 kWh/100 km at the battery / 0.90 charger = 15.556 kWh at the wall
    assert costs.home_off_peak == Decimal("41.02")  # 15.556 x 2.6369
    assert costs.public_charger == Decimal("92.81")  # 15.556 x (2.4662 + 3.50)
    assert costs.fuel == Decimal("247.00")  # 6.5 L x 38.00
    assert costs.saving_at_home == Decimal("205.98")
    assert costs.full_charge_hours == Decimal("7.3")  # within the programme's 8 h
    # 15.8 usable kWh / 14 kWh per 100 km: within the programme's 100-120 km, not 141 km
    assert costs.range_km == Decimal("113")


def test_broken_energy_file_is_named(tmp_path):
    bad = tmp_path / "energy.toml"
    bad.write_text('[tariffs]\nhome_off_peak_thb_per_kwh = "-1"\n')
    with pytest.raises(EnergyFileError, match="energy.toml"):
        load_energy(bad)


def test_an_unreachable_queue_is_said_and_changes_nothing(issued, client, auth, crew, cert_app):  # noqa: F811
    from workshop.certificates.models import EvidenceBundle
    from workshop.extensions import db

    cert_app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there
    auth.login(crew["inspector"].username)
    r = client.post(f"/certificates/{issued.id}/evidence", follow_redirects=True)
    assert "flash-error" in r.text
    db.session.rollback()
    assert db.session.query(EvidenceBundle).count() == 0


def test_a_run_from_before_stored_reports_is_rendered_and_says_so(issued, cert_app):  # noqa: F811
    from workshop.certificates.evidence import build_evidence_bundle
    from workshop.eol.runs import job_runs
    from workshop.extensions import db

    (run,) = [run for run in job_runs(issued.job) if run.finished]
    run.report_sha256 = ""  # as a run that ended before reports were kept
    db.session.commit()
    data = build_evidence_bundle(issued, cert_app.config["UPLOAD_FOLDER"])
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert f"eol/run-{run.id}-report-rendered-for-this-bundle.pdf" in names
    assert f"eol/run-{run.id}-report.pdf" not in names
