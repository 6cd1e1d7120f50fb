"""Kit catalogue, stock, deliveries, serial traceability, battery register, job costs and reports."""

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from workshop.accounts.access import centre_scope, get_in_scope_or_404, requires
from workshop.accounts.models import Role
from workshop.csvexport import csv_text
from workshop.extensions import db
from workshop.formtools import choices
from workshop.jobs.models import ACTIVE_STATUSES, Job, Vehicle
from workshop.kits import stock
from workshop.kits.forms import ConsumeForm, CostLineForm, MoveForm, ReceiveForm
from workshop.kits.models import Component, ComponentStatus, CostKind, Delivery, StockLot
from workshop.kits.spec import CATEGORIES
from workshop.transactions import transaction
from workshop.web import current_locale, flash_errors

bp = Blueprint("kits", __name__, url_prefix="/kits")

T, S, INS, A = Role.TECHNICIAN, Role.SUPERVISOR, Role.INSPECTOR, Role.ADMIN
ALL_VIEWERS = (T, S, INS, A)
STOCK_VIEWERS = (T, S)
TRACERS = (S, INS, A)
MAX_CSV_BYTES = 2 * 1024 * 1024

CATEGORY_LABELS = {
    "battery": _l("Battery"),
    "motor": _l("Motor"),
    "inverter": _l("Inverter"),
    "bms": _l("BMS"),
    "ev_ecu": _l("EV ECU and controls"),
    "charger": _l("On-board charger"),
    "dcdc": _l("DC-DC converter"),
    "brake_vacuum_pump": _l("Brake vacuum pump"),
    "cooling": _l("Cooling"),
    "ac": _l("Air conditioning"),
    "harness": _l("Wiring harness"),
    "mechanical": _l("Mechanical parts"),
    "consumable": _l("Consumables"),
    "labour": _l("Labour"),
    "sublet": _l("Sublet work"),
    "other": _l("Other"),
}
STATUS_LABELS = {
    ComponentStatus.IN_STOCK: _l("In stock"),
    ComponentStatus.RESERVED: _l("Reserved"),
    ComponentStatus.INSTALLED: _l("Installed"),
    ComponentStatus.RETURNED: _l("Returned to supplier"),
    ComponentStatus.SCRAPPED: _l("Scrapped"),
}
KIND_LABELS = {
    CostKind.CONSUMABLE: _l("Consumables"),
    CostKind.SUBLET: _l("Sublet work"),
    CostKind.OTHER: _l("Other"),
}
MOVE_ACTIONS = {
    "reserve": _l("Reserve for a job"),
    "release": _l("Put back in stock (unreserve)"),
    "return": _l("Return to the supplier"),
    "scrap": _l("Scrap"),
}
UNIT_LABELS = {"cell": _l("cell"), "module": _l("module"), "pack": _l("pack")}


@bp.app_context_processor
def _kits_context():
    return {
        "category_label": lambda c: CATEGORY_LABELS.get(c, c),
        "component_status_label": lambda s: STATUS_LABELS.get(s, s),
    }


def _parts():
    return stock.part_index(stock.kit_catalogue())


def _chart_rows(amounts: dict) -> list:
    return [
        (CATEGORY_LABELS.get(category, category), amount) for category, amount in amounts.items()
    ]


