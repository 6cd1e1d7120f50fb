"""Domain rules of conversion jobs: intake, progress, signing, countersigning, corrections, photos.

Views and the CLI call these; they commit. Nothing here reads ``request``.
"""

import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa
from flask_babel import LazyString, get_locale
from flask_babel import lazy_gettext as _l

from workshop.accounts.models import Centre, Role, User
from workshop.accounts.services import holds_qualification
from workshop.audit.services import record_event
from workshop.columns import utcnow
from workshop.errors import DomainError
from workshop.extensions import db
from workshop.i18n import BANGKOK, to_bangkok
from workshop.jobs.instruments import instruments_used
from workshop.jobs.models import (
    ACTIVE_STATUSES,
    Countersign,
    Job,
    JobStatus,
    NonConformance,
    Photo,
    StepRecord,
    Vehicle,
)
from workshop.jobs.progress import (
    StepState,
    job_progress,
    manual_of,
    model_qualification,
    step_progress,
)
from workshop.jobs.signals import serials_signed
from workshop.manuals.schema import IDENTIFIER_PATTERN, Manual, Step
from workshop.national_id import national_id_problem, normalise_national_id
from workshop.photos import PhotoLimits, PhotoRefused, check_photos, store_photo
from workshop.provinces import PROVINCE_CODES
from workshop.vin import VIN_RE, normalise_vin, vin_problem  # noqa: F401  (re-exported)

PHONE_RE = re.compile(r"^\+?[0-9][0-9 -]{7,18}$")
# Time on a step counts towards labour; a tablet left open overnight must not bill 14 hours.
MAX_STEP_SECONDS = 8 * 3600
WORKER_ROLES = (Role.TECHNICIAN, Role.SUPERVISOR)


def _label(inp):
    """The input's label in the language of whoever reads the message (resolved late)."""
    return LazyString(lambda: inp.label(str(get_locale() or "th")))


class JobError(DomainError):
    """A request the job rules refuse; the message is shown to the technician."""

    code = "job"


class StaleStepError(JobError):
    """Someone else saved the same step since this tablet loaded it."""


# --- intake -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Intake:
    """What a supervisor enters when a vehicle arrives."""

    vin: str
    plate: str
    province: str
    make: str
    model: str
    year: int
    colour: str
    engine_number: str
    odometer_km: int
    curb_weight_kg: int
    owner_name: str
    owner_phone: str
    # The registered owner's Thai national ID: the DLT re-registers the car in this name. Required
    # for a customer job; a training car has none.
    owner_national_id: str = ""


