"""Walk every registered route with every role and an anonymous user.

EXPECTED is the access policy written out: a route missing from it fails the test, so each new
feature states who may use its screens as soon as its routes exist. Routes with URL arguments
get them from ARGS, built on a small world of two centres.
"""

import pytest

from tests.factories import make_intake
from workshop.accounts.access import access_of
from workshop.accounts.models import Role

ANYONE = "public"
LOGGED_IN = "any logged-in user"
T, S, TR, INS, A = Role.TECHNICIAN, Role.SUPERVISOR, Role.TRAINER, Role.INSPECTOR, Role.ADMIN
ROLES = [T, S, TR, INS, A]

EXPECTED = {
    "core.home": LOGGED_IN,
    "core.healthz": ANYONE,
    "core.font": ANYONE,
    "core.set_language": ANYONE,
    "accounts.login": ANYONE,
    "accounts.logout": LOGGED_IN,
    "accounts.change_password": LOGGED_IN,
    "accounts.list_centres": {A},
    "accounts.create_centre": {A},
    "accounts.edit_centre": {A},
    "accounts.list_users": {A},
    "accounts.create_user": {A},
    "accounts.edit_user": {A},
    "accounts.end_user_sessions": {A},
    "audit.list_events": {A},
    "accounts.user_qualifications": {A},
    "accounts.revoke_qualification": {A},
    "jobs.list_jobs": {T, S, INS, A},
    "jobs.create_job": {S},
    "jobs.show_job": {T, S, INS, A},
    "jobs.show_step": {T, S, INS, A},
    "jobs.sign_step": {T, S},
    "jobs.countersign_step": {T, S},
    "jobs.upload_photo": {T, S},
    "jobs.photo": {T, S, INS, A},
    "jobs.submit_job": {S},
    "jobs.cancel_job": {S},
    "instruments.instrument_register": {T, S, INS, A},
    "instruments.retire_instrument": {S},
    "instruments.instrument_certificate": {T, S, INS, A},
    "eol.job_runs": {T, S, INS, A},
    "eol.start_run": {T, S},
    "eol.run_report_pdf": {T, S, INS, A},
    "eol.show_run": {T, S, INS, A},
    "eol.run_status": {T, S, INS, A},
    "eol.cancel_run": {T, S},
    "eol.download_trace": {T, S, INS, A},
    "eol.check_trace": {T, S, INS, A},
    "eol.trace_check": {T, S, INS, A},
    "eol.trace_check_status": {T, S, INS, A},
    "kits.catalogue": {T, S, INS, A},
    "kits.show_kit": {T, S, INS, A},
    "kits.kit_bom_csv": {T, S, INS, A},
    "kits.stock_levels": {T, S},
    "kits.stock_csv": {T, S},
    "kits.receive_delivery": {S},
    "kits.show_delivery": {T, S, INS, A},
    "kits.show_component": {T, S, INS, A},
    "kits.move_component": {S},
    "kits.search_serial": {T, S, INS, A},
    "kits.vehicle_trace": {S, INS, A},
    "kits.battery_register": {S, INS, A},
    "kits.cost_sheet": {S, INS, A},
    "kits.cost_sheet_csv": {S, INS, A},
    "kits.add_cost_line": {S},
    "kits.consume_stock": {S},
    "kits.cost_report": {S, INS, A},
    "kits.cost_report_csv": {S, INS, A},
    "inspection.queue": {INS},
    "inspection.show_job": {INS, A},
    "inspection.start": {INS},
    "inspection.save_checklist": {INS},
    "inspection.add_finding": {INS},
    "inspection.finding_photo": {T, S, INS, A},
    "inspection.decide": {INS},
    "inspection.sign_off": {S, INS},
    "inspection.licences": {A},
    "inspection.revoke_licence": {A},
    "certificates.list_certificates": {INS, A},
    "certificates.issue": {INS},
    "certificates.issue_status": {INS, A},
    "certificates.show": {INS, A},
    "certificates.download": {INS, A},
    "certificates.evidence_bundle": {INS, A},
    "certificates.prepare_evidence": {INS, A},
    "certificates.signing_key": {S, INS},
    "certificates.evidence_status": {INS, A},
    "certificates.handover_sheet": {S, INS, A},
    "certificates.revoke": {INS, A},
    "certificates.verify": ANYONE,
    "certificates.verify_upload": ANYONE,
    "training.index": {T, S, TR, A},
    "training.catalogue": LOGGED_IN,
    "training.create_session": {TR},
    "training.show_session": {T, S, TR, A},
    "training.enrol": {TR},
    "training.join": {T, S},
    "training.withdraw": {T, S, TR},
    "training.record_attendance": {TR},
    "training.projector": {TR},
    "training.attend": {T, S},
    "training.record_scores": {TR},
    "training.complete_session": {TR},
    "training.certificate_pdf": {T, S, TR, A},
    "training.verify_certificate": ANYONE,
    "training.create_drill": {TR},
    "training.show_drill": {T, S, TR, A},
    "training.start_attempt": {T, S},
    "training.show_attempt": {T, S, TR, A},
    "training.run_drill": {T, S},
    "training.submit_diagnosis": {T, S},
    "training.oversight": {S, A},
    "training.my_qualifications": LOGGED_IN,
}


