"""Kit screens: catalogue, stock, deliveries, components and serial traceability, battery register.

The blueprint and shared labels are in blueprint.py; job costs and reports in cost_views.py."""

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

# The blueprint's cost screens register their routes on it when imported.
import workshop.kits.cost_views  # noqa: F401, E402
from workshop.accounts.access import centre_scope, get_in_scope_or_404, requires
from workshop.csvexport import csv_text
from workshop.extensions import db
from workshop.formtools import choices
from workshop.jobs.models import ACTIVE_STATUSES, Job, Vehicle
from workshop.kits import components, receiving, reports, traceability
from workshop.kits.blueprint import (
    ALL_VIEWERS,
    MAX_CSV_BYTES,
    MOVE_ACTIONS,
    STOCK_VIEWERS,
    TRACERS,
    UNIT_LABELS,
    S,
    bp,
    catalogue_parts,
    chart_rows,
    csv_response,
)
from workshop.kits.catalogue import (
    StockError,
    kit_catalogue,
    kit_catalogue_problems,
    normalise_serial,
    parse_money,
)
from workshop.kits.forms import MoveForm, ReceiveForm
from workshop.kits.models import Component, Delivery
from workshop.transactions import transaction
from workshop.web import current_locale, flash_errors

# --- catalogue -------------------------------------------------------------------------------------


@bp.route("/")
@requires(*ALL_VIEWERS)
def catalogue():
    """Every kit with its standard cost against the programme target."""
    return render_template(
        "kits/catalogue.html",
        kits=list(kit_catalogue().values()),
        problems=kit_catalogue_problems(),
    )


def _kit_or_404(kit_id: str):
    kit = kit_catalogue().get(kit_id)
    if kit is None:
        abort(404)
    return kit


@bp.route("/catalogue/<kit_id>")
@requires(*ALL_VIEWERS)
def show_kit(kit_id: str):
    """A kit's bill of material and its cost by category, as a table and a chart."""
    kit = _kit_or_404(kit_id)
    return render_template("kits/kit.html", kit=kit, chart_rows=chart_rows(kit.cost_by_category()))


@bp.route("/catalogue/<kit_id>/bom.csv")
@requires(*ALL_VIEWERS)
def kit_bom_csv(kit_id: str):
    """A kit's bill of material as CSV."""
    kit = _kit_or_404(kit_id)
    return csv_response(reports.kit_bom_csv(kit), f"{kit.id}-v{kit.version}-bom.csv")


# --- stock -----------------------------------------------------------------------------------------


@bp.route("/stock")
@requires(*STOCK_VIEWERS)
def stock_levels():
    """Stock per part at the user's centre(s)."""
    return render_template(
        "kits/stock.html", rows=components.stock_levels(centre_scope()), parts=catalogue_parts()
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
        for r in components.stock_levels(centre_scope())
    )  # fmt: skip
    return csv_response(csv_text(header, rows), "stock.csv")


def _part_choices():
    locale = current_locale()
    pairs = []
    for kit in kit_catalogue().values():
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
        raise StockError(_l("the CSV file is larger than 2 MB"))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise StockError(_l("the CSV file is not UTF-8 text: save it as CSV UTF-8")) from None


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
            unit_cost = parse_money(form.unit_cost.data, what=_("Actual unit cost"))
            has_file = upload is not None and getattr(upload, "filename", "")
            if has_file and (form.serials.data or "").strip():
                raise StockError(_l("give the serial numbers in the box or as a file, not both"))
            if has_file:
                rows = receiving.parse_serials_csv(_read_csv_upload(upload))
                lines = receiving.rows_to_lines(kit_id, part_number, unit_cost, rows)
            else:
                serials = receiving.parse_serials_text(form.serials.data or "")
                lines = [
                    receiving.ReceiveLine(
                        kit_id,
                        part_number,
                        unit_cost,
                        quantity=form.quantity.data or 0,
                        serials=tuple(serials),
                    )
                ]
            delivery = receiving.receive_delivery(
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
        "kits/delivery.html", delivery=delivery, components=components, parts=catalogue_parts()
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
        history=traceability.serial_history(component),
        part=catalogue_parts().get(component.part_number),
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
                raise StockError(_l("choose the job to reserve it for"))
            job = get_in_scope_or_404(Job, int(form.job_id.data))
            components.reserve_component(component, job, current_user)
        elif action == "release":
            components.release_component(component, current_user, form.reason.data or "")
        elif action == "return":
            components.return_component(component, current_user, form.reason.data or "")
        else:
            components.scrap_component(component, current_user, form.reason.data or "")
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
    results = traceability.find_serial(query, centre_scope()) if query else []
    if len(results) == 1 and normalise_serial(query) == results[0].serial:
        return redirect(url_for("kits.show_component", component_id=results[0].id))
    return render_template(
        "kits/search.html", query=query, results=results, parts=catalogue_parts()
    )


def _vehicle_in_scope(vehicle_id: int) -> Vehicle:
    vehicle = db.get_or_404(Vehicle, vehicle_id)
    if not traceability.vehicle_jobs(vehicle, centre_scope()):
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
        jobs=traceability.vehicle_jobs(vehicle, scope),
        components=traceability.vehicle_components(vehicle, scope),
        register=traceability.battery_register(vehicle, scope),
        parts=catalogue_parts(),
        unit_labels=UNIT_LABELS,
    )


@bp.route("/vehicles/<int:vehicle_id>/battery.<fmt>")
@requires(*TRACERS)
def battery_register(vehicle_id: int, fmt: str):
    """The vehicle's battery register as JSON or CSV (recalls, second life, recycling)."""
    if fmt not in ("json", "csv"):
        abort(404)
    vehicle = _vehicle_in_scope(vehicle_id)
    register = traceability.battery_register(vehicle, centre_scope())
    name = f"battery-{vehicle.vin}.{fmt}"
    if fmt == "csv":
        return csv_response(traceability.battery_register_csv(register), name)
    return Response(
        traceability.battery_register_json(register),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