def open_job(
    centre: Centre,
    intake: Intake,
    manual: Manual,
    user: User,
    *,
    kit=None,
    is_training: bool = False,
) -> Job:
    """Open a job for one vehicle at ``centre``, pinning the manual (and kit) as they are now."""
    vin = normalise_vin(intake.vin)
    problem = vin_problem(vin)
    if problem:
        raise JobError(problem)
    if intake.province not in PROVINCE_CODES:
        raise JobError(_l("unknown province"))
    if not PHONE_RE.match(intake.owner_phone.strip()):
        raise JobError(_l("the owner's phone number is not valid"))
    owner_id = normalise_national_id(intake.owner_national_id)
    if owner_id or not is_training:
        problem = national_id_problem(owner_id)
        if problem:
            raise JobError(_l("owner's national ID: %(problem)s", problem=problem))
    model = manual.model
    if not (model.year_from <= intake.year <= model.year_to):
        raise JobError(
            _l(
                "manual %(manual)s covers %(make)s %(model)s %(from)d–%(to)d, not %(year)d",
                manual=manual.id,
                make=model.make,
                model=model.model,
                **{"from": model.year_from, "to": model.year_to},
                year=intake.year,
            )
        )
    if (intake.make.strip().lower(), intake.model.strip().lower()) != (
        model.make.lower(),
        model.model.lower(),
    ):
        raise JobError(
            _l(
                "manual %(manual)s is for the %(make)s %(model)s",
                manual=manual.id,
                make=model.make,
                model=model.model,
            )
        )
    if kit is not None and not kit.fits(manual.id):
        raise JobError(_l("kit %(kit)s does not fit this model", kit=kit.id))
    if db.session.scalar(sa.select(Job.id).where(Job.active_vin == vin)):
        raise JobError(_l("vehicle %(vin)s already has an open job", vin=vin))

    vehicle = db.session.scalar(sa.select(Vehicle).where(Vehicle.vin == vin))
    if vehicle is None:
        vehicle = Vehicle(vin=vin)
        db.session.add(vehicle)
    vehicle.make, vehicle.model, vehicle.year = model.make, model.model, intake.year
    vehicle.colour = intake.colour.strip()
    vehicle.engine_number = intake.engine_number.strip().upper()
    vehicle.plate = intake.plate.strip()
    vehicle.province = intake.province

    number = (
        db.session.scalar(sa.select(sa.func.max(Job.number)).where(Job.centre_id == centre.id)) or 0
    ) + 1
    job = Job(
        centre=centre,
        number=number,
        vehicle=vehicle,
        active_vin=vin,
        is_training=is_training,
        manual_id=manual.id,
        manual_version=manual.version,
        manual_fingerprint=manual.fingerprint or "",
        manual_snapshot=manual.model_dump(mode="json"),
        kit_id=kit.id if kit is not None else None,
        kit_version=kit.version if kit is not None else None,
        kit_snapshot=kit.model_dump(mode="json") if kit is not None else None,
        kit_fingerprint=(kit.fingerprint or "") if kit is not None else "",
        odometer_km=intake.odometer_km,
        curb_weight_kg=intake.curb_weight_kg,
        owner_name=intake.owner_name.strip(),
        owner_phone=intake.owner_phone.strip(),
        owner_national_id=owner_id,
        created_by=user,
    )
    db.session.add(job)
    try:
        db.session.flush()
    except sa.exc.IntegrityError:
        # Another intake of the same VIN, or the same job number, won the race.
        raise JobError(_l("vehicle %(vin)s already has an open job", vin=vin)) from None
    record_event(
        "job.open",
        job,
        details={"vin": vin, "manual": f"{manual.id} v{manual.version}", "training": is_training},
    )
    return job


# --- signing ---------------------------------------------------------------------------------


def _check_worker(job: Job, user: User, step: Step, *, action: str) -> None:
    if job.status != JobStatus.OPEN:
        raise JobError(_l("this job is not open for work"))
    if not user.has_role(*WORKER_ROLES):
        raise JobError(_l("only technicians and supervisors sign steps"))
    if user.centre_id != job.centre_id:
        raise JobError(_l("only staff of the job's centre can %(action)s", action=action))
    for code in (step.qualification, model_qualification(job)):
        if code and not holds_qualification(user, code):
            raise JobError(
                _l(
                    "you need a valid %(qualification)s qualification to %(action)s this step",
                    qualification=code,
                    action=action,
                )
            )


@dataclass(frozen=True)
class SignRefusal:
    """Why ``user`` may not sign a step, said before they start: the qualification they lack
    (its code, when their grant expired if it did) and who at the centre may sign it."""

    qualification: str
    expired_at: datetime | None
    signers: list[str]


