"""The kits blueprint, the roles and labels its screens share, and their small helpers; the
screens are in views.py (catalogue, stock, deliveries, components, traceability) and
cost_views.py (job costs and cost reports)."""

from flask import Blueprint, Response
from flask_babel import lazy_gettext as _l

from workshop.accounts.models import Role
from workshop.kits import catalogue
from workshop.kits.models import ComponentStatus, CostKind

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


def catalogue_parts():
    """Every part of every kit by part number."""
    return catalogue.part_index(catalogue.kit_catalogue())


def chart_rows(amounts: dict) -> list:
    return [
        (CATEGORY_LABELS.get(category, category), amount) for category, amount in amounts.items()
    ]


def csv_response(text: str, filename: str) -> Response:
    # A BOM makes Excel (as Thai offices use it) read the UTF-8 file correctly.
    return Response(
        "\ufeff" + text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
