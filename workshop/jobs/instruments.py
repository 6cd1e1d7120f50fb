"""A centre's register of calibrated measuring instruments, and the rule that a reading which
needs one names an instrument of the right kind, of the job's centre, calibrated on the day.

The web screens and the demo call these functions; the step's record keeps a snapshot of the
instrument (serial, certificate, due date) so later changes to the register change no evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

import sqlalchemy as sa
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from workshop.accounts.models import Centre, User
from workshop.audit.services import record_event
from workshop.columns import utcnow
from workshop.errors import DomainError
from workshop.extensions import db
from workshop.filestore import FileStore
from workshop.i18n import BANGKOK
from workshop.instrument_kinds import instrument_kinds, kind_name
from workshop.jobs.models import Instrument, Job
from workshop.manuals.schema import Step
from workshop.transactions import plain_rows

# A calibration certificate is a PDF or a photo of the paper one.
CERTIFICATE_TYPES = {b"%PDF-": "application/pdf", b"\xff\xd8\xff": "image/jpeg"}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_CERTIFICATE_BYTES = 10 * 1024 * 1024
SERIAL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ./-]{0,63}$")
# The form field of an input's instrument on the step screen.
FIELD_PREFIX = "instrument:"


class InstrumentError(DomainError):
    """A register entry or a choice of instrument the rules refuse."""

    code = "instrument"


@dataclass(frozen=True)
class NewInstrument:
    """What a supervisor enters to register an instrument."""

    kind: str
    make_model: str
    serial: str
    certificate_number: str
    calibrated_on: date
    due_on: date
    certificate: bytes = b""


def today() -> date:
    """The date in Thailand: calibration is due by the calendar of the bay."""
    return utcnow().astimezone(BANGKOK).date()


def _certificate_type(data: bytes) -> str:
    if data.startswith(PNG_MAGIC):
        return "image/png"
    for magic, content_type in CERTIFICATE_TYPES.items():
        if data.startswith(magic):
            return content_type
    raise InstrumentError(_l("the calibration certificate must be a PDF, JPEG or PNG file"))


def register_instrument(centre: Centre, new: NewInstrument, user: User, files_folder) -> Instrument:
    """Add an instrument to ``centre``'s register, refusing what is not a usable entry."""
    if new.kind not in instrument_kinds():
        raise InstrumentError(_l("unknown kind of instrument: %(kind)s", kind=new.kind))
    serial = new.serial.strip()
    if not SERIAL_RE.match(serial):
        raise InstrumentError(_l("the serial number has letters, digits, spaces, '.', '/', '-'"))
    if not new.make_model.strip() or not new.certificate_number.strip():
        raise InstrumentError(_l("make and model and the certificate number are required"))
    if new.calibrated_on > today():
        raise InstrumentError(_l("the calibration date is in the future"))
    if new.due_on <= new.calibrated_on:
        raise InstrumentError(_l("the due date must come after the calibration date"))
    if new.due_on < today():
        raise InstrumentError(
            _l("the calibration was due on %(due)s: calibrate it again first", due=new.due_on)
        )
    if len(new.certificate) > MAX_CERTIFICATE_BYTES:
        raise InstrumentError(_l("the calibration certificate is larger than 10 MB"))
    sha256 = content_type = ""
    if new.certificate:
        content_type = _certificate_type(new.certificate)
    taken = db.session.scalar(
        sa.select(Instrument.id).where(
            Instrument.centre_id == centre.id,
            Instrument.kind == new.kind,
            Instrument.serial == serial,
        )
    )
    if taken:
        raise InstrumentError(
            _l(
                "this centre already has a %(kind)s with serial %(serial)s",
                kind=new.kind,
                serial=serial,
            )
        )
    if new.certificate:
        sha256 = FileStore(files_folder).put_bytes("calibration", new.certificate)
    instrument = Instrument(
        centre_id=centre.id,
        kind=new.kind,
        make_model=new.make_model.strip()[:120],
        serial=serial,
        certificate_number=new.certificate_number.strip()[:64],
        calibrated_on=new.calibrated_on,
        due_on=new.due_on,
        certificate_sha256=sha256,
        certificate_type=content_type,
        registered_by=user,
    )
    db.session.add(instrument)
    db.session.flush()
    record_event(
        "instrument.register",
        instrument,
        centre_id=centre.id,
        details={"kind": new.kind, "serial": serial, "due_on": new.due_on.isoformat()},
    )
    return instrument


