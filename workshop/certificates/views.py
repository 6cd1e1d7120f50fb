"""Certificates: issue, list, download, revoke; the public verification page."""

import io

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from workshop.accounts.access import centre_scope, get_in_scope_or_404, public, requires
from workshop.accounts.models import Role
from workshop.certificates import services
from workshop.certificates.forms import RevokeForm, UploadForm
from workshop.certificates.models import Certificate
from workshop.certificates.pdf import qr_data_uri
from workshop.extensions import db
from workshop.jobs.models import Job
from workshop.transactions import plain_rows, transaction
from workshop.web import flash_errors

bp = Blueprint("certificates", __name__)


# What pages of the features below show about a job's certificate, without importing this feature
# (a template of jobs or inspection calls these globals; imports go downward only).
bp.add_app_template_global(services.job_certificate, "job_certificate")
bp.add_app_template_global(services.certificate_blockers, "certificate_blockers")


@bp.app_template_global("certificate_issue_state")
def certificate_issue_state(job: Job):
    """The state of the job's latest request to issue its certificate (None: never asked)."""
    from workshop.certificates.issuing import issue_state

    return issue_state(job, current_app.config)


READERS = (Role.INSPECTOR, Role.ADMIN)
MAX_UPLOAD_BYTES = 10 * 1024 * 1024


@bp.route("/certificates/")
@requires(*READERS)
def list_certificates():
    """Issued certificates of the user's centres with their status."""
    return render_template(
        "certificates/list.html", certificates=services.list_certificates(centre_scope())
    )


@bp.route("/certificates/jobs/<int:job_id>/issue", methods=["POST"])
@requires(Role.INSPECTOR)
def issue(job_id: int):
    """Ask a background worker to issue the job's certificate, or say exactly what is missing."""
    from workshop.certificates.issuing import request_issue

    job = get_in_scope_or_404(Job, job_id)
    with transaction() as done:
        _request, new = request_issue(job, current_user, current_app.config)
        done.success = (
            _("The certificate is being issued; this page shows when it is ready.")
            if new
            else _("The certificate is already being issued: it was not asked for twice.")
        )
    return redirect(url_for("inspection.show_job", job_id=job.id) + "#certificate-readiness")


@bp.route("/certificates/jobs/<int:job_id>/issue/status")
@requires(*READERS)
def issue_status(job_id: int):
    """The latest request's state for the page that waits for it: status, progress 0–1, the
    certificate's address once done, the reason once failed."""
    from workshop.certificates.issuing import issue_state

    job = get_in_scope_or_404(Job, job_id)
    state = issue_state(job, current_app.config)
    if state is None:
        return {"status": "none"}
    answer = {"status": state.status, "progress": state.progress}
    if state.certificate_id is not None:
        # the one who asked lands on the certificate with a flag its page turns into a message
        flag = {"issued": 1} if state.requested_by_id == current_user.id else {}
        answer["url"] = url_for("certificates.show", certificate_id=state.certificate_id, **flag)
    if state.failure:
        answer["message"] = state.failure
    return answer


@bp.route("/certificates/<int:certificate_id>")
@requires(*READERS)
def show(certificate_id: int):
    """One certificate: its number, status, hash, QR code and the revocation form.

    ``?issued=1`` (the address the issuing page goes to once done) is turned into a flashed
    "issued" message for the user who asked for it, and dropped by a redirect: a reload or a
    later visit does not say it again.
    """
    certificate = get_in_scope_or_404(Certificate, certificate_id)
    if "issued" in request.args:
        from workshop.certificates.issuing import issued_for

        if issued_for(certificate, current_user):
            flash(
                _("Certificate %(number)s has been issued.", number=certificate.number), "success"
            )
        return redirect(url_for("certificates.show", certificate_id=certificate.id))
    from workshop.certificates.evidence import latest_bundle

    url = services.certificate_verify_url(certificate.token)
    return render_template(
        "certificates/show.html",
        certificate=certificate,
        bundle=latest_bundle(certificate),
        verify_url=url,
        qr=qr_data_uri(url),
        form=RevokeForm(),
    )


