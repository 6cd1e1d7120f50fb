"""Domain rules of inspection: the inspector's queue and record, checklist answers, findings,
the decision, engineer licences and engineer sign-offs. The caller commits."""

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from workshop.accounts.access import CentreScope
from workshop.accounts.models import Role, User
from workshop.audit.services import record_event
from workshop.columns import utcnow
from workshop.errors import DomainError
from workshop.extensions import db
from workshop.inspection.checklist import RESULTS, inspection_checklist
from workshop.inspection.models import (
    Branch,
    Decision,
    EngineerLicence,
    EngineerSignoff,
    Inspection,
    InspectionFinding,
    SignoffWithdrawal,
)
from workshop.jobs.listing import JobPage, listed_jobs, page_jobs
from workshop.jobs.models import Job, JobStatus, Photo, StepRecord
from workshop.jobs.progress import job_progress, latest_records, open_non_conformances
from workshop.photos import PhotoLimits, PhotoRefused, check_photos, store_photo

# What each sign-off attests, printed on the sign-off record and the certificate.
STATEMENTS = {
    Branch.MECHANICAL: (
        "I have examined the structure of the converted vehicle (battery boxes, mounts, weights "
        "and axle loads) and certify that it is safe."
    ),
    Branch.ELECTRICAL: (
        "I have examined the high-voltage system of the converted vehicle (isolation, bonding, "
        "touch protection and the EOL test results) and certify that it is safe."
    ),
}
BRANCH_LABELS = {Branch.MECHANICAL: _l("mechanical"), Branch.ELECTRICAL: _l("electrical")}
SIGNOFF_STATUSES = (JobStatus.AWAITING_INSPECTION, JobStatus.APPROVED)
WEIGHT_KEYS = ("curb_weight", "front_axle", "rear_axle")


class InspectionError(DomainError):
    """A request the inspection rules refuse; the message is shown to the user."""


# --- engineer licences ---------------------------------------------------------------------------


def record_licence(
    user: User, branch: str, licence_number: str, expires_at: datetime, recorded_by: User | None
) -> EngineerLicence:
    """Record an engineer licence held by ``user``."""
    try:
        branch = Branch(branch)
    except ValueError:
        raise InspectionError(_l("unknown engineering branch")) from None
    number = (licence_number or "").strip().upper()
    if not number or len(number) > 64:
        raise InspectionError(_l("give the licence number (at most 64 characters)"))
    if expires_at.tzinfo is None or expires_at <= utcnow():
        raise InspectionError(_l("the licence has already expired"))
    if db.session.scalar(
        sa.select(EngineerLicence.id).where(
            EngineerLicence.branch == branch, EngineerLicence.licence_number == number
        )
    ):
        raise InspectionError(_l("licence %(number)s is already recorded", number=number))
    licence = EngineerLicence(
        user=user,
        branch=branch,
        licence_number=number,
        expires_at=expires_at,
        recorded_by=recorded_by,
        recorded_at=utcnow(),
    )
    db.session.add(licence)
    db.session.flush()
    record_event(
        "licence.record",
        licence,
        details={"user": user.username, "branch": branch.value, "number": number},
        centre_id=user.centre_id,
    )
    return licence


def revoke_licence(licence: EngineerLicence) -> None:
    """End a licence now (the record stays)."""
    if licence.revoked_at is not None:
        raise InspectionError(_l("this licence was already revoked"))
    licence.revoked_at = utcnow()
    record_event(
        "licence.revoke",
        licence,
        details={"user": licence.user.username, "number": licence.licence_number},
        centre_id=licence.user.centre_id,
    )


def list_licences() -> list[EngineerLicence]:
    """Every recorded licence, newest first."""
    return list(
        db.session.scalars(
            sa.select(EngineerLicence).order_by(
                EngineerLicence.recorded_at.desc(), EngineerLicence.id.desc()
            )
        )
    )


def valid_licence(user: User, branch: Branch, at: datetime | None = None):
    """The user's licence of ``branch`` in force at ``at`` (default now), or None."""
    at = at or utcnow()
    for licence in db.session.scalars(
        sa.select(EngineerLicence).where(
            EngineerLicence.user_id == user.id, EngineerLicence.branch == Branch(branch)
        )
    ):
        if licence.valid_at(at):
            return licence
    return None


# --- sign-offs ----------------------------------------------------------------------------------