def sign_refusal(job: Job, step: Step, user: User) -> SignRefusal | None:
    """None when ``user`` holds every qualification the step and the car model ask for."""
    from workshop.accounts.models import QualificationGrant

    needed = [code for code in (step.qualification, model_qualification(job)) if code]
    missing = [code for code in needed if not holds_qualification(user, code)]
    if not missing:
        return None
    now = utcnow()
    expired = [
        g.expires_at
        for g in user.qualifications
        if g.code == missing[0] and g.revoked_at is None and g.expires_at and g.expires_at < now
    ]
    holders = db.session.scalars(
        sa.select(User)
        .where(User.centre_id == job.centre_id, User.active.is_(True))
        .where(
            sa.exists().where(
                QualificationGrant.user_id == User.id,
                QualificationGrant.code == missing[0],
                QualificationGrant.revoked_at.is_(None),
                sa.or_(
                    QualificationGrant.expires_at.is_(None), QualificationGrant.expires_at > now
                ),
            )
        )
        .order_by(User.full_name)
        .limit(20)
    )
    signers = [
        u.full_name
        for u in holders
        if u.has_role(*WORKER_ROLES) and all(holds_qualification(u, code) for code in needed)
    ]
    return SignRefusal(missing[0], max(expired) if expired else None, signers)


