"""Domain rules of kit stock: receiving deliveries, moving serialised components, installing them
from a step's serial input, traceability, the battery register, and the cost of a job.

Plain functions with no ``request``; the caller commits. Refusals raise :class:`StockError`, a
``JobError``, so a refused install inside ``sign_step`` is shown to the technician like any other
refusal. Status changes of a component are conditional UPDATEs (``... WHERE status IN (...)``)
whose row count is checked, so two tablets moving the same serial at once give one success and
one clear refusal on every database.
"""

import csv
import io
import json
import re
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from workshop.accounts.models import Centre, User
from workshop.audit.services import record_event
from workshop.columns import utcnow
from workshop.csvexport import csv_dicts, csv_text
from workshop.extensions import db
from workshop.jobs.models import ACTIVE_STATUSES, Job, JobStatus, StepRecord, Vehicle
from workshop.jobs.services import JobError, job_seconds
from workshop.jobs.signals import serials_signed
from workshop.kits.loader import KITS_DIR, KitError, usable_kits
from workshop.kits.models import (
    INSTALLABLE,
    Component,
    ComponentMove,
    ComponentStatus,
    CostKind,
    CostLine,
    Delivery,
    DeliveryLine,
    StockConsumption,
    StockLot,
)
from workshop.kits.spec import TARGET_EXCLUDING_BATTERY, BomLine, KitSpec
from workshop.money import CENT, VAT_RATE, round_thb  # noqa: F401  (re-exported: callers import them from here)

SERIAL_RE = re.compile(r"^[A-Z0-9][A-Z0-9._/:-]{0,63}$")
MAX_SERIALS_PER_DELIVERY = 5000
CSV_COLUMNS = ("serial", "part_number", "unit_cost")


class StockError(JobError):
    """A stock operation the rules refuse; the message is shown to the user. Nothing changed."""


