"""Operator screens: queue a run from a job, watch it live, read the report, check a trace."""

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from workshop.accounts.access import get_in_scope_or_404, requires
from workshop.accounts.models import Role
from workshop.eol import runs
from workshop.eol.models import EolRun
from workshop.errors import DomainError
from workshop.extensions import db
from workshop.jobs.models import Job
from workshop.transactions import transaction
from workshop.web import current_locale

bp = Blueprint("eol", __name__)


@bp.app_template_global("eol_label")
def eol_label(name: str, locale: str) -> str:
    """A measurement's label in the reader's language."""
    from workshop.eol.messages import label

    return label(name, locale)


VIEWERS = (Role.TECHNICIAN, Role.SUPERVISOR, Role.INSPECTOR, Role.ADMIN)
OPERATORS = (Role.TECHNICIAN, Role.SUPERVISOR)


def _reap_stale_runs() -> None:
    # A run whose bench agent died is closed by the first screen that looks, so a job is never
    # blocked by it, even when no other agent is running.
    if runs.reap_with_settings(current_app.config):
        db.session.commit()


@bp.route("/jobs/<int:job_id>/eol")
@requires(*VIEWERS)
def job_runs(job_id: int):
    """A job's EOL runs, and the form that queues a new one."""
    job = get_in_scope_or_404(Job, job_id)
    _reap_stale_runs()
    return render_template(
        "eol/job_runs.html",
        job=job,
        runs=runs.job_runs(job),
        benches=runs.offered_benches(job, current_app.config["EOL_BENCHES"]),
        bench_kind=runs.bench_kind,
        kind_labels=runs.BENCH_KIND_LABELS,
        not_evidence={
            r.id: problem
            for r in runs.job_runs(job)
            if not job.is_training
            and (problem := runs.evidence_problem(r, job.centre.code, production=_production()))
        },
        sequences=runs.SEQUENCE_NAMES,
    )


def _production() -> bool:
    from workshop.links import is_production

    return is_production(current_app.config)


@bp.route("/jobs/<int:job_id>/eol", methods=["POST"])
@requires(*OPERATORS)
def start_run(job_id: int):
    """Queue a run for a bench agent (only qualified EOL operators of the job's centre)."""
    job = get_in_scope_or_404(Job, job_id)
    _reap_stale_runs()
    with transaction() as done:
        run = runs.queue_run(
            job,
            current_user,
            request.form.get("bench", ""),
            request.form.getlist("sequence"),
            current_app.config["EOL_BENCHES"],
            production=_production(),
        )
        done.success = _("Run %(id)d queued on %(bench)s.", id=run.id, bench=run.bench)
    if not done:
        return redirect(url_for("eol.job_runs", job_id=job.id))
    return redirect(url_for("eol.show_run", run_id=run.id))


def _charts(run: EolRun):
    from workshop.eol.report import run_charts

    return run_charts(run, current_locale())


@bp.route("/eol/runs/<int:run_id>")
@requires(*VIEWERS)
def show_run(run_id: int):
    """Live progress while running; the full report with charts when finished."""
    _reap_stale_runs()
    run = get_in_scope_or_404(EolRun, run_id)
    job = db.session.get(Job, run.job_id) if run.job_id else None
    return render_template("eol/run.html", run=run, job=job, charts=_charts(run))


@bp.route("/eol/runs/<int:run_id>/status")
@requires(*VIEWERS)
def run_status(run_id: int):
    """Progress as JSON for the live page (polled; works on flaky workshop Wi-Fi)."""
    _reap_stale_runs()
    run = get_in_scope_or_404(EolRun, run_id)
    locale = current_locale()
    return jsonify(
        status=run.status.value,
        finished=run.finished,
        planned=run.checks_planned,
        abort_reason=run.abort_text(locale),
        checks=[
            {
                "id": c.check_id,
                "sequence": c.sequence,
                "title": c.title(locale),
                "outcome": c.outcome,
                "message": c.message_in(locale),
            }
            for c in run.checks
        ],
    )


@bp.route("/eol/runs/<int:run_id>/cancel", methods=["POST"])
@requires(*OPERATORS)
def cancel_run(run_id: int):
    """Stop a queued or running run; results so far are kept."""
    run = get_in_scope_or_404(EolRun, run_id)
    with transaction() as done:
        runs.request_cancel(run, current_user)
    if done:
        flash(_("Stop requested."), "info")
    return redirect(url_for("eol.show_run", run_id=run.id))