# What the download needs of a certificate, as a plain row: loading the whole Certificate (37
# columns and its revocation) cost more than sending the file.
_DOWNLOAD = sa.select(Certificate.centre_id, Certificate.number, Certificate.pdf_sha256).where(
    Certificate.id == sa.bindparam("ident")
)
_DOWNLOAD_WITH_PDF = _DOWNLOAD.add_columns(Certificate.pdf)
_PDF = sa.select(Certificate.pdf).where(Certificate.id == sa.bindparam("ident"))


@bp.route("/certificates/<int:certificate_id>/pdf")
@requires(*READERS)
def download(certificate_id: int):
    """The PDF exactly as issued (never regenerated)."""
    # An issued PDF never changes: its SHA-256 is its ETag, and a tablet that has it gets a 304
    # without the blob being read from the database; any other request reads the blob with the
    # row, in one statement.
    revalidating = bool(request.if_none_match)
    statement = _DOWNLOAD if revalidating else _DOWNLOAD_WITH_PDF
    row = plain_rows(statement, {"ident": certificate_id}).one_or_none()
    if row is None:
        abort(404)
    centre_scope().require(row.centre_id)
    if revalidating and row.pdf_sha256 in request.if_none_match:
        response = current_app.response_class(status=304)
    else:
        pdf = plain_rows(_PDF, {"ident": certificate_id}).scalar() if revalidating else row.pdf
        response = send_file(
            io.BytesIO(pdf),
            mimetype="application/pdf",
            as_attachment=True,
            download_name=f"{row.number}.pdf",
        )
    response.set_etag(row.pdf_sha256)
    response.cache_control.private = True
    response.cache_control.max_age = 3600
    return response


@bp.route("/certificates/<int:certificate_id>/revoke", methods=["POST"])
@requires(*READERS)
def revoke(certificate_id: int):
    """Revoke with a reason; the PDF stays as issued."""
    certificate = get_in_scope_or_404(Certificate, certificate_id)
    form = RevokeForm()
    if not form.validate_on_submit():
        flash_errors(form)
    else:
        with transaction(_("Certificate %(number)s revoked.", number=certificate.number)):
            services.revoke_certificate(certificate, current_user, form.reason.data)
    return redirect(url_for("certificates.show", certificate_id=certificate.id))


# --- public verification ---------------------------------------------------------------------------


def _rate_limited(kind: str, token: str = ""):
    ip = request.remote_addr or ""
    if services.verification_allowed(ip):
        return None
    services.log_verification(ip, kind, "rate_limited", token=token)
    db.session.commit()
    return render_template("certificates/verify.html", rate_limited=True, form=None), 429


def _read_upload(form):
    data = form.pdf.data.read(MAX_UPLOAD_BYTES + 1) if form.pdf.data else b""
    if not data:
        return None, _("Choose the PDF file to check.")
    if len(data) > MAX_UPLOAD_BYTES:
        return None, _("The file is larger than a certificate can be.")
    return data, None


@bp.route(f"{services.VERIFY_PREFIX}/<token>", methods=["GET", "POST"])
@public
def verify(token: str):
    """The public page behind the QR code: valid or revoked, and an upload to compare a PDF."""
    limited = _rate_limited("upload" if request.method == "POST" else "view", token)
    if limited:
        return limited
    certificate = services.certificate_by_token(token)
    ip = request.remote_addr or ""
    form = UploadForm()
    if certificate is None:
        services.log_verification(ip, "view", "unknown", token=token)
        db.session.commit()
        return render_template("certificates/verify.html", certificate=None, form=None), 404
    check = None
    if request.method == "POST":
        if form.validate_on_submit():
            data, problem = _read_upload(form)
            if problem:
                flash(problem, "error")
            else:
                check = services.compare_upload(certificate, data)
                services.log_verification(
                    ip,
                    "upload",
                    "identical" if check["identical"] else "different",
                    token=token,
                    certificate=certificate,
                )
        else:
            flash_errors(form)
    else:
        services.log_verification(
            ip,
            "view",
            "revoked" if certificate.revoked else "valid",
            certificate=certificate,
            token=token,
        )
    db.session.commit()
    return render_template(
        "certificates/verify.html",
        certificate=certificate,
        form=form,
        check=check,
        signatures=services.public_signatures(certificate),
    )


