"""Kit screens: a job's cost sheet (cost lines, parts issued) and the centre's cost reports."""

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from workshop.accounts.access import centre_scope, get_in_scope_or_404, requires
from workshop.extensions import db
from workshop.formtools import choices
from workshop.jobs.models import ACTIVE_STATUSES, Job
from workshop.kits import catalogue, components, costs, reports
from workshop.kits.blueprint import (
    KIND_LABELS,
    TRACERS,
    S,
    bp,
    catalogue_parts,
    chart_rows,
    csv_response,
)
from workshop.kits.fields import CATEGORIES
from workshop.kits.forms import ConsumeForm, CostLineForm
from workshop.kits.models import StockLot
from workshop.transactions import transaction
from workshop.web import current_locale

# --- costs -----------------------------------------------------------------------------------------


def _cost_forms(job):
    line_form = CostLineForm(prefix="line")
    line_form.kind.choices = choices(KIND_LABELS.items())
    consume_form = ConsumeForm(prefix="use")
    lots = db.session.scalars(
        db.select(StockLot)
        .where(StockLot.centre_id == job.centre_id, StockLot.quantity_on_hand > 0)
        .order_by(StockLot.part_number)
    )
    parts = catalogue_parts()
    locale = current_locale()
    consume_form.part_number.choices = choices(
        (
            lot.part_number,
            f"{lot.part_number} · {parts[lot.part_number].name(locale) if lot.part_number in parts else ''}"
            f" · {lot.quantity_on_hand}",
        )
        for lot in lots
    )
    return line_form, consume_form


@bp.route("/jobs/<int:job_id>/costs")
@requires(*TRACERS)
def cost_sheet(job_id: int):
    """The job's live cost sheet against the 200,000 THB target (battery excluded)."""
    job = get_in_scope_or_404(Job, job_id)
    line_form, consume_form = _cost_forms(job)
    return _render_cost_sheet(job, line_form, consume_form)


def _render_cost_sheet(job, line_form, consume_form, status=200):
    sheet = costs.cost_sheet(job)
    can_edit = (
        current_user.has_role(S)
        and current_user.centre_id == job.centre_id
        and job.status in ACTIVE_STATUSES
    )
    return render_template(
        "kits/costs.html",
        job=job,
        sheet=sheet,
        chart_rows=chart_rows(sheet.by_category()),
        parts=catalogue_parts(),
        line_form=line_form,
        consume_form=consume_form,
        can_edit=can_edit,
        kind_labels=KIND_LABELS,
    ), status


@bp.route("/jobs/<int:job_id>/costs.csv")
@requires(*TRACERS)
def cost_sheet_csv(job_id: int):
    """The job's cost sheet as CSV."""
    job = get_in_scope_or_404(Job, job_id)
    return csv_response(costs.cost_sheet_csv(costs.cost_sheet(job)), f"costs-{job.reference}.csv")


@bp.route("/jobs/<int:job_id>/costs/lines", methods=["POST"])
@requires(S)
def add_cost_line(job_id: int):
    """A supervisor adds a consumable, sublet or other cost to the job."""
    job = get_in_scope_or_404(Job, job_id)
    line_form, consume_form = _cost_forms(job)
    if line_form.validate_on_submit():
        with transaction(_("Cost line added.")) as done:
            costs.add_cost_line(
                job,
                current_user,
                kind=line_form.kind.data,
                description=line_form.description.data,
                quantity=line_form.quantity.data,
                unit_cost=line_form.unit_cost.data,
            )
        if done:
            return redirect(url_for("kits.cost_sheet", job_id=job.id))
    return _render_cost_sheet(job, line_form, consume_form, 422)


@bp.route("/jobs/<int:job_id>/costs/parts", methods=["POST"])
@requires(S)
def consume_stock(job_id: int):
    """A supervisor issues unserialised parts from stock to the job (at average cost)."""
    job = get_in_scope_or_404(Job, job_id)
    line_form, consume_form = _cost_forms(job)
    if consume_form.validate_on_submit():
        with transaction(_("Parts issued to the job.")) as done:
            if current_user.centre_id != job.centre_id:
                raise catalogue.StockError(_l("only staff of the job's centre can add costs to it"))
            components.consume_stock(
                job, consume_form.part_number.data, consume_form.quantity.data, current_user
            )
        if done:
            return redirect(url_for("kits.cost_sheet", job_id=job.id))
    return _render_cost_sheet(job, line_form, consume_form, 422)


# --- reports ---------------------------------------------------------------------------------------


@bp.route("/reports/costs")
@requires(*TRACERS)
def cost_report():
    """Conversion cost excluding battery per car model and per centre, against the target."""
    include_open = request.args.get("open") == "1"
    report = reports.cost_report(centre_scope(), include_open=include_open)
    return render_template("kits/report.html", report=report, categories=CATEGORIES)


@bp.route("/reports/costs.csv")
@requires(*TRACERS)
def cost_report_csv():
    """The cost report as CSV."""
    include_open = request.args.get("open") == "1"
    report = reports.cost_report(centre_scope(), include_open=include_open)
    return csv_response(reports.cost_report_csv(report), "conversion-costs.csv")