def _csv(text: str, filename: str) -> Response:
    # A BOM makes Excel (as Thai offices use it) read the UTF-8 file correctly.
    return Response(
        "\ufeff" + text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# --- catalogue -------------------------------------------------------------------------------------


@bp.route("/")
@requires(*ALL_VIEWERS)
def catalogue():
    """Every kit with its standard cost against the programme target."""
    return render_template(
        "kits/catalogue.html",
        kits=list(stock.kit_catalogue().values()),
        problems=stock.kit_catalogue_problems(),
    )


def _kit_or_404(kit_id: str):
    kit = stock.kit_catalogue().get(kit_id)
    if kit is None:
        abort(404)
    return kit


@bp.route("/catalogue/<kit_id>")
@requires(*ALL_VIEWERS)
def show_kit(kit_id: str):
    """A kit's bill of material and its cost by category, as a table and a chart."""
    kit = _kit_or_404(kit_id)
    return render_template("kits/kit.html", kit=kit, chart_rows=_chart_rows(kit.cost_by_category()))


@bp.route("/catalogue/<kit_id>/bom.csv")
@requires(*ALL_VIEWERS)
def kit_bom_csv(kit_id: str):
    """A kit's bill of material as CSV."""
    kit = _kit_or_404(kit_id)
    return _csv(stock.kit_bom_csv(kit), f"{kit.id}-v{kit.version}-bom.csv")


# --- stock -----------------------------------------------------------------------------------------


@bp.route("/stock")
@requires(*STOCK_VIEWERS)
def stock_levels():
    """Stock per part at the user's centre(s)."""
    return render_template(
        "kits/stock.html", rows=stock.stock_levels(centre_scope()), parts=_parts()
    )


@bp.route("/stock.csv")
@requires(*STOCK_VIEWERS)
def stock_csv():
    """Stock levels as CSV."""
    header = ["centre", "kit", "part_number", "category", "serialised", "in_stock", "reserved",
              "installed", "average_cost", "stock_value"]  # fmt: skip
    rows = (
        [r.centre.code, r.kit_id, r.part_number, r.category, "yes" if r.serialised else "no",
         r.in_stock, r.reserved, r.installed, r.average_cost or "", r.value]
        for r in stock.stock_levels(centre_scope())
    )  # fmt: skip
    return _csv(csv_text(header, rows), "stock.csv")


def _part_choices():
    locale = current_locale()
    pairs = []
    for kit in stock.kit_catalogue().values():
        for line in kit.bom:
            mark = " · " + _("serial numbers") if line.serialised else ""
            pairs.append(
                (
                    f"{kit.id}|{line.part_number}",
                    f"{kit.id} · {line.part_number} · {line.name(locale)}{mark}",
                )
            )
    return choices([("", _("— choose a part —"))] + pairs)


def _read_csv_upload(storage) -> str:
    data = storage.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise stock.StockError(_l("the CSV file is larger than 2 MB"))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise stock.StockError(_l("the CSV file is not UTF-8 text: save it as CSV UTF-8")) from None


@bp.route("/deliveries/new", methods=["GET", "POST"])
@requires(S)
def receive_delivery():
    """Receive a delivery into the supervisor's centre: serials typed, scanned or from a CSV file."""
    form = ReceiveForm()
    form.part.choices = _part_choices()
    if current_user.centre is None:
        abort(403)
    if form.validate_on_submit():
        kit_id, _sep, part_number = form.part.data.partition("|")
        upload = form.serials_csv.data
        with transaction(
            explain=lambda exc: _("Nothing was received: %(reason)s", reason=exc.message)
        ) as done:
            unit_cost = stock.parse_money(form.unit_cost.data, what=_("Actual unit cost"))
            has_file = upload is not None and getattr(upload, "filename", "")
            if has_file and (form.serials.data or "").strip():
                raise stock.StockError(
                    _l("give the serial numbers in the box or as a file, not both")
                )
            if has_file:
                rows = stock.parse_serials_csv(_read_csv_upload(upload))
                lines = stock.rows_to_lines(kit_id, part_number, unit_cost, rows)
            else:
                serials = stock.parse_serials_text(form.serials.data or "")
                lines = [
                    stock.ReceiveLine(
                        kit_id,
                        part_number,
                        unit_cost,
                        quantity=form.quantity.data or 0,
                        serials=tuple(serials),
                    )
                ]
            delivery = stock.receive_delivery(
                current_user.centre,
                current_user,
                supplier=form.supplier.data,
                invoice_number=form.invoice_number.data,
                lines=lines,
                note=form.note.data or "",
            )
            done.success = _(
                "Delivery %(invoice)s received: %(n)d part(s).",
                invoice=delivery.invoice_number,
                n=sum(line.quantity for line in delivery.lines),
            )
        if done:
            return redirect(url_for("kits.show_delivery", delivery_id=delivery.id))
        return render_template("kits/receive.html", form=form), 422
    if request.method == "POST":
        return render_template("kits/receive.html", form=form), 422
    return render_template("kits/receive.html", form=form)


@bp.route("/deliveries/<int:delivery_id>")
@requires(*ALL_VIEWERS)
def show_delivery(delivery_id: int):
    """A received delivery with its lines and serials."""
    delivery = get_in_scope_or_404(Delivery, delivery_id)
    components = db.session.scalars(
        db.select(Component)
        .where(Component.delivery_line_id.in_([line.id for line in delivery.lines]))
        .order_by(Component.part_number, Component.serial)
    ).all()
    return render_template(
        "kits/delivery.html", delivery=delivery, components=components, parts=_parts()
    )


# --- components and traceability -------------------------------------------------------------------


@bp.route("/components/<int:component_id>")
@requires(*ALL_VIEWERS)
def show_component(component_id: int):
    """One serialised component: where it is, where it was installed, its full history."""
    component = get_in_scope_or_404(Component, component_id)
    form = None
    if current_user.has_role(S) and current_user.centre_id == component.centre_id:
        form = _move_form(component)
    return render_template(
        "kits/component.html",
        component=component,
        history=stock.serial_history(component),
        part=_parts().get(component.part_number),
        form=form,
    )


def _move_form(component):
    form = MoveForm()
    form.action.choices = choices(MOVE_ACTIONS.items())
    jobs = db.session.scalars(
        db.select(Job)
        .where(Job.centre_id == component.centre_id, Job.status.in_(list(ACTIVE_STATUSES)))
        .order_by(Job.number.desc())
        .limit(200)
    )
    form.job_id.choices = choices(
        [("", _("— no job —"))]
        + [
            (str(j.id), f"{j.reference} · {j.vehicle.vin}")
            for j in jobs
            if j.kit_id
            and component.part_number in {p["part_number"] for p in j.kit_snapshot["bom"]}
        ]
    )
    return form


@bp.route("/components/<int:component_id>/move", methods=["POST"])
@requires(S)
def move_component(component_id: int):
    """Reserve, unreserve, return or scrap a component (supervisors of its centre)."""
    component = get_in_scope_or_404(Component, component_id)
    if current_user.centre_id != component.centre_id:
        abort(403)
    form = _move_form(component)
    if not form.validate_on_submit():
        flash_errors(form)
        return redirect(url_for("kits.show_component", component_id=component.id))
    with transaction() as done:
        action = form.action.data
        if action == "reserve":
            if not form.job_id.data:
                raise stock.StockError(_l("choose the job to reserve it for"))
            job = get_in_scope_or_404(Job, int(form.job_id.data))
            stock.reserve_component(component, job, current_user)
        elif action == "release":
            stock.release_component(component, current_user, form.reason.data or "")
        elif action == "return":
            stock.return_component(component, current_user, form.reason.data or "")
        else:
            stock.scrap_component(component, current_user, form.reason.data or "")
    if done:
        flash(
            _(
                "Serial %(serial)s: %(action)s.",
                serial=component.serial,
                action=MOVE_ACTIONS[action],
            ),
            "success",
        )
    return redirect(url_for("kits.show_component", component_id=component.id))


@bp.route("/serials")
@requires(*ALL_VIEWERS)
def search_serial():
    """Find a serial: where it is, and if installed the vehicle, job, step, technician and date."""
    query = (request.args.get("q") or "").strip()[:64]
    results = stock.find_serial(query, centre_scope()) if query else []
    if len(results) == 1 and stock.normalise_serial(query) == results[0].serial:
        return redirect(url_for("kits.show_component", component_id=results[0].id))
    return render_template("kits/search.html", query=query, results=results, parts=_parts())


def _vehicle_in_scope(vehicle_id: int) -> Vehicle:
    vehicle = db.get_or_404(Vehicle, vehicle_id)
    if not stock.vehicle_jobs(vehicle, centre_scope()):
        abort(403)
    return vehicle


@bp.route("/vehicles/<int:vehicle_id>")
@requires(*TRACERS)
def vehicle_trace(vehicle_id: int):
    """Every serial installed in a vehicle, and its battery register."""
    vehicle = _vehicle_in_scope(vehicle_id)
    scope = centre_scope()
    return render_template(
        "kits/vehicle.html",
        vehicle=vehicle,
        jobs=stock.vehicle_jobs(vehicle, scope),
        components=stock.vehicle_components(vehicle, scope),
        register=stock.battery_register(vehicle, scope),
        parts=_parts(),
        unit_labels=UNIT_LABELS,
    )


@bp.route("/vehicles/<int:vehicle_id>/battery.<fmt>")
@requires(*TRACERS)
def battery_register(vehicle_id: int, fmt: str):
    """The vehicle's battery register as JSON or CSV (recalls, second life, recycling)."""
    if fmt not in ("json", "csv"):
        abort(404)
    vehicle = _vehicle_in_scope(vehicle_id)
    register = stock.battery_register(vehicle, centre_scope())
    name = f"battery-{vehicle.vin}.{fmt}"
    if fmt == "csv":
        return _csv(stock.battery_register_csv(register), name)
    return Response(
        stock.battery_register_json(register),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


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
    parts = _parts()
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
    sheet = stock.cost_sheet(job)
    can_edit = (
        current_user.has_role(S)
        and current_user.centre_id == job.centre_id
        and job.status in ACTIVE_STATUSES
    )
    return render_template(
        "kits/costs.html",
        job=job,
        sheet=sheet,
        chart_rows=_chart_rows(sheet.by_category()),
        parts=_parts(),
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
    return _csv(stock.cost_sheet_csv(stock.cost_sheet(job)), f"costs-{job.reference}.csv")


@bp.route("/jobs/<int:job_id>/costs/lines", methods=["POST"])
@requires(S)
def add_cost_line(job_id: int):
    """A supervisor adds a consumable, sublet or other cost to the job."""
    job = get_in_scope_or_404(Job, job_id)
    line_form, consume_form = _cost_forms(job)
    if line_form.validate_on_submit():
        with transaction(_("Cost line added.")) as done:
            stock.add_cost_line(
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
                raise stock.StockError(_l("only staff of the job's centre can add costs to it"))
            stock.consume_stock(
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
    report = stock.cost_report(centre_scope(), include_open=include_open)
    return render_template("kits/report.html", report=report, categories=CATEGORIES)


@bp.route("/reports/costs.csv")
@requires(*TRACERS)
def cost_report_csv():
    """The cost report as CSV."""
    include_open = request.args.get("open") == "1"
    report = stock.cost_report(centre_scope(), include_open=include_open)
    return _csv(stock.cost_report_csv(report), "conversion-costs.csv")