def _parse_number(raw) -> float | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = float(str(raw).strip().replace(",", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _limits_text(inp) -> str:
    if inp.type == "torque":
        return f"{inp.spec_nm:g} ± {inp.tolerance_nm:g} Nm"
    lo = f"{inp.min:g}" if inp.min is not None else ""
    hi = f"{inp.max:g}" if inp.max is not None else ""
    if lo and hi:
        return f"{lo}–{hi} {inp.unit}"
    return f"≥ {lo} {inp.unit}" if lo else f"≤ {hi} {inp.unit}"


@dataclass
class CheckedValues:
    """Values of a step after checking: what to store, and which measurements failed."""

    values: dict
    evaluations: dict
    failures: list[tuple[object, str, str]]  # (input, value, limits)
    serials: dict[str, list[str]]
    photo_keys: list[str]


def _typed_text(inp, text: str, label: str) -> str:
    """A date or an identifier as the manual asks for it, or a refusal that says why."""
    if inp.format == "identifier":
        text = text.upper()
        if not re.fullmatch(IDENTIFIER_PATTERN, text):
            raise JobError(
                _l(
                    "%(input)s: copy it exactly as marked: 3 to 32 letters, digits, '.', '/' or '-'",
                    input=label,
                )
            )
        return text
    if inp.format == "date":
        try:
            when = date.fromisoformat(text)
        except ValueError:
            raise JobError(_l("%(input)s: give a date", input=label)) from None
        today = utcnow().astimezone(BANGKOK).date()
        if when > today:
            raise JobError(_l("%(input)s: the date is in the future", input=label))
        if inp.max_age_days is not None and (today - when).days > inp.max_age_days:
            raise JobError(
                _l(
                    "%(input)s: %(date)s is more than %(days)d days ago",
                    input=label,
                    date=when.isoformat(),
                    days=inp.max_age_days,
                )
            )
        return when.isoformat()
    return text


def check_values(step: Step, raw: dict, pending_photos: dict[str, int]) -> CheckedValues:
    """Validate the raw inputs of ``step``; raise JobError naming the first unusable input."""
    values, evaluations, failures, serials, photo_keys = {}, {}, [], {}, []
    for inp in step.inputs:
        label = _label(inp)
        value = raw.get(inp.key)
        if inp.type in ("measurement", "torque"):
            number = _parse_number(value)
            if number is None:
                raise JobError(_l("%(input)s: enter a number", input=label))
            values[inp.key] = number
            passed = inp.evaluate(number)
            evaluations[inp.key] = passed
            if not passed:
                unit = "Nm" if inp.type == "torque" else inp.unit
                failures.append((inp, f"{number:g} {unit}", _limits_text(inp)))
        elif inp.type == "confirmation":
            if value not in (True, "y", "on", "true", "1"):
                raise JobError(_l("%(input)s: this must be confirmed", input=label))
            values[inp.key] = True
        elif inp.type == "choice":
            allowed = {o.value for o in inp.options}
            if value not in allowed:
                raise JobError(_l("%(input)s: choose one of the options", input=label))
            values[inp.key] = value
        elif inp.type == "text":
            text = (value or "").strip()
            if inp.required and not text:
                raise JobError(_l("%(input)s: this text is required", input=label))
            if len(text) > 4000:
                raise JobError(_l("%(input)s: at most 4000 characters", input=label))
            values[inp.key] = _typed_text(inp, text, label) if text else text
        elif inp.type == "photo":
            have = pending_photos.get(inp.key, 0)
            if have < inp.count:
                raise JobError(
                    _l(
                        "%(input)s: %(need)d photo(s) needed, %(have)d uploaded",
                        input=label,
                        need=inp.count,
                        have=have,
                    )
                )
            photo_keys.append(inp.key)
        elif inp.type == "serial":
            entries = value if isinstance(value, list) else [value]
            found = [s.strip().upper() for s in entries if s and str(s).strip()]
            if len(found) != inp.count:
                raise JobError(
                    _l("%(input)s: %(need)d serial number(s) needed", input=label, need=inp.count)
                )
            if len(set(found)) != len(found):
                raise JobError(_l("%(input)s: the same serial number twice", input=label))
            values[inp.key] = found
            serials[inp.key] = found
    return CheckedValues(values, evaluations, failures, serials, photo_keys)


def sign_step(
    job: Job,
    step_id: str,
    user: User,
    raw_values: dict,
    *,
    base_seq: int,
    note: str = "",
    record_failure: bool = False,
    started_at: datetime | None = None,
    paused_seconds: int = 0,
    reason: str = "",
    save_key: str | None = None,
) -> StepRecord:
    """Sign a step with its values (or correct the latest record when there is one).

    ``base_seq`` is the number of records the tablet saw when it loaded the step: when another
    record was saved since, the save is refused and nothing is lost. Values outside their limits
    are refused unless ``record_failure`` is set with a note: they then open a non-conformance.
    ``started_at`` is when the technician first opened the step on this tablet (kept with the
    draft across visits) and ``paused_seconds`` the time they paused it: labour is the time in
    between, capped at a working day.
    ``save_key`` identifies one save of the tablet: sent again (a retry after the connection
    dropped), it returns the record already saved instead of creating a second one.
    """
    manual = manual_of(job)
    try:
        step = manual.step(step_id)
    except KeyError:
        raise JobError(_l("this manual has no step %(step)s", step=step_id)) from None
    save_key = (save_key or "").strip()[:64] or None
    if save_key is not None:
        saved = db.session.scalar(sa.select(StepRecord).where(StepRecord.save_key == save_key))
        if saved is not None:
            if saved.job_id != job.id or saved.step_id != step.id or saved.user_id != user.id:
                raise JobError(_l("this form was already used for another save; reload the step"))
            return saved
    _check_worker(job, user, step, action=_l("sign"))
    # Saves on one job take turns (a row lock on PostgreSQL; SQLite writes one at a time
    # anyway): the second tablet then sees the first one's record and its photos already
    # attached, and is told the step changed instead of "photo missing".
    db.session.execute(sa.select(Job.id).where(Job.id == job.id).with_for_update())
    status = step_progress(job, step)
    if status.blocked_by:
        raise JobError(_l("sign these steps first: %(steps)s", steps=", ".join(status.blocked_by)))
    current = len(status.records)
    if base_seq != current:
        latest = status.latest
        raise StaleStepError(
            _l(
                "%(name)s saved this step at %(time)s while you were working on it. "
                "Nothing of theirs was changed; review their values and save again if needed.",
                name=latest.user.full_name if latest else "?",
                time=to_bangkok(latest.signed_at).strftime("%H:%M") if latest else "?",
            )
        )
    if status.latest is not None and not reason.strip():
        raise JobError(_l("this step is already signed: a correction needs a reason"))

    pending = _pending_photos(job, step.id)
    checked = check_values(step, raw_values, {k: len(v) for k, v in pending.items()})
    note = (note or "").strip()
    if checked.failures and record_failure and not note:
        raise JobError(
            _l("to record the failure, write in the note what was found and what happens next")
        )
    if checked.failures and not (record_failure and note):
        first = checked.failures[0]
        raise JobError(
            _l(
                "%(input)s is %(value)s, outside %(limits)s: measure again, or record the "
                "failure with a note",
                input=_label(first[0]),
                value=first[1],
                limits=first[2],
            )
        )
    used = instruments_used(job, step, raw_values)
    now = utcnow()
    seconds = 0
    if started_at is not None and started_at <= now:
        elapsed = int((now - started_at).total_seconds())
        seconds = min(max(elapsed - max(int(paused_seconds), 0), 0), MAX_STEP_SECONDS)
    record = StepRecord(
        job=job,
        step_id=step.id,
        seq=current + 1,
        values=checked.values,
        evaluations=checked.evaluations,
        passed=not checked.failures,
        note=note,
        corrects_id=status.latest.id if status.latest is not None else None,
        reason=reason.strip(),
        user=user,
        started_at=started_at if seconds else None,
        signed_at=now,
        seconds_spent=seconds,
        save_key=save_key,
        instruments=used,
    )
    db.session.add(record)
    if seconds:
        # In SQL (labour_seconds + n), so two tablets signing at once both count.
        job.labour_seconds = Job.labour_seconds + seconds
    try:
        db.session.flush()
    except sa.exc.IntegrityError:
        raise StaleStepError(
            _l("another tablet saved this step at the same moment; reload it and check")
        ) from None
    for key in checked.photo_keys:
        for photo in pending[key]:
            photo.record = record
    if checked.serials:
        _install_serials(job, step, record, checked.serials, user)
    for inp, value, limits in checked.failures:
        db.session.add(
            NonConformance(
                job_id=job.id,
                step_id=step.id,
                input_key=inp.key,
                value=value,
                limits=limits,
                note=note,
                record_id=record.id,
            )
        )
    if not checked.failures:
        for nc in db.session.scalars(
            sa.select(NonConformance).where(
                NonConformance.job_id == job.id,
                NonConformance.step_id == step.id,
                NonConformance.closed_at.is_(None),
            )
        ):
            nc.closed_at, nc.closed_record_id = now, record.id
    record_event(
        "step.correct" if record.corrects_id else "step.sign",
        record,
        centre_id=job.centre_id,
        details={
            "job": job.reference,
            "step": step.id,
            "values": checked.values,
            "passed": record.passed,
            "reason": record.reason,
        },
    )
    return record


def _install_serials(job, step, record, serials, user):
    """Announce serial inputs; the kits feature subscribes and traces each component to the vehicle."""
    for key, numbers in serials.items():
        serials_signed.send(
            job, step=step, serial_input=step.input(key), serials=numbers, record=record, user=user
        )


def countersign_step(job: Job, step_id: str, user: User) -> Countersign:
    """A second, different, qualified person confirms the latest record of a step."""
    manual = manual_of(job)
    try:
        step = manual.step(step_id)
    except KeyError:
        raise JobError(_l("this manual has no step %(step)s", step=step_id)) from None
    if not step.countersign:
        raise JobError(_l("this step does not need a countersignature"))
    _check_worker(job, user, step, action=_l("countersign"))
    latest = db.session.scalar(
        sa.select(StepRecord)
        .where(StepRecord.job_id == job.id, StepRecord.step_id == step.id)
        .order_by(StepRecord.seq.desc())
        .limit(1)
    )
    if latest is None:
        raise JobError(_l("the step has not been signed yet"))
    if latest.user_id == user.id:
        raise JobError(_l("a countersignature must come from a second person"))
    if latest.countersign is not None:
        raise JobError(_l("this step is already countersigned"))
    cs = Countersign(record=latest, user=user, at=utcnow())
    db.session.add(cs)
    try:
        db.session.flush()
    except sa.exc.IntegrityError:
        raise JobError(_l("this step is already countersigned")) from None
    record_event(
        "step.countersign",
        latest,
        centre_id=job.centre_id,
        details={"job": job.reference, "step": step.id},
    )
    return cs


# --- photos --------------------------------------------------------------------------------------


def _pending_photos(job: Job, step_id: str) -> dict[str, list[Photo]]:
    photos = db.session.scalars(
        sa.select(Photo)
        .where(Photo.job_id == job.id, Photo.step_id == step_id, Photo.record_id.is_(None))
        .order_by(Photo.id)
    )
    grouped: dict[str, list[Photo]] = {}
    for p in photos:
        grouped.setdefault(p.input_key, []).append(p)
    return grouped


def pending_photos(job: Job, step_id: str) -> dict[str, list[Photo]]:
    """Photos uploaded for a step and not yet attached to a signed record, by input key."""
    return _pending_photos(job, step_id)


def add_photos(
    job: Job,
    step_id: str,
    input_key: str,
    uploads: list[bytes],
    user: User,
    folder: str | Path,
    limits: PhotoLimits | None = None,
) -> list[Photo]:
    """Check every uploaded image of a request (``workshop.photos``), then store and record them;
    a refused file refuses them all and nothing is written."""
    try:
        step = manual_of(job).step(step_id)
    except KeyError:
        raise JobError(_l("Unknown step.")) from None
    try:
        inp = step.input(input_key)
    except KeyError:
        raise JobError(_l("this step asks for no photo %(key)s", key=input_key)) from None
    if inp.type != "photo":
        raise JobError(_l("this step asks for no photo %(key)s", key=input_key))
    _check_worker(job, user, step, action=_l("photograph"))
    try:
        checked = check_photos(uploads, limits or PhotoLimits(), documents=inp.documents)
    except PhotoRefused as exc:
        raise JobError(exc.args[0]) from None
    photos = []
    for upload in checked:
        store_photo(upload, folder)
        photo = Photo(
            job_id=job.id,
            step_id=step.id,
            input_key=input_key,
            sha256=upload.sha256,
            content_type=upload.content_type,
            size_bytes=len(upload.data),
            width=upload.width,
            height=upload.height,
            uploaded_by=user,
            uploaded_at=utcnow(),
        )
        db.session.add(photo)
        db.session.flush()
        record_event(
            "photo.upload",
            photo,
            centre_id=job.centre_id,
            details={"job": job.reference, "step": step.id, "sha256": upload.sha256},
        )
        photos.append(photo)
    return photos


def add_photo(
    job: Job,
    step_id: str,
    input_key: str,
    data: bytes,
    user: User,
    folder: str | Path,
    limits: PhotoLimits | None = None,
) -> Photo:
    """Check one uploaded image by its content, store it by hash with a thumbnail, record it."""
    return add_photos(job, step_id, input_key, [data], user, folder, limits)[0]


def submit_for_inspection(job: Job, user: User) -> None:
    """Hand a job whose steps are all complete to the inspectors."""
    if job.status != JobStatus.OPEN:
        raise JobError(_l("this job is not open for work"))
    progress = job_progress(job)
    unfinished = [s.step.id for s in progress.values() if s.state != StepState.DONE]
    if unfinished:
        raise JobError(
            _l(
                "%(n)d step(s) are not complete yet, e.g. %(first)s",
                n=len(unfinished),
                first=unfinished[0],
            )
        )
    job.status = JobStatus.AWAITING_INSPECTION
    record_event("job.submit", job, details={"job": job.reference})


def cancel_job(job: Job, user: User, reason: str) -> None:
    """Cancel a job (its evidence stays); the vehicle may then get a new job."""
    if job.status not in ACTIVE_STATUSES:
        raise JobError(_l("this job is already closed"))
    if not reason.strip():
        raise JobError(_l("give a reason to cancel a job"))
    job.status = JobStatus.CANCELLED
    job.active_vin = None
    job.closed_at = utcnow()
    record_event("job.cancel", job, details={"job": job.reference, "reason": reason.strip()})