def active_signoffs(job: Job) -> dict[Branch, EngineerSignoff]:
    """The job's sign-offs in force (not withdrawn, licence not revoked since), by branch."""
    found: dict[Branch, EngineerSignoff] = {}
    rows = db.session.scalars(
        sa.select(EngineerSignoff)
        .where(EngineerSignoff.job_id == job.id)
        .order_by(EngineerSignoff.id)
        .options(sa.orm.selectinload(EngineerSignoff.withdrawal))
    )
    for signoff in rows:
        if signoff.withdrawal is not None:
            continue
        revoked = signoff.licence.revoked_at
        if revoked is not None and revoked > signoff.signed_at:
            continue
        found[signoff.branch] = signoff
    return found


def sign_off(job: Job, engineer: User, branch: str, note: str = "") -> EngineerSignoff:
    """A licensed engineer signs off the structure (mechanical) or HV system (electrical)."""
    try:
        branch = Branch(branch)
    except ValueError:
        raise InspectionError(_l("unknown engineering branch")) from None
    if job.status not in SIGNOFF_STATUSES:
        raise InspectionError(
            _l("engineers sign off a job once it is sent for inspection, before its certificate")
        )
    if not CentreScope(engineer).allows(job.centre_id):
        raise InspectionError(_l("this job is outside your centres"))
    licence = valid_licence(engineer, branch)
    if licence is None:
        raise InspectionError(
            _l(
                "you need a valid %(branch)s engineer licence to sign this off",
                branch=BRANCH_LABELS[branch],
            )
        )
    if branch in active_signoffs(job):
        raise InspectionError(
            _l("the %(branch)s sign-off is already given", branch=BRANCH_LABELS[branch])
        )
    _check_duty(job, engineer, f"signoff_{branch.value}")
    signoff = EngineerSignoff(
        job=job,
        branch=branch,
        engineer=engineer,
        licence=licence,
        licence_number=licence.licence_number,
        statement=STATEMENTS[branch],
        note=(note or "").strip(),
        signed_at=utcnow(),
    )
    db.session.add(signoff)
    db.session.flush()
    record_event(
        "signoff.sign",
        signoff,
        centre_id=job.centre_id,
        details={"job": job.reference, "branch": branch.value, "licence": licence.licence_number},
    )
    return signoff


def _check_duty(job: Job, user: User, duty: str) -> None:
    """Refuse ``duty`` to ``user`` when it would break a separation-of-duties rule."""
    from flask_babel import get_locale

    from workshop.inspection.duties import would_violate

    violation = would_violate(job, user.id, duty)
    if violation is not None:
        raise InspectionError(
            _l(
                "separation of duties: %(rule)s (you already did: %(duties)s)",
                rule=violation.rule.text(str(get_locale() or "th")),
                duties=", ".join(str(DUTY_LABELS[d]) for d in violation.duties if d != duty),
            )
        )


DUTY_LABELS = {
    "inspector": _l("inspection"),
    "signed_step": _l("signing steps"),
    "countersigned_step": _l("countersigning steps"),
    "ran_eol": _l("running the EOL test"),
    "signoff_mechanical": _l("the mechanical sign-off"),
    "signoff_electrical": _l("the electrical sign-off"),
}


def _withdraw_signoffs(job: Job, reason: str) -> None:
    for signoff in active_signoffs(job).values():
        db.session.add(SignoffWithdrawal(signoff=signoff, reason=reason, at=utcnow()))
        record_event(
            "signoff.withdraw",
            signoff,
            centre_id=job.centre_id,
            details={"job": job.reference, "branch": signoff.branch.value, "reason": reason},
        )


# --- inspections ---------------------------------------------------------------------------------


def inspection_queue(scope, *, after: str | None = None, limit: int = 50) -> JobPage:
    """Jobs awaiting inspection or their certificate in ``scope`` as ``ListedJob`` rows (with
    their vehicle and centre), oldest first, a page at a time (``after``: the cursor of the
    previous page)."""
    stmt = listed_jobs().where(Job.status.in_([JobStatus.AWAITING_INSPECTION, JobStatus.APPROVED]))
    return page_jobs(
        scope.filter(stmt, Job.centre_id), limit=limit, after=after, newest_first=False
    )


def job_inspections(job: Job) -> list[Inspection]:
    """Every inspection of a job, newest first."""
    return list(
        db.session.scalars(
            sa.select(Inspection)
            .where(Inspection.job_id == job.id)
            .order_by(Inspection.started_at.desc(), Inspection.id.desc())
        )
    )


def open_inspection(job: Job) -> Inspection | None:
    """The job's inspection without a decision yet, if any."""
    return next((i for i in job_inspections(job) if i.decision is None), None)


