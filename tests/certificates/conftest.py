"""A fully complete conversion, built quickly and for real: every step of the Honda Jazz manual
signed through ``sign_step`` with serials received into stock, countersigns, a passing EOL run on
the centre's development bay (simulated car on a virtual CAN channel), engineer sign-offs and an approved inspection."""

from datetime import timedelta
from itertools import count

import pytest

from tests.factories import intake_fields
from workshop.accounts.services import grant_qualification
from workshop.certificates import demo
from workshop.columns import utcnow
from workshop.extensions import db
from workshop.inspection import services as inspection
from workshop.jobs import services as jobs
from workshop.kits.loader import load_kits
from workshop.manuals.loader import load_manuals

# A development bay of the crew's centre: python-can's virtual interface with the simulated car on
# its far end (evidence outside production); simulator benches never count for a certificate.
FAST_BENCH = {"interface": "virtual", "channel": "tcert", "centre": "CRT01", "car": "simulated"}
WORKER_QUALIFICATIONS = (
    "hv_awareness",
    "hv_qualified",
    "hv_live",
    "eol_operator",
    "conversion_honda_jazz",
)
VINS = (f"MRHGE8840BP{n:06d}" for n in count(300001))
STAGES = ("open", "signed", "submitted", "approved")


@pytest.fixture
def cert_app(app):
    app.config["EOL_BENCHES"] = {
        "BAY-T": dict(FAST_BENCH),
        "SIM-T": {"simulate": True, "channel": "tsim", "speed": 0},
    }
    app.config["PUBLIC_BASE_URL"] = "http://ws.test"
    return app


@pytest.fixture
def crew(cert_app, create_user, create_centre):
    """A centre with its technician, supervisor, inspector and two licensed engineers."""
    centre = create_centre(code="CRT01", name_th="ศูนย์ดัดแปลงทดสอบ", name_en="Test Conversion Centre")
    tech = create_user("technician", centre=centre, full_name="สมชาย ช่างดี")
    supervisor = create_user("supervisor", centre=centre, full_name="ประเสริฐ ควบคุมงาน")
    for user in (tech, supervisor):
        for code in WORKER_QUALIFICATIONS:
            grant_qualification(user, code)
    inspector = create_user("inspector", centres=[centre], full_name="ธนพล ตรวจละเอียด")
    mech = create_user("inspector", centres=[centre], full_name="วิศวกร เครื่องกล")
    elec = create_user("supervisor", centre=centre, full_name="วิศวกร ไฟฟ้า")
    expires = utcnow() + timedelta(days=365)
    inspection.record_licence(mech, "mechanical", "สก.12345", expires, None)
    inspection.record_licence(elec, "electrical", "ภฟ.67890", expires, None)
    # each engineer signs with their own key, issued by the development CA
    from workshop.certificates.engineer_keys import enrol_from_ca

    for engineer in (mech, elec):
        enrol_from_ca(engineer, cert_app.config, cert_app.instance_path)
    db.session.commit()
    return {
        "centre": centre,
        "tech": tech,
        "supervisor": supervisor,
        "inspector": inspector,
        "mech": mech,
        "elec": elec,
    }


@pytest.fixture
def build_job(cert_app, crew):
    """Factory: build_job(stage="approved", values=None, **intake) -> a Honda Jazz job at that
    stage (``values``: step values that replace the demo's).

    Stages: open (kit in stock), signed (every step signed and a passing EOL run),
    submitted (awaiting inspection), approved (sign-offs and approved inspection).
    """
    manual = load_manuals()["honda-jazz-ge"]
    kit = load_kits()["jazz-ev1"]
    invoices = count(1)

    def make(stage="approved", is_training=False, eol=True, values=None, **fields):
        assert stage in STAGES
        data = intake_fields(
            **{
                "vin": next(VINS),
                "plate": "3กต 2569",
                "year": 2011,
                "engine_number": "L15A7-1234567",
                "odometer_km": 143250,
                "curb_weight_kg": 1040,
                "owner_name": "สุดา แสงทอง",
                "owner_phone": "089 222 0202",
                **fields,
            }
        )
        job = jobs.open_job(
            crew["centre"],
            jobs.Intake(**data),
            manual,
            crew["supervisor"],
            kit=kit,
            is_training=is_training,
        )
        db.session.commit()
        n = next(invoices)
        demo.receive_full_kit(
            crew["centre"], crew["supervisor"], kit, f"T-{job.id}-{n}", f"S{job.id}"
        )
        db.session.commit()
        if stage == "open":
            return job
        demo.sign_every_step(
            job, crew["tech"], crew["supervisor"], cert_app.config["UPLOAD_FOLDER"], values
        )
        if eol:
            demo.run_passing_eol(cert_app, job, crew["tech"], "BAY-T")
        if stage == "signed":
            return job
        jobs.submit_for_inspection(job, crew["supervisor"])
        db.session.commit()
        if stage == "submitted":
            return job
        demo.approve_with_signoffs(job, crew["inspector"], crew["mech"], crew["elec"])
        return job

    return make


def add_world_certificate(job, users):
    """Rows for the route matrix: an open inspection with a finding, a licence, a certificate.

    The certificate row is inserted directly (its PDF is a stand-in): the matrix checks access,
    not issuing.
    """
    import hashlib
    import secrets

    from workshop.accounts.models import Role
    from workshop.certificates.models import Certificate
    from workshop.inspection.models import Inspection, InspectionFinding

    inspector, admin = users[Role.INSPECTOR], users[Role.ADMIN]
    inspection_row = Inspection(
        job=job, centre_id=job.centre_id, inspector=inspector, checklist_version="1.0", answers={}
    )
    finding = InspectionFinding(inspection=inspection_row, text="scratch", user=inspector)
    licence = inspection.record_licence(
        admin, "electrical", "TEST-1", utcnow() + timedelta(days=30), admin
    )
    pdf = b"%PDF-1.7 stand-in"
    certificate = Certificate(
        number=f"{job.centre.code}-2569-0001",
        centre_id=job.centre_id,
        year_be=2569,
        sequence=1,
        job_id=job.id,
        token=secrets.token_urlsafe(24),
        issued_by=inspector,
        pdf=pdf,
        pdf_sha256=hashlib.sha256(pdf).hexdigest(),
        pdf_size=len(pdf),
        summary={
            "number": f"{job.centre.code}-2569-0001",
            "make": "Honda",
            "model": "Jazz",
            "year": 2010,
            "centre_code": job.centre.code,
            "centre_th": "ศูนย์",
            "centre_en": "Centre",
            "vin_masked": "JHM••••••••••0001",
            "issued_be_th": "",
            "issued_ce_en": "",
        },
    )
    db.session.add_all([inspection_row, finding, certificate])
    db.session.flush()
    return {
        "inspection": inspection_row,
        "finding": finding,
        "licence": licence,
        "certificate": certificate,
    }