def retire_instrument(instrument: Instrument, user: User) -> None:
    """Take an instrument out of use (lost, broken, replaced); its past readings stay."""
    if instrument.retired_at is not None:
        raise InstrumentError(_l("this instrument is already retired"))
    instrument.retired_at = utcnow()
    record_event("instrument.retire", instrument, centre_id=instrument.centre_id)


def register_of(centre_ids) -> list[Instrument]:
    """The instruments of ``centre_ids`` (None: every centre), in use first, by kind and serial."""
    stmt = sa.select(Instrument).order_by(
        Instrument.centre_id,
        Instrument.retired_at.is_not(None),
        Instrument.kind,
        Instrument.serial,
    )
    if centre_ids is not None:
        stmt = stmt.where(Instrument.centre_id.in_(centre_ids))
    return list(db.session.scalars(stmt))


class UsableInstrument(NamedTuple):
    """An instrument a reading may name, as the step screen lists it."""

    id: int
    kind: str
    serial: str
    make_model: str
    due_on: date


_USABLE = (
    sa.select(
        Instrument.id, Instrument.kind, Instrument.serial, Instrument.make_model, Instrument.due_on
    )
    .where(
        Instrument.centre_id == sa.bindparam("centre_id"),
        Instrument.kind.in_(sa.bindparam("kinds", expanding=True)),
        Instrument.retired_at.is_(None),
        Instrument.calibrated_on <= sa.bindparam("day"),
        Instrument.due_on >= sa.bindparam("day"),
    )
    .order_by(Instrument.due_on.desc(), Instrument.serial)
)


def usable(centre_id: int, kinds, day: date | None = None) -> dict[str, list[UsableInstrument]]:
    """Per kind, the centre's instruments a reading may name on ``day`` (default today): not
    retired, calibrated on or before the day and due on or after it (``Instrument.usable_on``)."""
    found: dict[str, list[UsableInstrument]] = {kind: [] for kind in kinds}
    if not found:
        return found
    params = {"centre_id": centre_id, "kinds": list(found), "day": day or today()}
    for row in plain_rows(_USABLE, params):
        found[row.kind].append(UsableInstrument._make(row))
    return found


def instruments_used(job: Job, step: Step, raw_values: dict) -> dict:
    """The instrument each reading of ``step`` that needs one was taken with (``raw_values``
    holds ``instrument:<input key>`` = the instrument's id): a snapshot per input key. An input
    left empty needs none; a missing, foreign, wrong-kind, retired or overdue one is refused."""
    used = {}
    day = today()
    for inp in step.inputs:
        kind = getattr(inp, "calibrated", None)
        if kind is None or raw_values.get(inp.key) in (None, ""):
            continue
        label = inp.label(get_locale())
        kind = kind_name(kind, get_locale())
        chosen = str(raw_values.get(FIELD_PREFIX + inp.key) or "").strip()
        instrument = db.session.get(Instrument, int(chosen)) if chosen.isdigit() else None
        if instrument is None or instrument.centre_id != job.centre_id:
            raise InstrumentError(
                _l(
                    "%(input)s: choose the calibrated %(kind)s you measured with",
                    input=label,
                    kind=kind,
                )
            )
        if instrument.kind != inp.calibrated:
            raise InstrumentError(
                _l(
                    "%(input)s needs a %(kind)s, not a %(other)s",
                    input=label,
                    kind=kind,
                    other=kind_name(instrument.kind, get_locale()),
                )
            )
        if not instrument.usable_on(day):
            raise InstrumentError(
                _l(
                    "%(input)s: %(serial)s is retired or its calibration was due on %(due)s",
                    input=label,
                    serial=instrument.serial,
                    due=instrument.due_on.isoformat(),
                )
            )
        used[inp.key] = instrument.snapshot()
    return used