@bp.route("/eol/runs/<int:run_id>/trace")
@requires(*VIEWERS)
def download_trace(run_id: int):
    """The raw CAN trace (BLF) kept as evidence."""
    run = get_in_scope_or_404(EolRun, run_id)
    if not run.trace_sha256:
        abort(404)
    path = runs.trace_path(current_app.config["UPLOAD_FOLDER"], run.trace_sha256)
    if not path.exists():
        abort(404)
    return send_file(
        path,
        mimetype="application/octet-stream",
        as_attachment=True,
        download_name=f"eol-run-{run.id}-{run.trace_sha256[:12]}.blf",
    )


def _trace_refusal(exc: Exception) -> str:
    from workshop.eol.traces import TraceError

    if isinstance(exc, TraceError):
        return _("The trace cannot be used: %(reason)s", reason=exc.message_in(current_locale()))
    return str(exc.message)


@bp.route("/eol/traces", methods=["GET", "POST"])
@requires(*VIEWERS)
def check_trace():
    """Upload a trace (BLF, ASC, candump log, TRC) to check its passive checks: the check runs in
    the background and its page shows the result. ``?job=N`` preselects that job's kit."""
    from workshop.eol import tracechecks
    from workshop.eol.definitions import list_kits
    from workshop.eol.traces import TraceError

    kits = list_kits()
    selected = request.values.get("kit", "")
    job_id = request.args.get("job", type=int)
    if not selected and job_id:
        job = get_in_scope_or_404(Job, job_id)
        selected = job.kit_id or ""
    if request.method == "POST":
        upload = request.files.get("trace")
        if selected not in kits:
            flash(_("Choose the kit whose CAN database the trace speaks."), "error")
        elif upload is None or not upload.filename:
            flash(_("Choose a trace file."), "error")
        else:
            with transaction(refused=(TraceError, DomainError), explain=_trace_refusal) as done:
                check = tracechecks.queue_check(
                    current_user, selected, upload.filename, upload.read(), current_app.config
                )
            if done:
                return redirect(url_for("eol.trace_check", check_id=check.id))
    return render_template("eol/trace.html", kits=kits, selected=selected, check=None)


def _own_check(check_id: int):
    from workshop.eol.models import TraceCheck

    check = db.get_or_404(TraceCheck, check_id)
    if check.user_id != current_user.id and not current_user.has_role("admin"):
        abort(404)
    return check


@bp.route("/eol/traces/<int:check_id>")
@requires(*VIEWERS)
def trace_check(check_id: int):
    """One trace check: waiting for the worker, its error in words, or the checks' table."""
    from workshop.eol.definitions import list_kits
    from workshop.eol.messages import render
    from workshop.eol.records import RunResult

    check = _own_check(check_id)
    result = RunResult.from_dict(check.result) if check.result else None
    error = (
        render(check.error_code, check.error_params or {}, current_locale())
        if check.error_code
        else ""
    )
    return render_template(
        "eol/trace.html",
        kits=list_kits(),
        selected=check.kit_id,
        check=check,
        result=result,
        error=error,
    )


@bp.route("/eol/traces/<int:check_id>/status")
@requires(*VIEWERS)
def trace_check_status(check_id: int):
    """The check's state for its page: queued, running, done or failed."""
    return {"status": _own_check(check_id).status}


@bp.route("/eol/runs/<int:run_id>/report.pdf")
@requires(*VIEWERS)
def run_report_pdf(run_id: int):
    """The run's report as an A4 PDF (Thai and English), for the job file."""
    from workshop.eol.report import render_run_report

    run = get_in_scope_or_404(EolRun, run_id)
    if not run.finished:
        flash(_("The report is ready when the run has finished."), "info")
        return redirect(url_for("eol.show_run", run_id=run.id))
    # the report kept when the run ended; a rendering only for runs from before that
    pdf = runs.stored_report(run, current_app.config["UPLOAD_FOLDER"])
    return current_app.response_class(
        pdf if pdf is not None else render_run_report(run, _charts(run)),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="eol-run-{run.id}.pdf"'},
    )