def parse_money(raw, *, what=None) -> Decimal:
    """A THB amount from user input ('1,850.50'); StockError when it is not one (never float)."""
    if isinstance(raw, float):
        raise TypeError("money is never a float")
    text = str(raw if raw is not None else "").strip().replace(",", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount < 0:
        raise StockError(_l("%(what)s: enter an amount in THB, e.g. 1850.50", what=what or "THB"))
    # Size first: quantize() raises on an amount beyond Decimal's precision ('1e26').
    if amount >= Decimal("10000000000"):
        raise StockError(_l("%(what)s: the amount is too large", what=what or "THB"))
    if amount != amount.quantize(CENT):
        raise StockError(_l("%(what)s: at most 2 decimal places", what=what or "THB"))
    return amount.quantize(CENT)


def normalise_serial(raw: str) -> str:
    """A serial as stored and compared: trimmed and upper-case (scanners and typing differ)."""
    return (raw or "").strip().upper()


def serial_problem(serial: str):
    """Why ``serial`` (normalised) cannot be a serial number, or None."""
    if not serial:
        return _l("the serial number is empty")
    if not SERIAL_RE.match(serial):
        return _l(
            "%(serial)s is not a serial number (letters, digits and . _ / : - only, "
            "at most 64 characters)",
            serial=serial[:70],
        )
    return None


# --- kits ------------------------------------------------------------------------------------------

_catalogue_cache: dict[tuple, tuple[dict[str, KitSpec], list[KitError]]] = {}
_job_kit_cache: OrderedDict[tuple[str, str, str], KitSpec] = OrderedDict()


def _kits_signature(root: Path) -> tuple:
    return tuple(sorted((str(p), p.stat().st_mtime_ns) for p in root.glob("*/*") if p.is_file()))


def kit_catalogue(root: Path | None = None) -> dict[str, KitSpec]:
    """Every kit of ``kit_specs/`` by id, re-read only when a file there changed."""
    root = Path(root) if root is not None else KITS_DIR
    key = (str(root), _kits_signature(root))
    if key not in _catalogue_cache:
        _catalogue_cache.clear()
        _catalogue_cache[key] = usable_kits(root)
    return _catalogue_cache[key][0]


def kit_catalogue_problems(root: Path | None = None) -> list[KitError]:
    """The kit folders the catalogue left out, each with what is wrong (shown on the kits page)."""
    kit_catalogue(root)
    return next(iter(_catalogue_cache.values()))[1]


def job_kit(job: Job) -> KitSpec | None:
    """The kit pinned by ``job`` (from its snapshot, never the file), or None when it has none.

    Cached per kit version (id, version, fingerprint): the snapshot column is read on a miss only.
    """
    if job.kit_id is None:
        return None
    key = _kit_key(job.id, job.kit_id, job.kit_version, job.kit_fingerprint)
    kit = _job_kit_cache.get(key)
    if kit is not None:
        _job_kit_cache.move_to_end(key)
        return kit
    if not job.kit_snapshot:
        return None
    return _cache_kit(key, job.kit_snapshot)


def _kit_key(job_id, kit_id, kit_version, fingerprint) -> tuple[str, str, str]:
    return (str(kit_id), str(kit_version), fingerprint or f"job-{job_id}")


def _cache_kit(key: tuple[str, str, str], snapshot: dict) -> KitSpec:
    kit = KitSpec.model_validate(snapshot)
    _job_kit_cache[key] = kit
    if len(_job_kit_cache) > 64:  # one entry per kit version, not per job: bounded
        _job_kit_cache.popitem(last=False)
    return kit


def part_index(kits=None) -> dict[str, BomLine]:
    """Every part of the catalogue by part number (common parts appear in several kits)."""
    parts: dict[str, BomLine] = {}
    for kit in (kits if kits is not None else kit_catalogue()).values():
        for line in kit.bom:
            parts.setdefault(line.part_number, line)
    return parts


def _kit_part(kit_id: str, part_number: str) -> BomLine:
    kit = kit_catalogue().get(kit_id)
    if kit is None:
        raise StockError(_l("unknown kit %(kit)s", kit=kit_id))
    try:
        return kit.part(part_number)
    except KeyError:
        raise StockError(
            _l("kit %(kit)s has no part %(part)s", kit=kit_id, part=part_number)
        ) from None


# --- receiving -------------------------------------------------------------------------------------


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
        bom = _kit_part(line.kit_id, line.part_number)
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
        db.session.rollback()
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


# --- moves -----------------------------------------------------------------------------------------


def whereabouts(component: Component) -> str:
    """Where a component is, in words (for refusals)."""
    status = component.status
    if status == ComponentStatus.INSTALLED and component.job is not None:
        return str(
            _l(
                "installed in vehicle %(vin)s, job %(job)s",
                vin=component.vehicle.vin if component.vehicle else "?",
                job=component.job.reference,
            )
        )
    if status == ComponentStatus.RESERVED and component.job is not None:
        return str(_l("reserved for job %(job)s", job=component.job.reference))
    if status == ComponentStatus.RETURNED:
        return str(_l("returned to the supplier"))
    if status == ComponentStatus.SCRAPPED:
        return str(_l("scrapped"))
    return str(_l("in stock at %(centre)s", centre=component.centre.code))


def _transition(
    component: Component,
    allowed_from,
    to_status: ComponentStatus,
    user: User,
    *,
    values: dict,
    job: Job | None = None,
    record: StepRecord | None = None,
    reason: str = "",
    extra_where=(),
) -> ComponentMove:
    """Move ``component`` atomically: UPDATE ... WHERE status IN allowed_from, or refuse."""
    before = component.status
    result = db.session.execute(
        sa.update(Component)
        .where(Component.id == component.id, Component.status.in_(list(allowed_from)), *extra_where)
        .values(status=to_status, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.refresh(component)
        raise StockError(
            _l(
                "serial %(serial)s changed just now: it is %(where)s",
                serial=component.serial,
                where=whereabouts(component),
            )
        )
    db.session.refresh(component)
    move = ComponentMove(
        component_id=component.id,
        from_status=before,
        to_status=to_status,
        at=utcnow(),
        user_id=user.id,
        job_id=job.id if job is not None else None,
        record_id=record.id if record is not None else None,
        reason=reason,
    )
    db.session.add(move)
    return move


_CLEARED = dict(
    job_id=None,
    vehicle_id=None,
    step_id=None,
    input_key=None,
    record_id=None,
    installed_at=None,
    installed_by_id=None,
)


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise StockError(_l("give a reason"))
    if len(reason) > 2000:
        raise StockError(_l("the reason is too long (at most 2000 characters)"))
    return reason


def _check_part_in_kit(component: Component, job: Job) -> None:
    kit = job_kit(job)
    if kit is None:
        raise StockError(_l("job %(job)s has no kit yet", job=job.reference))
    if component.part_number not in {p.part_number for p in kit.bom}:
        raise StockError(
            _l(
                "serial %(serial)s is part %(part)s, which is not in this job's kit %(kit)s",
                serial=component.serial,
                part=component.part_number,
                kit=kit.id,
            )
        )


def reserve_component(component: Component, job: Job, user: User) -> None:
    """Set a component in stock aside for a job of the same centre."""
    if job.status not in ACTIVE_STATUSES:
        raise StockError(_l("job %(job)s is closed", job=job.reference))
    if component.centre_id != job.centre_id:
        raise StockError(
            _l(
                "serial %(serial)s is at centre %(centre)s, not at the job's centre",
                serial=component.serial,
                centre=component.centre.code,
            )
        )
    if component.status != ComponentStatus.IN_STOCK:
        raise StockError(
            _l(
                "serial %(serial)s cannot be reserved: it is %(where)s",
                serial=component.serial,
                where=whereabouts(component),
            )
        )
    _check_part_in_kit(component, job)
    _transition(
        component,
        [ComponentStatus.IN_STOCK],
        ComponentStatus.RESERVED,
        user,
        values={"job_id": job.id},
        job=job,
    )
    record_event(
        "component.reserve",
        component,
        details={"serial": component.serial, "part": component.part_number, "job": job.reference},
    )


def release_component(component: Component, user: User, reason: str = "") -> None:
    """Put a reserved component back in stock."""
    if component.status != ComponentStatus.RESERVED:
        raise StockError(
            _l(
                "serial %(serial)s is not reserved: it is %(where)s",
                serial=component.serial,
                where=whereabouts(component),
            )
        )
    job = component.job
    _transition(
        component,
        [ComponentStatus.RESERVED],
        ComponentStatus.IN_STOCK,
        user,
        values=_CLEARED,
        job=job,
        reason=(reason or "").strip(),
    )
    record_event("component.release", component, details={"serial": component.serial})


def return_component(component: Component, user: User, reason: str) -> None:
    """Send a component back to the supplier (defective, warranty, wrong part), with a reason."""
    _end_of_life(component, user, reason, ComponentStatus.RETURNED, "component.return")


def scrap_component(component: Component, user: User, reason: str) -> None:
    """Scrap a component (damaged, failed test), with a reason."""
    _end_of_life(component, user, reason, ComponentStatus.SCRAPPED, "component.scrap")


def _end_of_life(component, user, reason, to_status, action):
    reason = _require_reason(reason)
    allowed = [ComponentStatus.IN_STOCK, ComponentStatus.RESERVED, ComponentStatus.INSTALLED]
    if component.status not in allowed:
        raise StockError(
            _l(
                "serial %(serial)s is already %(where)s",
                serial=component.serial,
                where=whereabouts(component),
            )
        )
    job = component.job
    vehicle = component.vehicle
    _transition(component, allowed, to_status, user, values=_CLEARED, job=job, reason=reason)
    record_event(
        action,
        component,
        details={
            "serial": component.serial,
            "part": component.part_number,
            "reason": reason,
            "job": job.reference if job else None,
            "vin": vehicle.vin if vehicle else None,
        },
    )


# --- installing from a step ------------------------------------------------------------------------


def _allowed_parts(kit: KitSpec, serial_input) -> dict[str, BomLine]:
    return {
        line.part_number: line
        for line in kit.serialised_parts
        if (serial_input.part_number and line.part_number == serial_input.part_number)
        or (serial_input.category and line.category == serial_input.category)
    }


def _wanted(serial_input) -> str:
    if serial_input.part_number:
        return str(_l("part %(part)s", part=serial_input.part_number))
    return str(_l("a %(category)s component", category=serial_input.category))


@serials_signed.connect
def _on_serials_signed(job, *, step, serial_input, serials, record, user):
    """The jobs feature signed a step with serial inputs: install those components."""
    install_serials(job, step, serial_input, serials, record, user)


def install_serials(job: Job, step, serial_input, serial_numbers, record: StepRecord, user: User):
    """Install the components named by a step's serial input in the job's vehicle.

    Each serial must be a stocked part of this job's kit that the input asks for, at the job's
    centre, in stock or reserved for this job. Re-signing a step (a correction) keeps the serials
    it still names and puts the ones it no longer names back in stock. A job without a kit keeps
    the serials in its step record only (there is nothing to trace them against).
    """
    kit = job_kit(job)
    if kit is None:
        return []
    allowed = _allowed_parts(kit, serial_input)
    if not allowed:
        raise StockError(
            _l(
                "kit %(kit)s has no serialised part for %(wanted)s",
                kit=kit.id,
                wanted=_wanted(serial_input),
            )
        )
    serials = [normalise_serial(s) for s in serial_numbers]
    already = list(
        db.session.scalars(
            sa.select(Component).where(
                Component.job_id == job.id,
                Component.step_id == step.id,
                Component.input_key == serial_input.key,
                Component.status == ComponentStatus.INSTALLED,
            )
        )
    )
    for component in already:
        if component.serial not in serials or component.part_number not in allowed:
            _transition(
                component,
                [ComponentStatus.INSTALLED],
                ComponentStatus.IN_STOCK,
                user,
                values=_CLEARED,
                job=job,
                record=record,
                reason=f"step {step.id} corrected (record {record.seq})",
            )
            record_event(
                "component.uninstall",
                component,
                details={"serial": component.serial, "job": job.reference, "step": step.id},
            )
    installed = []
    for serial in serials:
        component = _component_for(job, step, serial_input, serial, kit, allowed)
        if (
            component.status == ComponentStatus.INSTALLED
            and component.job_id == job.id
            and component.step_id == step.id
        ):
            component.record_id = record.id  # the correction now carries it
            installed.append(component)
            continue
        now = utcnow()
        _transition(
            component,
            INSTALLABLE,
            ComponentStatus.INSTALLED,
            user,
            values=dict(
                job_id=job.id,
                vehicle_id=job.vehicle_id,
                step_id=step.id,
                input_key=serial_input.key,
                record_id=record.id,
                installed_at=now,
                installed_by_id=user.id,
            ),
            job=job,
            record=record,
            reason=f"step {step.id}",
            # Reserved for another job is not installable here, even in a race.
            extra_where=(
                sa.or_(
                    Component.status == ComponentStatus.IN_STOCK,
                    Component.job_id == job.id,
                ),
            ),
        )
        record_event(
            "component.install",
            component,
            details={
                "serial": serial,
                "part": component.part_number,
                "job": job.reference,
                "vin": job.vehicle.vin,
                "step": step.id,
            },
        )
        installed.append(component)
    return installed


def _component_for(job, step, serial_input, serial, kit, allowed) -> Component:
    """The component ``serial`` names for this input, or a JobError saying why it cannot be."""
    candidates = list(db.session.scalars(sa.select(Component).where(Component.serial == serial)))
    if not candidates:
        raise StockError(
            _l("serial %(serial)s is unknown: receive it into stock first", serial=serial)
        )
    matching = [c for c in candidates if c.part_number in allowed]
    if not matching:
        c = candidates[0]
        if c.part_number not in {p.part_number for p in kit.bom}:
            raise StockError(
                _l(
                    "serial %(serial)s is part %(part)s, which is not in this job's kit %(kit)s",
                    serial=serial,
                    part=c.part_number,
                    kit=kit.id,
                )
            )
        raise StockError(
            _l(
                "serial %(serial)s is part %(part)s (%(category)s), but this step needs %(wanted)s",
                serial=serial,
                part=c.part_number,
                category=c.category,
                wanted=_wanted(serial_input),
            )
        )
    if len(matching) > 1:
        here = [c for c in matching if c.centre_id == job.centre_id]
        matching = here or matching
        if len(matching) > 1:
            raise StockError(
                _l(
                    "serial %(serial)s belongs to several parts (%(parts)s): this step "
                    "cannot tell which one",
                    serial=serial,
                    parts=", ".join(c.part_number for c in matching),
                )
            )
    component = matching[0]
    if component.status == ComponentStatus.INSTALLED:
        if component.job_id == job.id and component.step_id == step.id:
            return component
        raise StockError(
            _l(
                "serial %(serial)s is already %(where)s",
                serial=serial,
                where=whereabouts(component),
            )
        )
    if component.centre_id != job.centre_id:
        raise StockError(
            _l(
                "serial %(serial)s is in stock at centre %(centre)s, not at this job's centre",
                serial=serial,
                centre=component.centre.code,
            )
        )
    if component.status == ComponentStatus.RESERVED and component.job_id != job.id:
        raise StockError(
            _l(
                "serial %(serial)s is %(where)s",
                serial=serial,
                where=whereabouts(component),
            )
        )
    if component.status not in INSTALLABLE:
        raise StockError(
            _l(
                "serial %(serial)s was %(where)s: it cannot be installed",
                serial=serial,
                where=whereabouts(component),
            )
        )
    return component


# --- unserialised stock ----------------------------------------------------------------------------


def consume_stock(job: Job, part_number: str, quantity: int, user: User) -> StockConsumption:
    """Take unserialised parts from the job's centre's stock for the job, at the average cost."""
    if job.status not in ACTIVE_STATUSES:
        raise StockError(_l("job %(job)s is closed", job=job.reference))
    if not isinstance(quantity, int) or not 0 < quantity <= 100000:
        raise StockError(_l("give a quantity of 1 or more"))
    lot = db.session.scalar(
        sa.select(StockLot).where(
            StockLot.centre_id == job.centre_id, StockLot.part_number == part_number
        )
    )
    if lot is None:
        raise StockError(_l("there is no stock of %(part)s at this centre", part=part_number))
    result = db.session.execute(
        sa.update(StockLot)
        .where(StockLot.id == lot.id, StockLot.quantity_on_hand >= quantity)
        .values(quantity_on_hand=StockLot.quantity_on_hand - quantity)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(lot)
    if result.rowcount != 1:
        raise StockError(
            _l(
                "only %(n)d of %(part)s in stock",
                n=lot.quantity_on_hand,
                part=part_number,
            )
        )
    consumption = StockConsumption(
        job_id=job.id,
        lot_id=lot.id,
        kit_id=lot.kit_id,
        part_number=part_number,
        category=lot.category,
        quantity=quantity,
        unit_cost=lot.average_cost,
        user_id=user.id,
        at=utcnow(),
    )
    db.session.add(consumption)
    db.session.flush()
    record_event(
        "stock.consume",
        consumption,
        centre_id=job.centre_id,
        details={
            "job": job.reference,
            "part": part_number,
            "quantity": quantity,
            "unit_cost": str(lot.average_cost),
        },
    )
    return consumption


@dataclass
class StockRow:
    """Stock of one part at one centre."""

    centre: Centre
    kit_id: str
    part_number: str
    category: str
    serialised: bool
    in_stock: int = 0
    reserved: int = 0
    installed: int = 0
    value: Decimal = Decimal("0.00")
    average_cost: Decimal | None = None


def stock_levels(scope) -> list[StockRow]:
    """Stock per part and centre within ``scope``: serialised counts by status, lots on hand."""
    rows: dict[tuple[int, str], StockRow] = {}
    centres = {c.id: c for c in db.session.scalars(scope.filter(sa.select(Centre), Centre.id))}
    stmt = sa.select(
        Component.centre_id,
        Component.kit_id,
        Component.part_number,
        Component.category,
        Component.status,
        sa.func.count(Component.id),
        sa.func.coalesce(sa.func.sum(Component.unit_cost), 0),
    ).group_by(
        Component.centre_id,
        Component.kit_id,
        Component.part_number,
        Component.category,
        Component.status,
    )
    for centre_id, kit_id, part, category, status, n, value in db.session.execute(
        scope.filter(stmt, Component.centre_id)
    ):
        row = rows.setdefault(
            (centre_id, part), StockRow(centres[centre_id], kit_id, part, category, True)
        )
        if status == ComponentStatus.IN_STOCK:
            row.in_stock += n
            row.value += round_thb(value)
        elif status == ComponentStatus.RESERVED:
            row.reserved += n
            row.value += round_thb(value)
        elif status == ComponentStatus.INSTALLED:
            row.installed += n
    for lot in db.session.scalars(scope.filter(sa.select(StockLot), StockLot.centre_id)):
        row = rows.setdefault(
            (lot.centre_id, lot.part_number),
            StockRow(centres[lot.centre_id], lot.kit_id, lot.part_number, lot.category, False),
        )
        row.in_stock += lot.quantity_on_hand
        row.value += round_thb(lot.average_cost * lot.quantity_on_hand)
        row.average_cost = lot.average_cost
    return sorted(rows.values(), key=lambda r: (r.centre.code, r.category, r.part_number))


# --- traceability ----------------------------------------------------------------------------------


def serial_history(component: Component) -> list[ComponentMove]:
    """Every move of a component, oldest first."""
    return list(
        db.session.scalars(
            sa.select(ComponentMove)
            .where(ComponentMove.component_id == component.id)
            .order_by(ComponentMove.at, ComponentMove.id)
        )
    )


def find_serial(text: str, scope, limit: int = 50) -> list[Component]:
    """Components whose serial equals ``text`` (normalised), else contains it, within ``scope``."""
    serial = normalise_serial(text)
    if not serial:
        return []
    stmt = scope.filter(sa.select(Component), Component.centre_id)
    exact = list(db.session.scalars(stmt.where(Component.serial == serial).limit(limit)))
    if exact:
        return exact
    pattern = "%" + serial.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return list(
        db.session.scalars(
            stmt.where(Component.serial.like(pattern, escape="\\"))
            .order_by(Component.serial)
            .limit(limit)
        )
    )


def vehicle_components(vehicle: Vehicle, scope=None) -> list[Component]:
    """Every component installed in ``vehicle`` (within ``scope`` when given)."""
    stmt = sa.select(Component).where(
        Component.vehicle_id == vehicle.id, Component.status == ComponentStatus.INSTALLED
    )
    if scope is not None:
        stmt = scope.filter(stmt, Component.centre_id)
    return list(
        db.session.scalars(
            stmt.order_by(Component.category, Component.part_number, Component.serial)
        )
    )


def vehicle_jobs(vehicle: Vehicle, scope=None) -> list[Job]:
    """The jobs of ``vehicle`` (within ``scope`` when given), newest first."""
    stmt = sa.select(Job).where(Job.vehicle_id == vehicle.id)
    if scope is not None:
        stmt = scope.filter(stmt, Job.centre_id)
    return list(db.session.scalars(stmt.order_by(Job.created_at.desc(), Job.id.desc())))


BATTERY_FIELDS = (
    "vin",
    "serial",
    "part_number",
    "part_name",
    "unit",
    "chemistry",
    "cell_model",
    "capacity_ah",
    "nominal_voltage_v",
    "energy_kwh",
    "installed_at",
    "job",
    "kit",
    "centre",
)


def _battery_unit(line: BomLine, rating) -> tuple[str, float, float, float]:
    """(unit, capacity Ah, nominal V, energy kWh) of one serialised battery part of a kit.

    A line with as many units as the pack has cells is a cell; a single unit is the pack; anything
    in between is a module of ``cells / quantity`` cells in series.
    """
    cells = rating.cells_series * rating.cells_parallel
    if line.quantity >= cells:
        return (
            "cell",
            rating.cell_capacity_ah,
            rating.cell_nominal_voltage_v,
            round(rating.energy_kwh / cells, 4),
        )
    if line.quantity == 1:
        return (
            "pack",
            rating.cell_capacity_ah * rating.cells_parallel,
            rating.nominal_voltage_v,
            rating.energy_kwh,
        )
    return (
        "module",
        rating.cell_capacity_ah * rating.cells_parallel,
        round(rating.nominal_voltage_v / line.quantity, 2),
        round(rating.energy_kwh / line.quantity, 4),
    )


def battery_register(vehicle: Vehicle, scope=None) -> dict:
    """The traction battery of ``vehicle`` unit by unit, for recalls, second life and recycling."""
    entries, packs = [], {}
    for component in vehicle_components(vehicle, scope):
        if component.category != "battery" or component.job is None:
            continue
        kit = job_kit(component.job)
        line = None
        if kit is not None:
            try:
                line = kit.part(component.part_number)
            except KeyError:
                line = None
        rating = kit.ratings.battery if kit is not None else None
        entry = dict.fromkeys(BATTERY_FIELDS, "")
        entry.update(
            vin=vehicle.vin,
            serial=component.serial,
            part_number=component.part_number,
            part_name=line.name_en if line else "",
            installed_at=component.installed_at.isoformat() if component.installed_at else "",
            job=component.job.reference,
            kit=f"{kit.id} v{kit.version}" if kit else component.kit_id,
            centre=component.centre.code,
        )
        if rating is not None and line is not None:
            unit, ah, volts, kwh = _battery_unit(line, rating)
            entry.update(
                unit=unit,
                chemistry=rating.chemistry,
                cell_model=f"{rating.cell_manufacturer} {rating.cell_model}",
                capacity_ah=ah,
                nominal_voltage_v=volts,
                energy_kwh=kwh,
            )
            packs[kit.id] = {
                "kit": f"{kit.id} v{kit.version}",
                "chemistry": rating.chemistry,
                "cell_manufacturer": rating.cell_manufacturer,
                "cell_model": rating.cell_model,
                "cells_series": rating.cells_series,
                "cells_parallel": rating.cells_parallel,
                "cell_capacity_ah": rating.cell_capacity_ah,
                "nominal_voltage_v": rating.nominal_voltage_v,
                "energy_kwh": rating.energy_kwh,
            }
        entries.append(entry)
    return {
        "vehicle": {
            "vin": vehicle.vin,
            "make": vehicle.make,
            "model": vehicle.model,
            "year": vehicle.year,
            "plate": vehicle.plate,
            "province": vehicle.province,
        },
        "generated_at": utcnow().isoformat(timespec="seconds"),
        "packs": list(packs.values()),
        "units": entries,
    }


def battery_register_json(register: dict) -> str:
    """The battery register as JSON (UTF-8, Thai kept readable)."""
    return json.dumps(register, ensure_ascii=False, indent=2)


def battery_register_csv(register: dict) -> str:
    """The battery register as CSV, one battery unit a row."""
    return csv_dicts(BATTERY_FIELDS, register["units"])


# --- costs -----------------------------------------------------------------------------------------


def add_cost_line(
    job: Job, user: User, *, kind: str, description: str, quantity, unit_cost
) -> CostLine:
    """Add a consumable, sublet or other cost to a job (supervisors of the job's centre)."""
    if user.centre_id != job.centre_id:
        raise StockError(_l("only staff of the job's centre can add costs to it"))
    if job.status not in ACTIVE_STATUSES:
        raise StockError(_l("job %(job)s is closed", job=job.reference))
    try:
        kind = CostKind(kind)
    except ValueError:
        raise StockError(_l("choose the kind of cost")) from None
    description = (description or "").strip()
    if not description or len(description) > 200:
        raise StockError(_l("describe the cost (at most 200 characters)"))
    if isinstance(quantity, float) or isinstance(unit_cost, float):
        raise TypeError("money is never a float")
    try:
        quantity = Decimal(str(quantity).strip().replace(",", ""))
    except InvalidOperation:
        quantity = None
    if (
        quantity is None
        or not quantity.is_finite()
        or quantity <= 0
        or quantity >= 10_000_000  # before quantize(), which raises on '1e30'
        or quantity != quantity.quantize(Decimal("0.001"))
    ):
        raise StockError(_l("the quantity must be a positive number with at most 3 decimals"))
    unit_cost = parse_money(unit_cost, what=_l("Unit cost"))
    line = CostLine(
        job_id=job.id,
        kind=kind,
        description=description,
        quantity=quantity,
        unit_cost=unit_cost,
        added_by_id=user.id,
        added_at=utcnow(),
    )
    db.session.add(line)
    db.session.flush()
    record_event(
        "cost.add",
        line,
        centre_id=job.centre_id,
        details={
            "job": job.reference,
            "kind": kind.value,
            "description": description,
            "quantity": str(quantity),
            "unit_cost": str(unit_cost),
        },
    )
    return line


@dataclass(frozen=True)
class SheetLine:
    """One line of a cost sheet."""

    section: str  # "parts", "labour" or "other"
    category: str  # a kit category, "labour", or a cost kind
    description: str
    quantity: Decimal
    unit_cost: Decimal
    amount: Decimal
    battery: bool = False
    part_number: str = ""
    serial: str = ""


@dataclass(frozen=True)
class KitPartProgress:
    """How much of one kit line is on the car: a line partly installed costs only its share."""

    part_number: str
    category: str
    needed: Decimal
    installed: Decimal
    kit_cost: Decimal  # the kit's price for the whole line

    @property
    def partial(self) -> bool:
        """Some of the line is installed, not all of it."""
        return 0 < self.installed < self.needed


@dataclass
class CostSheet:
    """The live cost of a job, THB excluding VAT unless named otherwise."""

    job: Job
    lines: list[SheetLine] = field(default_factory=list)
    kit_parts: list[KitPartProgress] = field(default_factory=list)
    parts_total: Decimal = Decimal("0.00")
    battery_total: Decimal = Decimal("0.00")
    labour_seconds: int = 0
    labour_rate: Decimal = Decimal("0.00")
    labour_total: Decimal = Decimal("0.00")
    other_total: Decimal = Decimal("0.00")
    target: Decimal = TARGET_EXCLUDING_BATTERY
    vat_rate: Decimal = VAT_RATE

    @property
    def total(self) -> Decimal:
        """Parts, labour and other lines, battery included."""
        return self.parts_total + self.labour_total + self.other_total

    @property
    def total_excluding_battery(self) -> Decimal:
        """What the programme target is measured against."""
        return self.total - self.battery_total

    @property
    def margin(self) -> Decimal:
        """Target minus the total excluding battery: positive under the target, negative over."""
        return self.target - self.total_excluding_battery

    @property
    def within_target(self) -> bool:
        """True when the total excluding battery does not exceed the target."""
        return self.margin >= 0

    @property
    def vat(self) -> Decimal:
        """VAT on the total, rounded half-up to the satang."""
        return round_thb(self.total * self.vat_rate)

    @property
    def grand_total(self) -> Decimal:
        """The total with VAT."""
        return self.total + self.vat

    @property
    def labour_hours(self) -> Decimal:
        """Time on steps in hours, 2 places (for display)."""
        return round_thb(Decimal(self.labour_seconds) / 3600)

    def by_category(self) -> dict[str, Decimal]:
        """Amount per category (kit categories, labour, cost kinds), largest first."""
        totals: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
        for line in self.lines:
            totals[line.category] += line.amount
        return dict(sorted(totals.items(), key=lambda kv: kv[1], reverse=True))


def _is_battery(kit: KitSpec | None, part_number: str, category: str) -> bool:
    """Whether a part counts as battery: by the job's pinned kit, else by its category."""
    if kit is not None:
        try:
            return kit.part(part_number).counts_as_battery
        except KeyError:
            pass
    return category == "battery"


def cost_sheet(job: Job) -> CostSheet:
    """The job's cost: installed serials at their received cost, unserialised parts consumed at
    their average cost, labour (time on steps × the centre's rate) and the supervisor's lines."""
    kit = job_kit(job)

    def is_battery(part_number: str, category: str) -> bool:
        return _is_battery(kit, part_number, category)

    sheet = CostSheet(job=job)
    components = db.session.scalars(
        sa.select(Component)
        .where(Component.job_id == job.id, Component.status == ComponentStatus.INSTALLED)
        .order_by(Component.category, Component.part_number, Component.serial)
    )
    for c in components:
        battery = is_battery(c.part_number, c.category)
        sheet.lines.append(
            SheetLine(
                "parts",
                c.category,
                c.part_number,
                Decimal(1),
                c.unit_cost,
                c.unit_cost,
                battery,
                c.part_number,
                c.serial,
            )
        )
    consumptions = db.session.scalars(
        sa.select(StockConsumption)
        .where(StockConsumption.job_id == job.id)
        .order_by(StockConsumption.id)
    )
    for s in consumptions:
        sheet.lines.append(
            SheetLine(
                "parts",
                s.category,
                s.part_number,
                Decimal(s.quantity),
                s.unit_cost,
                round_thb(s.unit_cost * s.quantity),
                is_battery(s.part_number, s.category),
                s.part_number,
            )
        )
    for line in sheet.lines:
        sheet.parts_total += line.amount
        if line.battery:
            sheet.battery_total += line.amount
    if kit is not None:
        on_car: dict[str, Decimal] = defaultdict(Decimal)
        for line in sheet.lines:
            on_car[line.part_number] += line.quantity
        sheet.kit_parts = [
            KitPartProgress(
                b.part_number,
                b.category,
                Decimal(b.quantity),
                on_car.get(b.part_number, Decimal(0)),
                b.line_cost,
            )
            for b in kit.bom
        ]
    sheet.labour_seconds = job_seconds(job)
    sheet.labour_rate = job.centre.labour_rate or Decimal("0.00")
    sheet.labour_total = round_thb(Decimal(sheet.labour_seconds) * sheet.labour_rate / 3600)
    if sheet.labour_seconds:
        sheet.lines.append(
            SheetLine(
                "labour",
                "labour",
                "labour",
                sheet.labour_hours,
                sheet.labour_rate,
                sheet.labour_total,
            )
        )
    for line in db.session.scalars(
        sa.select(CostLine).where(CostLine.job_id == job.id).order_by(CostLine.id)
    ):
        sheet.lines.append(
            SheetLine(
                "other",
                line.kind.value,
                line.description,
                line.quantity,
                line.unit_cost,
                line.amount,
            )
        )
        sheet.other_total += line.amount
    return sheet


def cost_sheet_csv(sheet: CostSheet) -> str:
    """The cost sheet as CSV: one row a line, then the totals."""
    rows = [
        [
            "section",
            "category",
            "description",
            "part_number",
            "serial",
            "quantity",
            "unit_cost",
            "amount",
            "battery",
        ]
    ]
    for line in sheet.lines:
        rows.append(
            [
                line.section,
                line.category,
                line.description,
                line.part_number,
                line.serial,
                line.quantity,
                line.unit_cost,
                line.amount,
                "yes" if line.battery else "no",
            ]
        )
    for label, amount in (
        ("parts", sheet.parts_total),
        ("battery", sheet.battery_total),
        ("labour", sheet.labour_total),
        ("other", sheet.other_total),
        ("total", sheet.total),
        ("total_excluding_battery", sheet.total_excluding_battery),
        ("target_excluding_battery", sheet.target),
        ("margin", sheet.margin),
        ("vat_7", sheet.vat),
        ("grand_total", sheet.grand_total),
    ):
        rows.append(["total", label, "", "", "", "", "", amount, ""])
    return csv_text(rows[0], rows[1:])


# --- reports ---------------------------------------------------------------------------------------

REPORTED_STATUSES = (JobStatus.AWAITING_INSPECTION, JobStatus.APPROVED, JobStatus.CERTIFIED)


@dataclass
class ReportRow:
    """Conversion cost excluding battery over a group of jobs."""

    group: str
    label: str
    jobs: int
    average: Decimal
    minimum: Decimal
    maximum: Decimal
    target: Decimal = TARGET_EXCLUDING_BATTERY

    @property
    def average_margin(self) -> Decimal:
        """Target minus the average: positive under, negative over."""
        return self.target - self.average


@dataclass
class CostReport:
    """Conversion costs excluding battery per car model and per centre."""

    by_model: list[ReportRow]
    by_centre: list[ReportRow]
    jobs: int
    include_open: bool
    target: Decimal = TARGET_EXCLUDING_BATTERY

    @property
    def chart_max(self) -> Decimal:
        """The scale of the chart: the largest maximum or the target, whichever is higher."""
        values = [r.maximum for r in self.by_model + self.by_centre] + [self.target]
        return max(values)


def _summarise(group, label, totals) -> ReportRow:
    return ReportRow(
        group,
        label,
        len(totals),
        round_thb(sum(totals, Decimal("0.00")) / len(totals)),
        min(totals),
        max(totals),
    )


def cost_report(scope, *, include_open: bool = False) -> CostReport:
    """Average, minimum and maximum conversion cost excluding battery, per car model and centre.

    Finished conversions (submitted, approved, certified) count; ``include_open`` adds the jobs still
    in progress. Training and cancelled jobs never count. Each job's total is the one its cost
    sheet shows, summed in a fixed number of queries whatever the number of jobs.
    """
    statuses = list(REPORTED_STATUSES) + ([JobStatus.OPEN] if include_open else [])
    reported = scope.filter(
        sa.select(Job.id).where(Job.status.in_(statuses), Job.is_training.is_(False)),
        Job.centre_id,
    )
    jobs = db.session.execute(
        reported.add_columns(
            Job.kit_id,
            Job.kit_version,
            Job.kit_fingerprint,
            Job.labour_seconds,
            Vehicle.make,
            Vehicle.model,
            Centre.code,
            Centre.labour_rate,
        )
        .join(Vehicle, Vehicle.id == Job.vehicle_id)
        .join(Centre, Centre.id == Job.centre_id)
        .order_by(Job.id)
    ).all()
    kits = _report_kits(jobs)
    parts = defaultdict(lambda: Decimal("0.00"))  # job id -> parts total excluding battery
    rows = db.session.execute(
        sa.select(
            Component.job_id,
            Component.part_number,
            Component.category,
            sa.func.sum(Component.unit_cost),
        )
        .where(Component.job_id.in_(reported), Component.status == ComponentStatus.INSTALLED)
        .group_by(Component.job_id, Component.part_number, Component.category)
    )
    for job_id, part_number, category, amount in rows:
        if not _is_battery(kits.get(job_id), part_number, category):
            parts[job_id] += round_thb(amount)
    rows = db.session.execute(
        sa.select(
            StockConsumption.job_id,
            StockConsumption.part_number,
            StockConsumption.category,
            StockConsumption.unit_cost,
            StockConsumption.quantity,
        ).where(StockConsumption.job_id.in_(reported))
    )
    for job_id, part_number, category, unit_cost, quantity in rows:
        if not _is_battery(kits.get(job_id), part_number, category):
            parts[job_id] += round_thb(unit_cost * quantity)
    other = defaultdict(lambda: Decimal("0.00"))
    for job_id, quantity, unit_cost in db.session.execute(
        sa.select(CostLine.job_id, CostLine.quantity, CostLine.unit_cost).where(
            CostLine.job_id.in_(reported)
        )
    ):
        other[job_id] += round_thb(quantity * unit_cost)
    by_model, by_centre = defaultdict(list), defaultdict(list)
    for job_id, _kit, _version, _fingerprint, seconds, make, model, centre, rate in jobs:
        labour = round_thb(Decimal(int(seconds or 0)) * (rate or Decimal("0.00")) / 3600)
        total = parts[job_id] + labour + other[job_id]
        by_model[f"{make} {model}"].append(total)
        by_centre[centre].append(total)
    return CostReport(
        by_model=[_summarise("model", k, v) for k, v in sorted(by_model.items())],
        by_centre=[_summarise("centre", k, v) for k, v in sorted(by_centre.items())],
        jobs=len(jobs),
        include_open=include_open,
    )


def _report_kits(jobs) -> dict[int, KitSpec]:
    """The pinned kit of each reported job, reading one snapshot per kit version not cached."""
    kits: dict[int, KitSpec] = {}
    for job_id, kit_id, version, fingerprint, *_rest in jobs:
        if kit_id is None:
            continue
        key = _kit_key(job_id, kit_id, version, fingerprint)
        kit = _job_kit_cache.get(key)
        if kit is None:
            snapshot = db.session.scalar(sa.select(Job.kit_snapshot).where(Job.id == job_id))
            if not snapshot:
                continue
            kit = _cache_kit(key, snapshot)
        kits[job_id] = kit
    return kits


def cost_report_csv(report: CostReport) -> str:
    """The cost report as CSV."""
    rows = [["group", "name", "jobs", "average", "minimum", "maximum", "target", "average_margin"]]
    for row in report.by_model + report.by_centre:
        rows.append(
            [
                row.group,
                row.label,
                row.jobs,
                row.average,
                row.minimum,
                row.maximum,
                row.target,
                row.average_margin,
            ]
        )
    return csv_text(rows[0], rows[1:])


def kit_bom_csv(kit: KitSpec) -> str:
    """A kit's bill of material with standard costs as CSV."""
    rows = [
        [
            "part_number",
            "name_en",
            "name_th",
            "category",
            "quantity",
            "unit_cost",
            "line_cost",
            "serialised",
            "counts_as_battery",
            "supplier",
        ]
    ]
    for line in kit.bom:
        rows.append(
            [
                line.part_number,
                line.name_en,
                line.name_th,
                line.category,
                line.quantity,
                line.unit_cost,
                line.line_cost,
                "yes" if line.serialised else "no",
                "yes" if line.counts_as_battery else "no",
                line.supplier,
            ]
        )
    return csv_text(rows[0], rows[1:])