def ARGS(world):
    return {
        "core.font": {"name": "Sarabun-Regular.ttf"},
        "core.set_language": {"lang": "en"},
        "accounts.edit_centre": {"centre_id": world["centre"].id},
        "accounts.edit_user": {"user_id": world["users"][T].id},
        "accounts.end_user_sessions": {"user_id": world["users"][T].id},
        "accounts.user_qualifications": {"user_id": world["users"][T].id},
        "accounts.revoke_qualification": {"grant_id": world["grant"].id},
        "jobs.show_job": {"job_id": world["job"].id},
        "eol.trace_check": {"check_id": world["trace_check"].id},
        "eol.trace_check_status": {"check_id": world["trace_check"].id},
        "jobs.show_step": {"job_id": world["job"].id, "step_id": "intake-01"},
        "jobs.sign_step": {"job_id": world["job"].id, "step_id": "intake-01"},
        "jobs.countersign_step": {"job_id": world["job"].id, "step_id": "hv-01"},
        "jobs.upload_photo": {"job_id": world["job"].id, "step_id": "intake-01"},
        "jobs.photo": {"job_id": world["job"].id, "photo_id": world["photo"].id},
        "jobs.submit_job": {"job_id": world["job"].id},
        "jobs.cancel_job": {"job_id": world["job"].id},
        "instruments.retire_instrument": {"instrument_id": world["instrument"].id},
        "instruments.instrument_certificate": {"instrument_id": world["instrument"].id},
        "eol.job_runs": {"job_id": world["job"].id},
        "eol.start_run": {"job_id": world["job"].id},
        "eol.run_report_pdf": {"run_id": world["run"].id},
        "eol.show_run": {"run_id": world["run"].id},
        "eol.run_status": {"run_id": world["run"].id},
        "eol.cancel_run": {"run_id": world["run"].id},
        "eol.download_trace": {"run_id": world["run"].id},
        "kits.show_kit": {"kit_id": "jazz-ev1"},
        "kits.kit_bom_csv": {"kit_id": "jazz-ev1"},
        "kits.show_delivery": {"delivery_id": world["delivery"].id},
        "kits.show_component": {"component_id": world["component"].id},
        "kits.move_component": {"component_id": world["component"].id},
        "kits.vehicle_trace": {"vehicle_id": world["job"].vehicle_id},
        "kits.battery_register": {"vehicle_id": world["job"].vehicle_id, "fmt": "json"},
        "kits.cost_sheet": {"job_id": world["job"].id},
        "kits.cost_sheet_csv": {"job_id": world["job"].id},
        "kits.add_cost_line": {"job_id": world["job"].id},
        "kits.consume_stock": {"job_id": world["job"].id},
        "inspection.show_job": {"job_id": world["job"].id},
        "inspection.start": {"job_id": world["job"].id},
        "inspection.save_checklist": {"inspection_id": world["inspection"].id},
        "inspection.add_finding": {"inspection_id": world["inspection"].id},
        "inspection.finding_photo": {"finding_id": world["finding"].id},
        "inspection.decide": {"inspection_id": world["inspection"].id},
        "inspection.sign_off": {"job_id": world["job"].id},
        "inspection.revoke_licence": {"licence_id": world["licence"].id},
        "certificates.issue": {"job_id": world["job"].id},
        "certificates.issue_status": {"job_id": world["job"].id},
        "certificates.show": {"certificate_id": world["certificate"].id},
        "certificates.download": {"certificate_id": world["certificate"].id},
        "certificates.evidence_bundle": {"certificate_id": world["certificate"].id},
        "certificates.prepare_evidence": {"certificate_id": world["certificate"].id},
        "certificates.evidence_status": {"certificate_id": world["certificate"].id},
        "certificates.handover_sheet": {"certificate_id": world["certificate"].id},
        "certificates.revoke": {"certificate_id": world["certificate"].id},
        "certificates.verify": {"token": world["certificate"].token},
        **_training_args(world),
    }