@bp.route(services.VERIFY_PREFIX, methods=["GET", "POST"])
@public
def verify_upload():
    """Check any PDF against every certificate issued here (by its SHA-256)."""
    form = UploadForm()
    check = None
    if request.method == "POST":
        limited = _rate_limited("upload")
        if limited:
            return limited
        if form.validate_on_submit():
            data, problem = _read_upload(form)
            if problem:
                flash(problem, "error")
            else:
                check = services.compare_upload(None, data)
                services.log_verification(
                    request.remote_addr or "",
                    "upload",
                    "identical" if check["identical"] else "unknown",
                    certificate=check["certificate"],
                )
                db.session.commit()
        else:
            flash_errors(form)
    return render_template(
        "certificates/verify.html",
        certificate=check["certificate"] if check else None,
        form=form,
        check=check,
        anonymous_upload=True,
    )


@bp.route("/certificates/<int:certificate_id>/evidence.zip")
@requires(*READERS)
def evidence_bundle(certificate_id: int):
    """ZIP for the DLT file, once a worker has built it (else back to the certificate's page)."""
    from workshop.certificates.evidence import bundle_path, latest_bundle

    certificate = get_in_scope_or_404(Certificate, certificate_id)
    bundle = latest_bundle(certificate)
    path = bundle_path(current_app.config["UPLOAD_FOLDER"], bundle.sha256) if bundle else None
    if bundle is None or bundle.status != "ready" or not path.exists():
        flash(_("Prepare the evidence bundle first: it is built in the background."), "warning")
        return redirect(url_for("certificates.show", certificate_id=certificate.id))
    response = send_file(
        path,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"{certificate.number}-evidence.zip",
        etag=bundle.sha256,
        conditional=True,
    )
    response.cache_control.private = True
    return response


@bp.route("/certificates/<int:certificate_id>/evidence", methods=["POST"])
@requires(*READERS)
def prepare_evidence(certificate_id: int):
    """Queue the evidence bundle's build for a background worker."""
    from workshop.certificates.evidence import request_bundle

    certificate = get_in_scope_or_404(Certificate, certificate_id)
    with transaction() as done:
        bundle = request_bundle(certificate, current_user, current_app.config)
    if done and bundle.status != "ready":
        flash(
            _("The evidence bundle is being prepared; this page shows when it is ready."), "success"
        )
    return redirect(
        url_for("certificates.show", certificate_id=certificate.id) + "#evidence-bundle"
    )


@bp.route("/certificates/<int:certificate_id>/evidence/status")
@requires(*READERS)
def evidence_status(certificate_id: int):
    """The bundle's state for the page that waits for it: status, progress 0–1, size."""
    from workshop.certificates.evidence import latest_bundle
    from workshop.queue import job_progress

    certificate = get_in_scope_or_404(Certificate, certificate_id)
    bundle = latest_bundle(certificate)
    if bundle is None:
        return {"status": "none"}
    progress = 1.0 if bundle.status == "ready" else job_progress(current_app.config, bundle.job_id)
    return {"status": bundle.status, "progress": progress or 0.0, "size": bundle.size}