# Built once: the job page asks on every view, and building the statement costs more than
# running it.
_LATEST_DECISION = (
    sa.select(Inspection)
    .where(Inspection.job_id == sa.bindparam("job_id"), Inspection.decision.is_not(None))
    .order_by(Inspection.started_at.desc(), Inspection.id.desc())
    .limit(1)
)


def latest_decision(job: Job) -> Inspection | None:
    """The job's most recent decided inspection, if any."""
    return db.session.scalar(_LATEST_DECISION, {"job_id": job.id})


def _check_inspector(job: Job, user: User) -> None:
    if not user.has_role(Role.INSPECTOR):
        raise InspectionError(_l("only inspectors inspect jobs"))
    if not CentreScope(user).allows(job.centre_id):
        raise InspectionError(_l("this job is outside your centres"))


def start_inspection(job: Job, inspector: User) -> Inspection:
    """Open an inspection of a job awaiting inspection (or return the one already open)."""
    _check_inspector(job, inspector)
    if job.status != JobStatus.AWAITING_INSPECTION:
        raise InspectionError(_l("this job is not awaiting inspection"))
    current = open_inspection(job)
    if current is not None:
        return current
    _check_duty(job, inspector, "inspector")
    inspection = Inspection(
        job=job,
        centre_id=job.centre_id,
        inspector=inspector,
        checklist_version=inspection_checklist().version,
        answers={},
        started_at=utcnow(),
    )
    db.session.add(inspection)
    db.session.flush()
    record_event("inspection.start", inspection, details={"job": job.reference})
    return inspection


def _check_open(inspection: Inspection, user: User) -> None:
    _check_inspector(inspection.job, user)
    if inspection.decision is not None:
        raise InspectionError(_l("this inspection is already decided"))


def save_answers(inspection: Inspection, user: User, answers: dict) -> None:
    """Store checklist answers: ``{item_id: (result, note)}`` with result pass, fail or na."""
    _check_open(inspection, user)
    checklist = inspection_checklist()
    merged = dict(inspection.answers or {})
    for item_id, (result, note) in answers.items():
        try:
            checklist.item(item_id)
        except KeyError:
            raise InspectionError(_l("the checklist has no item %(item)s", item=item_id)) from None
        if not result:
            continue
        if result not in RESULTS:
            raise InspectionError(_l("answer pass, fail or not applicable"))
        note = (note or "").strip()
        if result == "fail" and not note:
            raise InspectionError(
                _l("%(item)s: say what failed", item=checklist.item(item_id).title_en)
            )
        merged[item_id] = {"result": result, "note": note[:2000]}
    inspection.answers = merged
    record_event("inspection.answers", inspection, details={"answers": answers and merged})


def _store_image(data: bytes, folder, limits: PhotoLimits | None) -> tuple[str, str]:
    try:
        checked = check_photos([data], limits or PhotoLimits())[0]
    except PhotoRefused as exc:
        raise InspectionError(exc.args[0]) from None
    store_photo(checked, folder)
    return checked.sha256, checked.content_type


def add_finding(
    inspection: Inspection,
    user: User,
    text: str,
    *,
    item_id: str = "",
    photo: bytes | None = None,
    folder=None,
    limits: PhotoLimits | None = None,
) -> InspectionFinding:
    """Record a finding on the car, optionally about one checklist item and with a photo."""
    _check_open(inspection, user)
    text = (text or "").strip()
    if not text:
        raise InspectionError(_l("describe the finding"))
    if item_id:
        try:
            inspection_checklist().item(item_id)
        except KeyError:
            raise InspectionError(_l("the checklist has no item %(item)s", item=item_id)) from None
    sha, content_type = ("", "")
    if photo:
        sha, content_type = _store_image(photo, folder, limits)
    finding = InspectionFinding(
        inspection=inspection,
        item_id=item_id,
        text=text[:4000],
        photo_sha256=sha,
        photo_content_type=content_type,
        user=user,
        at=utcnow(),
    )
    db.session.add(finding)
    db.session.flush()
    record_event(
        "inspection.finding",
        finding,
        centre_id=inspection.centre_id,
        details={"job": inspection.job.reference, "item": item_id, "text": finding.text},
    )
    return finding