def _training_args(world):
    session, drill = world["training_session"], world["drill"]
    return {
        "training.show_session": {"session_id": session.id},
        "training.enrol": {"session_id": session.id},
        "training.join": {"session_id": session.id},
        "training.withdraw": {"enrolment_id": world["enrolment"].id},
        "training.record_attendance": {"session_id": session.id},
        "training.projector": {"session_id": session.id},
        "training.attend": {"token": world["attendance_token"]},
        "training.record_scores": {"session_id": session.id},
        "training.complete_session": {"session_id": session.id},
        "training.certificate_pdf": {"certificate_id": world["training_certificate"].id},
        "training.verify_certificate": {"code": world["training_certificate"].verify_code},
        "training.show_drill": {"drill_id": drill.id},
        "training.start_attempt": {"drill_id": drill.id},
        "training.show_attempt": {"attempt_id": world["attempt"].id},
        "training.run_drill": {"attempt_id": world["attempt"].id},
        "training.submit_diagnosis": {"attempt_id": world["attempt"].id},
    }


def _training_world(app, users):
    from datetime import timedelta

    from workshop.extensions import db
    from workshop.training import assessments as training_assessments
    from workshop.training import drills as training_drills
    from workshop.training import services as training

    start = training.bangkok_today() + timedelta(days=7)
    session = training.create_session(
        users[TR], "HV-AW", place="Room 1", starts_on=start, ends_on=start, capacity=5
    )
    enrolment = training.enrol_trainee(session, users[T], by=users[TR])
    certificate = training_assessments.issue_training_certificate(
        enrolment, [], app.config["UPLOAD_FOLDER"], lambda code: f"http://x/{code}"
    )
    drill = training_drills.create_drill(
        users[TR], title="D", kit_id="jazz-ev1", faults=["hvil_open"], sequences=["ecu"]
    )
    attempt = training_drills.start_attempt(drill, users[T])
    db.session.commit()
    return {
        "training_session": session,
        "enrolment": enrolment,
        "training_certificate": certificate,
        "attendance_token": training.attendance_token(session, start, app.config["SECRET_KEY"]),
        "drill": drill,
        "attempt": attempt,
    }


@pytest.fixture
def world(app, create_centre, create_user):
    centre = create_centre(code="HOME1")
    other = create_centre(code="OTHER")
    users = {
        T: create_user(T, centre=centre),
        S: create_user(S, centre=centre),
        TR: create_user(TR, centre=centre),
        INS: create_user(INS, centres=[centre]),
        A: create_user(A),
    }
    from tests.jobs.conftest import TEST_MANUAL, png_bytes
    from workshop.accounts.services import grant_qualification
    from workshop.extensions import db
    from workshop.jobs import services as jobs
    from workshop.manuals.loader import load_manual

    grant = grant_qualification(users[T], "hv_awareness")
    job = jobs.open_job(
        centre,
        make_intake(vin="JHMGE8H5000000001"),
        load_manual(TEST_MANUAL),
        users[S],
    )
    grant_qualification(users[T], "conversion_honda_jazz")
    photo = jobs.add_photo(
        job, "intake-01", "vin_photo", png_bytes(), users[T], app.config["UPLOAD_FOLDER"]
    )
    from decimal import Decimal

    from workshop.kits import receiving
    from workshop.kits.models import Component

    delivery = receiving.receive_delivery(
        centre,
        users[S],
        supplier="Cells Co.",
        invoice_number="INV-1",
        lines=[
            receiving.ReceiveLine("jazz-ev1", "JZ1-BAT-0001", Decimal("1500.00"), serials=("C1",))
        ],
    )
    from workshop.columns import utcnow
    from workshop.eol.models import EolRun

    run = EolRun(
        job_id=job.id,
        centre_id=centre.id,
        kit_id="jazz-ev1",
        bench="SIM-1",
        sequences=["ecu"],
        requested_by=users[T],
        requested_at=utcnow(),
    )
    db.session.add(run)
    from workshop.eol.models import TraceCheck

    trace_check = TraceCheck(
        user_id=users[T].id, kit_id="jazz-ev1", filename="t.blf", status="done", result=None
    )
    db.session.add(trace_check)
    from workshop.certificates.demo import register_demo_instruments
    from workshop.jobs.models import Instrument

    register_demo_instruments(centre, users[S], app.config["UPLOAD_FOLDER"])
    instrument = db.session.scalar(db.select(Instrument).order_by(Instrument.id))
    from tests.certificates.conftest import add_world_certificate

    world_certificates = add_world_certificate(job, users)
    db.session.commit()
    return {
        **world_certificates,
        "run": run,
        "trace_check": trace_check,
        "delivery": delivery,
        "component": db.session.scalar(db.select(Component)),
        "centre": centre,
        "other": other,
        "users": users,
        "job": job,
        "photo": photo,
        "instrument": instrument,
        "grant": grant,
        **_training_world(app, users),
    }


def routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods & {"GET", "POST"}):
            yield rule, method


def test_every_route_declares_access_and_is_in_the_policy(app):
    missing_rule = [r.endpoint for r, _ in routes(app) if access_of(r.endpoint) is None]
    assert missing_rule == [], "views without @requires/@public"
    unknown = sorted({r.endpoint for r, _ in routes(app)} - EXPECTED.keys())
    assert unknown == [], "routes missing from EXPECTED in this test"
    stale = sorted(EXPECTED.keys() - {r.endpoint for r, _ in routes(app)})
    assert stale == [], "EXPECTED names routes that no longer exist"


def test_declared_access_matches_policy(app):
    for endpoint, policy in EXPECTED.items():
        access = access_of(endpoint)
        if policy == ANYONE:
            assert access.public, endpoint
        elif policy == LOGGED_IN:
            assert not access.public and not access.roles, endpoint
        else:
            assert not access.public and access.roles == policy, endpoint


def _call(app, rule, method, kwargs, user=None):
    from tests.conftest import TEST_PASSWORD

    client = app.test_client()
    if user is not None:
        r = client.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
        assert r.status_code == 302, f"login failed for {user.username}"
    with app.test_request_context():
        from flask import url_for

        url = url_for(rule.endpoint, **kwargs)
    response = client.open(url, method=method)
    response.close()  # file responses (fonts) stream; close them
    return response


def test_route_role_matrix(app, client, world):
    """Anonymous users are sent to login, unauthorised roles get 403, allowed roles get through."""
    args = ARGS(world)
    failures = []
    for rule, method in routes(app):
        missing_args = set(rule.arguments) - set(args.get(rule.endpoint, {}))
        assert not missing_args, f"{rule.endpoint}: add URL arguments {missing_args} to ARGS"
        kwargs = args.get(rule.endpoint, {})
        policy = EXPECTED[rule.endpoint]
        # anonymous
        r = _call(app, rule, method, kwargs)
        if policy == ANYONE:
            if r.status_code in (403, 500) or r.headers.get("Location", "").startswith("/login"):
                failures.append((rule.endpoint, method, "anonymous", r.status_code))
        elif not (r.status_code == 302 and r.headers["Location"].startswith("/login")):
            failures.append((rule.endpoint, method, "anonymous", r.status_code))
        for role in ROLES:
            allowed = policy in (ANYONE, LOGGED_IN) or role in policy
            r = _call(app, rule, method, kwargs, world["users"][role])
            ok = r.status_code not in (403, 500) if allowed else r.status_code == 403
            if allowed and r.headers.get("Location", "").startswith("/login"):
                ok = rule.endpoint == "accounts.logout"
            if not ok:
                failures.append((rule.endpoint, method, role.value, r.status_code))
    assert failures == []


def test_forbidden_page_is_friendly(client, auth, create_user):
    tech = create_user("technician")
    auth.login(tech.username)
    r = client.get("/admin/users")
    assert r.status_code == 403
    assert "ไม่ได้รับอนุญาต" in r.text  # Thai by default
    assert "Traceback" not in r.text
