"""Receiving deliveries into stock: serial lists typed, scanned or from a CSV file, new components
and stock lots, all or nothing.
"""

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from workshop.accounts.models import Centre, User
from workshop.audit.services import record_event
from workshop.columns import utcnow
from workshop.extensions import db
from workshop.kits.catalogue import (
    CSV_COLUMNS,
    MAX_SERIALS_PER_DELIVERY,
    StockError,
    kit_part,
    normalise_serial,
    parse_money,
    serial_problem,
)
from workshop.kits.components import whereabouts
from workshop.kits.models import (
    Component,
    ComponentMove,
    ComponentStatus,
    Delivery,
    DeliveryLine,
    StockLot,
)
from workshop.kits.spec import BomLine
from workshop.money import round_thb


@dataclass(frozen=True)
class ReceiveLine:
    """One part of a delivery as entered: serialised parts give serials, the others a quantity."""

    kit_id: str
    part_number: str
    unit_cost: Decimal
    quantity: int = 0
    serials: tuple[str, ...] = ()


@dataclass(frozen=True)
class SerialRow:
    """One row of a serials CSV file: its line number, serial, and optional part and cost."""

    line: int
    serial: str
    part_number: str | None = None
    unit_cost: Decimal | None = None


def parse_serials_text(text: str) -> list[str]:
    """Serials typed or scanned one per line (a barcode scanner types the serial and Enter).

    Blank lines are skipped; a bad or repeated serial raises StockError naming its line.
    """
    serials, seen, problems = [], {}, []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        serial = normalise_serial(raw)
        if not serial:
            continue
        problem = serial_problem(serial)
        if problem:
            problems.append(_l("line %(n)d: %(problem)s", n=number, problem=problem))
        elif serial in seen:
            problems.append(
                _l(
                    "line %(n)d: %(serial)s is already on line %(first)d",
                    n=number,
                    serial=serial,
                    first=seen[serial],
                )
            )
        else:
            seen[serial] = number
            serials.append(serial)
    if problems:
        raise StockError("; ".join(str(p) for p in problems[:10]))
    return serials


def parse_serials_csv(text: str) -> list[SerialRow]:
    """Rows of a serials CSV: a header naming ``serial`` and optionally ``part_number``, ``unit_cost``.

    All or nothing: every bad row is reported as ``line N: problem`` (N counted in the file, the
    header being line 1) in one StockError, and no row is returned.
    """
    text = (text or "").lstrip("\ufeff")  # Excel writes a byte-order mark
    if not text.strip():
        raise StockError(_l("the CSV file is empty"))
    try:
        dialect = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except (StopIteration, csv.Error):
        raise StockError(_l("the CSV file is empty")) from None
    unknown = [h for h in header if h and h not in CSV_COLUMNS]
    if "serial" not in header or unknown:
        raise StockError(
            _l(
                "line 1: the first line must name the columns: serial, and optionally "
                "part_number and unit_cost (found: %(found)s)",
                found=", ".join(header)[:200],
            )
        )
    index = {name: header.index(name) for name in CSV_COLUMNS if name in header}
    rows, problems, seen = [], [], {}
    try:
        for cells in reader:
            number = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(header):
                problems.append(
                    _l(
                        "line %(n)d: %(found)d values, but the header names %(expected)d columns",
                        n=number,
                        found=len(cells),
                        expected=len(header),
                    )
                )
                continue
            cells = cells + [""] * (len(header) - len(cells))
            serial = normalise_serial(cells[index["serial"]])
            problem = serial_problem(serial)
            part = None
            if "part_number" in index:
                part = cells[index["part_number"]].strip().upper() or None
            cost = None
            if problem is None and "unit_cost" in index and cells[index["unit_cost"]].strip():
                try:
                    cost = parse_money(cells[index["unit_cost"]], what="unit_cost")
                except StockError as exc:
                    problem = str(exc)
            key = (part, serial)
            if problem is None and key in seen:
                problem = _l(
                    "%(serial)s is already on line %(first)d", serial=serial, first=seen[key]
                )
            if problem is not None:
                problems.append(_l("line %(n)d: %(problem)s", n=number, problem=problem))
                continue
            seen[key] = number
            rows.append(SerialRow(number, serial, part, cost))
    except csv.Error as exc:
        problems.append(_l("line %(n)d: %(problem)s", n=reader.line_num, problem=str(exc)))
    if problems:
        more = len(problems) - 10
        message = "; ".join(str(p) for p in problems[:10])
        if more > 0:
            message += " " + str(_l("(and %(n)d more)", n=more))
        raise StockError(message)
    if not rows:
        raise StockError(_l("the CSV file has no serial numbers"))
    return rows