@bp.route("/certificates/<int:certificate_id>/handover.pdf")
@requires(Role.SUPERVISOR, *READERS)
def handover_sheet(certificate_id: int):
    """The owner's handover sheet: charging guidance and energy cost per 100 km."""
    from workshop.certificates.handover import energy_costs, load_energy
    from workshop.certificates.pdf import render_pdf
    from workshop.i18n import format_be_date, format_thb
    from workshop.jobs.progress import manual_of
    from workshop.kits.catalogue import job_kit

    certificate = get_in_scope_or_404(Certificate, certificate_id)
    job = certificate.job
    kit = job_kit(job)
    if kit is None:
        flash(_("The job has no kit: its battery and charger are unknown."), "error")
        return redirect(url_for("certificates.show", certificate_id=certificate.id))
    energy = load_energy()
    costs = energy_costs(
        manual_of(job).model.body_class,
        kit.ratings.battery.energy_kwh,
        kit.ratings.charger.power_kw,
        energy,
        usable_kwh=kit.ratings.battery.usable_energy_kwh,
    )
    context = {
        "number": certificate.number,
        "date_be": format_be_date(certificate.issued_at, "th"),
        "owner": job.owner_name,
        "vehicle": f"{job.vehicle.make} {job.vehicle.model} {job.vehicle.year}",
        "plate": job.vehicle.plate,
        "vin": job.vehicle.vin,
        "centre": job.centre.name("th"),
        "centre_en": job.centre.name("en"),
        "battery_kwh": f"{kit.ratings.battery.energy_kwh:g}",
        "usable_kwh": f"{kit.ratings.battery.usable_energy_kwh:g}",
        "chemistry": kit.ratings.battery.chemistry,
        "max_v": f"{kit.ratings.battery.max_voltage_v:g}",
        "charger_kw": f"{kit.ratings.charger.power_kw:g}",
        "charge_after": energy.charging.home_charging_after,
        "costs": {
            "kwh": f"{costs.kwh_per_100km_at_wall}",
            "home": format_thb(costs.home_off_peak),
            "home_peak": format_thb(costs.home_peak),
            "public": format_thb(costs.public_charger),
            "fuel": format_thb(costs.fuel),
            "fuel_kind": costs.fuel_kind,
            "litres": f"{costs.litres_per_100km}",
            "saving": format_thb(costs.saving_at_home),
            "hours": f"{costs.full_charge_hours}",
            "range": f"{costs.range_km}",
        },
        "tariffs": {
            "off_peak": f"{energy.tariffs.home_off_peak_thb_per_kwh}",
            "peak": f"{energy.tariffs.home_peak_thb_per_kwh}",
            "low_priority": f"{energy.tariffs.public_low_priority_thb_per_kwh}",
            "service": f"{energy.tariffs.public_service_thb_per_kwh}",
        },
    }
    pdf = render_pdf("certificates/pdf_handover.html", context)
    return current_app.response_class(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{certificate.number}-handover.pdf"'},
    )


@bp.route("/certificates/signing-key", methods=["GET", "POST"])
@requires(Role.SUPERVISOR, Role.INSPECTOR)
def signing_key():
    """An engineer's own signing certificate: see it, have the development CA issue one, or
    upload a PKCS#12 from the deployment's CA."""
    from workshop.certificates import engineer_keys
    from workshop.links import is_production

    if request.method == "POST":
        with transaction(_("Your signing certificate is enrolled.")) as done:
            if request.form.get("action") == "issue":
                engineer_keys.enrol_from_ca(
                    current_user, current_app.config, current_app.instance_path
                )
            else:
                upload = request.files.get("pkcs12")
                data = upload.read(64 * 1024 + 1) if upload else b""
                if not data or len(data) > 64 * 1024:
                    raise engineer_keys.SigningKeyError(
                        _("Choose your PKCS#12 file (.p12 / .pfx).")
                    )
                engineer_keys.enrol_pkcs12(
                    current_user,
                    data,
                    request.form.get("passphrase", ""),
                    current_app.config,
                    current_app.instance_path,
                )
        if done:
            return redirect(url_for("certificates.signing_key"))
    return render_template(
        "certificates/signing_key.html",
        key=engineer_keys.active_key(current_user),
        ca_issues=not is_production(current_app.config)
        and not current_app.config.get("CERTIFICATE_TRUST_ROOTS"),
    )