def approve_inspection(inspection: Inspection, user: User) -> None:
    """Approve: every checklist item answered and none failed. The job becomes approved."""
    _check_open(inspection, user)
    checklist = inspection_checklist()
    answers = inspection.answers or {}
    unanswered = [i.id for i in checklist.items if i.id not in answers]
    if unanswered:
        raise InspectionError(
            _l(
                "answer every checklist item first (%(n)d left, e.g. %(first)s)",
                n=len(unanswered),
                first=checklist.item(unanswered[0]).title_en,
            )
        )
    failed = [k for k, v in answers.items() if v.get("result") == "fail"]
    if failed:
        raise InspectionError(_l("a checklist item failed: reject the job with reasons instead"))
    job = inspection.job
    if job.status != JobStatus.AWAITING_INSPECTION:
        raise InspectionError(_l("this job is not awaiting inspection"))
    inspection.decision = Decision.APPROVED
    inspection.decided_at = utcnow()
    inspection.decided_by = user
    job.status = JobStatus.APPROVED
    record_event("inspection.approve", inspection, details={"job": job.reference})


def reject_inspection(inspection: Inspection, user: User, reasons: str) -> None:
    """Reject with reasons that go back to the centre: the job reopens, sign-offs are withdrawn."""
    _check_open(inspection, user)
    reasons = (reasons or "").strip()
    if not reasons:
        raise InspectionError(_l("give the reasons for the rejection"))
    job = inspection.job
    if job.status != JobStatus.AWAITING_INSPECTION:
        raise InspectionError(_l("this job is not awaiting inspection"))
    inspection.decision = Decision.REJECTED
    inspection.reasons = reasons[:4000]
    inspection.decided_at = utcnow()
    inspection.decided_by = user
    job.status = JobStatus.OPEN
    job.rejections += 1
    _withdraw_signoffs(job, f"inspection rejected: {inspection.reasons}")
    record_event(
        "inspection.reject", inspection, details={"job": job.reference, "reasons": reasons}
    )


# --- the whole record ----------------------------------------------------------------------------


def latest_values(job: Job) -> dict[str, object]:
    """The values of the latest record of every step, merged by input key."""
    values: dict[str, object] = {}
    for records in latest_records(job).values():
        values.update(records[-1].values or {})
    return values


@dataclass(frozen=True)
class Weight:
    """One weight before and after the conversion, kg."""

    key: str
    before: float | None
    after: float | None

    @property
    def change_percent(self) -> float | None:
        """The change in % of the value before, or None when one side is missing."""
        if not self.before or self.after is None:
            return None
        return (self.after - self.before) / self.before * 100


def weights(job: Job, values: dict | None = None) -> list[Weight]:
    """Curb weight and axle loads before and after (from the weighing steps)."""
    values = latest_values(job) if values is None else values
    out = []
    for key in WEIGHT_KEYS:
        before = values.get(f"{key}_kg")
        if key == "curb_weight" and before is None:
            before = job.curb_weight_kg
        after = values.get(f"{key}_after_kg")
        out.append(
            Weight(
                key,
                float(before) if before is not None else None,
                float(after) if after is not None else None,
            )
        )
    return out


@dataclass
class JobRecord:
    """Everything an inspector reviews about one job, in one place."""

    job: Job
    progress: dict
    non_conformances: list
    photos: dict[int, list[Photo]]
    components: list
    runs: list
    weights: list[Weight]
    cost_sheet: object
    signoffs: dict
    inspections: list[Inspection]
    blockers: list = field(default_factory=list)


def job_record(job: Job) -> JobRecord:
    """The whole record of ``job``: steps and values, photos, open non-conformances, installed
    serials, EOL runs, weights, cost sheet, sign-offs and inspections."""
    from workshop.eol.runs import job_runs
    from workshop.kits import costs, traceability

    photos: dict[int, list[Photo]] = {}
    for photo in db.session.scalars(
        sa.select(Photo).where(Photo.job_id == job.id, Photo.record_id.is_not(None))
    ):
        photos.setdefault(photo.record_id, []).append(photo)
    return JobRecord(
        job=job,
        progress=job_progress(job),
        non_conformances=open_non_conformances(job),
        photos=photos,
        components=traceability.vehicle_components(job.vehicle)
        if job.vehicle
        else [],  # installed serials
        runs=job_runs(job),
        weights=weights(job),
        cost_sheet=costs.cost_sheet(job),
        signoffs=active_signoffs(job),
        inspections=job_inspections(job),
    )


def technicians(job: Job) -> list[User]:
    """The people who signed or countersigned the job's step records, by name."""
    people: dict[int, User] = {}
    for record in db.session.scalars(
        sa.select(StepRecord)
        .where(StepRecord.job_id == job.id)
        .options(sa.orm.selectinload(StepRecord.countersign), sa.orm.selectinload(StepRecord.user))
    ):
        people[record.user_id] = record.user
        if record.countersign is not None:
            people[record.countersign.user_id] = record.countersign.user
    return sorted(people.values(), key=lambda u: u.full_name)