def rows_to_lines(kit_id: str, part_number: str, unit_cost: Decimal, rows) -> list[ReceiveLine]:
    """Group CSV rows into delivery lines; a row without part or cost takes the form's."""
    grouped: dict[tuple[str, Decimal], list[str]] = defaultdict(list)
    for row in rows:
        grouped[(row.part_number or part_number, row.unit_cost or unit_cost)].append(row.serial)
    return [
        ReceiveLine(kit_id, part, cost, quantity=len(serials), serials=tuple(serials))
        for (part, cost), serials in grouped.items()
    ]


def receive_delivery(
    centre: Centre,
    user: User,
    *,
    supplier: str,
    invoice_number: str,
    lines: list[ReceiveLine],
    note: str = "",
) -> Delivery:
    """Receive a delivery into ``centre``'s stock: serialised parts become components in stock,
    the others raise the part's stock lot and its moving average cost. All or nothing."""
    supplier, invoice_number = (supplier or "").strip(), (invoice_number or "").strip()
    if not supplier or len(supplier) > 200:
        raise StockError(_l("name the supplier (at most 200 characters)"))
    if not invoice_number or len(invoice_number) > 64:
        raise StockError(_l("give the invoice number (at most 64 characters)"))
    if not lines:
        raise StockError(_l("the delivery has no parts"))
    if db.session.scalar(
        sa.select(Delivery.id).where(
            Delivery.centre_id == centre.id,
            Delivery.supplier == supplier,
            Delivery.invoice_number == invoice_number,
        )
    ):
        raise StockError(
            _l(
                "invoice %(invoice)s of %(supplier)s was already received at this centre",
                invoice=invoice_number,
                supplier=supplier,
            )
        )
    checked = []
    serial_count = 0
    for line in lines:
        bom = kit_part(line.kit_id, line.part_number)
        if isinstance(line.unit_cost, float) or not isinstance(line.unit_cost, Decimal):
            raise TypeError("unit_cost must be a Decimal")
        cost = parse_money(line.unit_cost, what=line.part_number)
        if bom.serialised:
            serials = [normalise_serial(s) for s in line.serials]
            if not serials:
                raise StockError(
                    _l(
                        "%(part)s is serialised: give one serial number per unit",
                        part=line.part_number,
                    )
                )
            if line.quantity and line.quantity != len(serials):
                raise StockError(
                    _l(
                        "%(part)s: quantity %(quantity)d but %(count)d serial numbers",
                        part=line.part_number,
                        quantity=line.quantity,
                        count=len(serials),
                    )
                )
            for serial in serials:
                problem = serial_problem(serial)
                if problem:
                    raise StockError(problem)
            serial_count += len(serials)
            quantity = len(serials)
        else:
            if line.serials:
                raise StockError(
                    _l("%(part)s is not serialised: give a quantity only", part=line.part_number)
                )
            if not isinstance(line.quantity, int) or not 0 < line.quantity <= 100000:
                raise StockError(
                    _l("%(part)s: give a quantity of 1 or more", part=line.part_number)
                )
            quantity, serials = line.quantity, []
        checked.append((line, bom, cost, quantity, serials))
    if serial_count > MAX_SERIALS_PER_DELIVERY:
        raise StockError(
            _l("at most %(n)d serial numbers in one delivery", n=MAX_SERIALS_PER_DELIVERY)
        )
    # Duplicates inside the delivery, then against what is already recorded.
    seen: set[tuple[str, str]] = set()
    for line, _bom, _cost, _qty, serials in checked:
        for serial in serials:
            if (line.part_number, serial) in seen:
                raise StockError(
                    _l(
                        "serial %(serial)s of %(part)s appears twice in this delivery",
                        serial=serial,
                        part=line.part_number,
                    )
                )
            seen.add((line.part_number, serial))
    for part_number, serials in _by_part(seen).items():
        for chunk in _chunks(sorted(serials), 500):
            existing = db.session.scalar(
                sa.select(Component)
                .where(Component.part_number == part_number, Component.serial.in_(chunk))
                .limit(1)
            )
            if existing is not None:
                raise StockError(
                    _l(
                        "serial %(serial)s of %(part)s is already recorded (%(where)s): "
                        "nothing of this delivery was received",
                        serial=existing.serial,
                        part=part_number,
                        where=whereabouts(existing),
                    )
                )

    now = utcnow()
    delivery = Delivery(
        centre_id=centre.id,
        supplier=supplier,
        invoice_number=invoice_number,
        received_at=now,
        received_by_id=user.id,
        note=(note or "").strip(),
    )
    db.session.add(delivery)
    for line, bom, cost, quantity, serials in checked:
        dl = DeliveryLine(
            delivery=delivery,
            kit_id=line.kit_id,
            part_number=line.part_number,
            category=bom.category,
            quantity=quantity,
            unit_cost=cost,
        )
        db.session.add(dl)
        if serials:
            for serial in serials:
                component = Component(
                    centre_id=centre.id,
                    kit_id=line.kit_id,
                    part_number=line.part_number,
                    category=bom.category,
                    serial=serial,
                    unit_cost=cost,
                    delivery_line=dl,
                    status=ComponentStatus.IN_STOCK,
                    received_at=now,
                )
                db.session.add(component)
                db.session.add(
                    ComponentMove(
                        component=component,
                        from_status=None,
                        to_status=ComponentStatus.IN_STOCK,
                        at=now,
                        user_id=user.id,
                        reason=f"{supplier} {invoice_number}",
                    )
                )
        else:
            _add_to_lot(centre, line.kit_id, bom, quantity, cost)
    try:
        db.session.flush()
    except sa.exc.IntegrityError:
        # Another delivery with the same invoice or serials was saved at the same moment.
        raise StockError(
            _l("another delivery with this invoice or these serials was saved just now")
        ) from None
    record_event(
        "stock.receive",
        delivery,
        details={
            "supplier": supplier,
            "invoice": invoice_number,
            "lines": [
                {"part": dl.part_number, "quantity": dl.quantity, "unit_cost": str(dl.unit_cost)}
                for dl in delivery.lines
            ],
        },
    )
    return delivery


def _by_part(pairs) -> dict[str, set[str]]:
    grouped: dict[str, set[str]] = defaultdict(set)
    for part, serial in pairs:
        grouped[part].add(serial)
    return grouped


def _chunks(items, size):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _add_to_lot(centre: Centre, kit_id: str, bom: BomLine, quantity: int, cost: Decimal) -> None:
    lot = db.session.scalar(
        sa.select(StockLot)
        .where(StockLot.centre_id == centre.id, StockLot.part_number == bom.part_number)
        .with_for_update()
    )
    if lot is None:
        lot = StockLot(
            centre_id=centre.id,
            kit_id=kit_id,
            part_number=bom.part_number,
            category=bom.category,
            quantity_on_hand=0,
            average_cost=Decimal("0.00"),
        )
        db.session.add(lot)
    on_hand = lot.quantity_on_hand or 0
    value = (lot.average_cost or Decimal("0.00")) * on_hand + cost * quantity
    lot.quantity_on_hand = on_hand + quantity
    lot.average_cost = round_thb(value / lot.quantity_on_hand)
