"""Installing serialised components from a step's serial input (the jobs signal
``serials_signed``): each serial must be a part of the job's kit, in stock or reserved for it.
"""

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from workshop.accounts.models import User
from workshop.audit.services import record_event
from workshop.columns import utcnow
from workshop.extensions import db
from workshop.jobs.models import Job, StepRecord
from workshop.jobs.signals import serials_signed
from workshop.kits.catalogue import StockError, job_kit, normalise_serial
from workshop.kits.components import CLEARED, transition, whereabouts
from workshop.kits.models import (
    INSTALLABLE,
    Component,
    ComponentStatus,
)
from workshop.kits.spec import BomLine, KitSpec


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
            transition(
                component,
                [ComponentStatus.INSTALLED],
                ComponentStatus.IN_STOCK,
                user,
                values=CLEARED,
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
        transition(
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
