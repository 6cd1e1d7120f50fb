"""Domain rules of certificates: the issuing rule, gap-free numbering, the signed PDF, revocation
and public verification (with its rate limit and log). The caller commits."""

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from workshop import i18n
from workshop.accounts.models import Role, User
from workshop.audit.services import record_event
from workshop.certificates import pdf as pdfs
from workshop.certificates.eol_kits import eol_kit
from workshop.certificates.models import (
    Certificate,
    CertificateCounter,
    CertificateRevocation,
    VerificationRequest,
)
from workshop.certificates.registration import registration_problems
from workshop.certificates.signing import (
    Signature,
    centre_signature,
    sign_all,
    signature_status,
    signing_material,
)
from workshop.columns import utcnow
from workshop.eol.models import RunStatus
from workshop.eol.runner import mandatory_not_passed
from workshop.eol.runs import (
    BENCH_KIND_LABELS,
    BenchKind,
    evidence_problem,
    latest_complete_run,
)
from workshop.errors import DomainError
from workshop.extensions import db
from workshop.inspection.models import Branch, Decision
from workshop.inspection.services import BRANCH_LABELS, active_signoffs, latest_decision
from workshop.jobs.models import Job, JobStatus
from workshop.jobs.progress import StepState, job_progress, open_non_conformances
from workshop.links import is_production, public_base_url
from workshop.vin import mask_vin  # noqa: F401  (re-exported)

# The public verification page lives at VERIFY_PREFIX/<token>; the QR code on the PDF points there.
VERIFY_PREFIX = "/verify"
VERIFY_RATE_LIMIT = 30
VERIFY_RATE_WINDOW = timedelta(minutes=10)


class CertificateError(DomainError):
    """A request the certificate rules refuse; ``missing`` lists every unmet condition, ``code``
    and ``params`` say which rule refused (for a page that shows the refusal later, in its
    reader's language: workshop.certificates.issuing)."""

    def __init__(self, message, missing=(), *, code=None, params=None):
        super().__init__(message, code=code)
        self.missing = list(missing)
        self.params = dict(params or {})


# --- the issuing rule ----------------------------------------------------------------------------

# Every reason a job cannot have its certificate yet: a stable code (scripts, tests, the CLI) and a
# message rendered in the reader's language with the blocker's parameters.
BLOCKER_MESSAGES = {
    "training_job": _l("this is a training job: training jobs never get a certificate"),
    "already_certified": _l("this job already has its certificate"),
    "cancelled": _l("this job was cancelled"),
    "steps_unsigned": _l("%(n)d step(s) not signed, e.g. %(first)s"),
    "countersign_missing": _l("%(n)d step(s) awaiting a countersignature, e.g. %(first)s"),
    "nonconformance_open": _l("%(n)d non-conformance(s) still open, e.g. %(step)s"),
    "eol_missing": _l("no EOL run of all three sequences (ECU, BMS, brakes) has finished"),
    "eol_failed": _l("the latest complete EOL run (#%(run)d) did not pass"),
    "eol_not_real_bench": _l(
        "the latest complete EOL run (#%(run)d) ran on %(bench)s (%(kind)s), not on a real "
        "bench of this centre: it is not evidence"
    ),
    "eol_mandatory_not_passed": _l(
        "the latest complete EOL run (#%(run)d) did not pass these mandatory checks: %(checks)s"
    ),
    "inspection_not_approved": _l("the inspection is not approved"),
    "signoff_missing": _l("no %(branch)s engineer sign-off"),
    "licence_expired": _l(
        "the %(branch)s sign-off rests on licence %(licence)s of %(engineer)s, which is no "
        "longer valid"
    ),
    "separation_of_duties": _l("%(people)s: %(rule)s"),
    "signing_key_missing": _l(
        "%(engineer)s gave the %(branch)s sign-off but has no signing certificate in force: "
        "enrol one under Engineer licences"
    ),
    "registration_data_missing": _l(
        "manual %(manual)s has no registration data (category, seats, gross and axle weights): "
        "the DLT cannot re-register the car"
    ),
    "owner_id_missing": _l(
        "the owner's national ID is missing: the DLT re-registers the car in the owner's name"
    ),
    "curb_weight_over_limit": _l(
        "the curb weight rose %(change)s %% in the conversion; the limit is +%(limit)s %%"
    ),
    "front_axle_over_permitted": _l(
        "the front axle load after the conversion (%(after)s kg) is over the permitted %(limit)s kg"
    ),
    "rear_axle_over_permitted": _l(
        "the rear axle load after the conversion (%(after)s kg) is over the permitted %(limit)s kg"
    ),
}


@dataclass(frozen=True)
class Blocker:
    """One unmet condition of the issuing rule: a stable ``code`` and its message parameters."""

    code: str
    params: dict = field(default_factory=dict)

    @property
    def message(self) -> str:
        """The message in the current language."""
        params = dict(self.params)
        if "branch" in params:
            params["branch"] = str(BRANCH_LABELS[Branch(params["branch"])])
        return str(BLOCKER_MESSAGES[self.code]) % params

    def __str__(self) -> str:
        return self.message


def certificate_blockers(job: Job) -> list[Blocker]:
    """Everything that stands between ``job`` and its certificate (empty when it may be issued).

    The one place the issuing rule lives: every step signed (and countersigned where required),
    no open non-conformance, the latest complete EOL run is evidence and passed every mandatory
    check, the inspection approved, both engineer sign-offs in force on valid licences, the
    separation of duties kept, and what the DLT registers present and within its limits
    (:mod:`workshop.certificates.registration`). Training jobs never qualify.
    """
    if job.is_training:
        return [Blocker("training_job")]
    if job.status == JobStatus.CERTIFIED:
        return [Blocker("already_certified")]
    if job.status == JobStatus.CANCELLED:
        return [Blocker("cancelled")]
    missing = []
    progress = job_progress(job)
    unsigned = [s.step.id for s in progress.values() if s.latest is None]
    if unsigned:
        missing.append(Blocker("steps_unsigned", {"n": len(unsigned), "first": unsigned[0]}))
    awaiting = [s.step.id for s in progress.values() if s.state == StepState.AWAITING_COUNTERSIGN]
    if awaiting:
        missing.append(Blocker("countersign_missing", {"n": len(awaiting), "first": awaiting[0]}))
    open_ncs = open_non_conformances(job)
    if open_ncs:
        missing.append(
            Blocker("nonconformance_open", {"n": len(open_ncs), "step": open_ncs[0].step_id})
        )
    run = latest_complete_run(job)
    if run is None:
        missing.append(Blocker("eol_missing"))
    else:
        missing.extend(eol_blockers(run, job))
    decision = latest_decision(job)
    if (
        decision is None
        or decision.decision != Decision.APPROVED
        or job.status != JobStatus.APPROVED
    ):
        missing.append(Blocker("inspection_not_approved"))
    missing.extend(Blocker(code, params) for code, params in registration_problems(job))
    missing.extend(duty_blockers(job))
    missing.extend(signing_key_blockers(job))
    signoffs = active_signoffs(job)
    now = utcnow()
    for branch in (Branch.MECHANICAL, Branch.ELECTRICAL):
        signoff = signoffs.get(branch)
        if signoff is None:
            missing.append(Blocker("signoff_missing", {"branch": branch.value}))
        elif not signoff.licence.valid_at(now):
            missing.append(
                Blocker(
                    "licence_expired",
                    {
                        "branch": branch.value,
                        "licence": signoff.licence_number,
                        "engineer": signoff.engineer.full_name,
                    },
                )
            )
    return missing


def jobs_for_blockers(references=(), *, all_jobs: bool = False) -> list:
    """Jobs named by reference (e.g. BKK01-00042), or every job not cancelled with ``all_jobs``.

    Returns ``(reference, job or None)`` pairs in the order asked (oldest first for all).
    """
    from workshop.accounts.models import Centre

    if all_jobs:
        rows = db.session.scalars(
            sa.select(Job).where(Job.status != JobStatus.CANCELLED).order_by(Job.id)
        )
        return [(job.reference, job) for job in rows]
    found = []
    for reference in references:
        code, _sep, number = reference.strip().upper().rpartition("-")
        job = None
        if code and number.isdigit():
            job = db.session.scalar(
                sa.select(Job)
                .join(Centre, Centre.id == Job.centre_id)
                .where(Centre.code == code, Job.number == int(number))
            )
        found.append((reference, job))
    return found


# (The Thai avoids the vowel ำ: PDF text extraction misreads every า of a page that holds one.)
DEVELOPMENT_REASONS = {
    "virtual_bay": (
        "ทดสอบ EOL บนแท่นทดสอบทดลองระบบ (รถเสมือนบน CAN เสมือน)",
        "EOL test on a development bay (simulated car on a virtual CAN bus)",
    ),
    "development_key": (
        "ลงนามด้วยกุญแจทดลองระบบ ไม่ใช่กุญแจที่ได้รับความเชื่อถือ",
        "signed with a development key, not a trusted one",
    ),
}


def certificate_development_reasons(job: Job, material=None) -> list[dict]:
    """Why a certificate of ``job`` is a development document (empty: it is not). Each reason
    prints the "DEVELOPMENT – NOT VALID FOR REGISTRATION" mark on the PDF."""
    codes = []
    run = latest_complete_run(job)
    if run is not None and run.bench_kind == BenchKind.VIRTUAL_BAY:
        codes.append("virtual_bay")
    if material is not None and getattr(material, "development", False):
        codes.append("development_key")
    return [
        {"code": c, "th": DEVELOPMENT_REASONS[c][0], "en": DEVELOPMENT_REASONS[c][1]} for c in codes
    ]


# What a production deployment must configure before it issues anything, and why.
PRODUCTION_SETTINGS = (
    ("CERTIFICATE_SIGNING_KEY", "the centre's signing key (PEM)"),
    ("CERTIFICATE_SIGNING_CERT", "its certificate (PEM)"),
    ("CERTIFICATE_SIGNING_CHAIN", "the certificate of the CA that issued it (PEM)"),
    ("CERTIFICATE_TRUST_ROOTS", "the trust anchor(s) engineers' certificates chain to (PEM)"),
    ("PUBLIC_BASE_URL", "the address the QR codes point to"),
)


SETUP_MISSING = _l("certificates cannot be issued in production without %(setting)s (%(what)s)")


def issuing_setup_missing(config) -> dict | None:
    """In production, the first missing setting issuing needs: ``{"setting", "what"}`` (None:
    all there)."""
    if not is_production(config):
        return None
    for setting, what in PRODUCTION_SETTINGS:
        if not config.get(setting):
            return {"setting": setting, "what": what}
    return None


def issuing_setup_problem(config) -> str | None:
    """In production, the first missing setting issuing needs, named (None: all there)."""
    missing = issuing_setup_missing(config)
    return None if missing is None else str(SETUP_MISSING % missing)


BRANCH_SIGNATURE = {
    Branch.MECHANICAL: ("Mechanical", 0, "วิศวกรเครื่องกล", "Mechanical engineer"),
    Branch.ELECTRICAL: ("Electrical", 1, "วิศวกรไฟฟ้า", "Electrical engineer"),
}


def engineer_signatures(job: Job, number: str) -> list:
    """The two engineers' signatures, mechanical first, each with name, licence and branch."""
    from workshop.certificates.engineer_keys import active_key, private_key_pem

    signatures = []
    signoffs = active_signoffs(job)
    for branch in (Branch.MECHANICAL, Branch.ELECTRICAL):
        signoff = signoffs.get(branch)
        key = active_key(signoff.engineer) if signoff is not None else None
        if key is None:  # the blockers refuse this before; nothing to sign with
            continue
        field_name, position, th, en = BRANCH_SIGNATURE[branch]
        signatures.append(
            Signature(
                field_name=field_name,
                key_pem=private_key_pem(key, current_app.config),
                cert_pem=key.certificate_pem.encode(),
                chain_pems=tuple(p.read_bytes() for p in trust_root_paths_for_app()),
                reason=f"{en} sign-off of conversion certificate {number}",
                location=job.centre.name_en,
                appearance=(signoff.engineer.full_name, f"{th} · {en}", signoff.licence_number),
                position=position,
            )
        )
    return signatures


SIGNATURE_ROLES = {
    "Mechanical": (Branch.MECHANICAL, _l("Mechanical engineer")),
    "Electrical": (Branch.ELECTRICAL, _l("Electrical engineer")),
    "Centre": (None, _l("Issuing centre")),
}


def public_signatures(certificate: Certificate) -> list[dict]:
    """The certificate's signatures for the public page: role, signer, licence, time, state."""
    status = signature_status(certificate.pdf, trust_root_paths_for_app())
    licences = {b: s.licence_number for b, s in active_signoffs(certificate.job).items()}
    rows = []
    for sig in status.get("signatures", []):
        branch, role = SIGNATURE_ROLES.get(sig["field"], (None, sig["field"]))
        rows.append({**sig, "role": str(role), "licence": licences.get(branch, "")})
    return rows


def trust_root_paths_for_app() -> list:
    """The deployment's trust anchors (the development CA in development)."""
    from workshop.certificates.pki import trust_root_paths

    return trust_root_paths(current_app.config, current_app.instance_path)


def signing_key_blockers(job: Job) -> list[Blocker]:
    """An engineer who signed off but has no signing key in force cannot sign the certificate."""
    from workshop.certificates.engineer_keys import active_key

    found = []
    for branch, signoff in sorted(active_signoffs(job).items(), key=lambda item: item[0].value):
        if active_key(signoff.engineer) is None:
            found.append(
                Blocker(
                    "signing_key_missing",
                    {"branch": branch.value, "engineer": signoff.engineer.full_name},
                )
            )
    return found


def duty_blockers(job: Job) -> list[Blocker]:
    """One blocker per broken separation-of-duties rule, naming the person and the duties."""
    from flask_babel import get_locale

    from workshop.inspection.duties import violations
    from workshop.inspection.services import DUTY_LABELS

    found = []
    for violation in violations(job):
        person = db.session.get(User, violation.user_id)
        duties = ", ".join(str(DUTY_LABELS[d]) for d in violation.duties)
        found.append(
            Blocker(
                "separation_of_duties",
                {
                    "people": f"{person.full_name if person else violation.user_id} ({duties})",
                    "rule": violation.rule.text(str(get_locale() or "th")),
                    "rule_id": violation.rule.id,
                },
            )
        )
    return found


def eol_blockers(run, job: Job) -> list[Blocker]:
    """What keeps ``run`` (the job's latest complete run) from being the certificate's EOL
    evidence: where it ran (workshop.eol.runs.evidence_problem), a failed check, or a check the
    kit makes mandatory that did not pass (skipped, errored or never mapped)."""
    found = []
    problem = evidence_problem(run, job.centre.code, production=is_production(current_app.config))
    if problem is not None:
        kind = BENCH_KIND_LABELS.get(run.bench_kind) or (
            BENCH_KIND_LABELS[BenchKind.SIMULATOR] if run.simulated else run.bench_kind or "?"
        )
        found.append(
            Blocker("eol_not_real_bench", {"run": run.id, "bench": run.bench, "kind": str(kind)})
        )
    outcomes = {c.check_id: c.outcome for c in run.checks}
    if run.status in (RunStatus.FAIL, RunStatus.ABORTED) or "fail" in outcomes.values():
        found.append(Blocker("eol_failed", {"run": run.id}))
        return found
    not_passed = mandatory_not_passed(_policy_kit(run.kit_id), outcomes)
    if not_passed:
        found.append(
            Blocker("eol_mandatory_not_passed", {"run": run.id, "checks": ", ".join(not_passed)})
        )
    return found


def eol_passed(run, job: Job) -> bool:
    """True when ``run`` is evidence for ``job``'s certificate and passed every mandatory check."""
    return not eol_blockers(run, job)


def eol_waivers(kit_id: str) -> list:
    """The checks the kit waives for certificates, each with its reason and reference."""
    return list(_policy_kit(kit_id).spec.certificate.waivers)


def _policy_kit(kit_id: str):
    kit = eol_kit(kit_id)
    if kit is None:  # load it again for the definition's own error
        from workshop.eol.definitions import load_kit

        return load_kit(kit_id)
    return kit


# --- numbering -----------------------------------------------------------------------------------


def _insert(table):
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def allocate_sequence(centre_id: int, year_be: int) -> int:
    """The next certificate sequence of a centre and year, in the caller's transaction.

    The counter row is created if missing, then incremented by one UPDATE ... RETURNING, which
    holds its row lock until the transaction ends: concurrent issuers queue behind it, and a
    rolled-back issue gives its number back, so numbers are gap-free.
    """
    db.session.execute(
        _insert(CertificateCounter)
        .values(centre_id=centre_id, year_be=year_be, last_number=0)
        .on_conflict_do_nothing()
    )
    return db.session.execute(
        sa.update(CertificateCounter)
        .where(CertificateCounter.centre_id == centre_id, CertificateCounter.year_be == year_be)
        .values(last_number=CertificateCounter.last_number + 1)
        .returning(CertificateCounter.last_number)
        .execution_options(synchronize_session=False)
    ).scalar_one()


def format_number(centre_code: str, year_be: int, sequence: int) -> str:
    """``<centre code>-<Buddhist-era year>-<sequence>``, e.g. BKK01-2569-0007."""
    return f"{centre_code}-{year_be}-{sequence:04d}"


def verify_url(base_url: str, token: str) -> str:
    """The public verification URL of a certificate token."""
    return f"{base_url.rstrip('/')}{VERIFY_PREFIX}/{token}"


def certificate_verify_url(token: str) -> str:
    """The public verification URL of a token, under the configured ``PUBLIC_BASE_URL``."""
    return verify_url(public_base_url(), token)


# --- issuing -------------------------------------------------------------------------------------


ISSUE_STAGES = 4  # the record read, the PDF rendered, signed, stored (``progress`` below)


def check_issuing(job: Job, user: User) -> None:
    """Refuse with :class:`CertificateError` unless ``user`` may issue ``job``'s certificate now:
    an inspector of the job's centre, issuing set up, and no blocker (every one listed)."""
    if not user.has_role(Role.INSPECTOR):
        raise CertificateError(_l("only inspectors issue certificates"), code="not_inspector")
    from workshop.accounts.access import CentreScope

    if not CentreScope(user).allows(job.centre_id):
        raise CertificateError(_l("this job is outside your centres"), code="outside_centres")
    setup = issuing_setup_missing(current_app.config)
    if setup:
        raise CertificateError(SETUP_MISSING % setup, code="setup_missing", params=setup)
    missing = certificate_blockers(job)
    if missing:
        raise CertificateError(
            _l(
                "the certificate cannot be issued yet: %(missing)s",
                missing="; ".join(b.message for b in missing),
            ),
            missing,
            code="blocked",
        )


def issue_certificate(job: Job, user: User, *, progress=None) -> Certificate:
    """Issue the job's certificate: number it, render and sign the PDF, store it once.

    Refused with :class:`CertificateError` listing exactly what is missing. Everything happens
    in the caller's transaction: if rendering or signing fails, rolling it back leaves the job
    approved and the number unused. ``progress(done, ISSUE_STAGES)`` is told each stage done.
    """
    progress = progress or (lambda done, total: None)
    check_issuing(job, user)
    now = utcnow()
    # Claim the job first: of two inspectors pressing Issue at once, one wins here.
    claimed = db.session.execute(
        sa.update(Job)
        .where(Job.id == job.id, Job.status == JobStatus.APPROVED)
        .values(status=JobStatus.CERTIFIED, active_vin=None, closed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise CertificateError(_l("this job already has its certificate"), code="already_certified")
    db.session.expire(job, ["status", "active_vin", "closed_at"])
    year_be = i18n.to_bangkok(now).year + i18n.BE_OFFSET
    sequence = allocate_sequence(job.centre_id, year_be)
    number = format_number(job.centre.code, year_be, sequence)
    token = secrets.token_urlsafe(24)
    url = certificate_verify_url(token)
    context = pdfs.certificate_context(job, number=number, issued_at=now, verify_url=url)
    material = signing_material(current_app.config, current_app.instance_path)
    context["development"] = certificate_development_reasons(job, material)
    progress(1, ISSUE_STAGES)
    unsigned = pdfs.render_certificate(context)
    progress(2, ISSUE_STAGES)
    signed = sign_all(
        unsigned,
        [
            *engineer_signatures(job, number),
            centre_signature(
                material,
                reason=f"Conversion certificate {number}",
                location=job.centre.name_en,
                appearance=[job.centre.name("th"), f"{job.centre.name_en} · {number}"],
            ),
        ],
        timestamp_url=current_app.config.get("TIMESTAMP_URL") or "",
    )
    progress(3, ISSUE_STAGES)
    certificate = Certificate(
        number=number,
        centre_id=job.centre_id,
        year_be=year_be,
        sequence=sequence,
        job_id=job.id,
        token=token,
        issued_at=now,
        issued_by=user,
        pdf=signed,
        pdf_sha256=hashlib.sha256(signed).hexdigest(),
        pdf_size=len(signed),
        summary=pdfs.public_summary(context),
    )
    db.session.add(certificate)
    db.session.flush()
    record_event(
        "certificate.issue",
        certificate,
        details={"number": number, "job": job.reference, "sha256": certificate.pdf_sha256},
    )
    progress(4, ISSUE_STAGES)
    return certificate


def revoke_certificate(certificate: Certificate, user: User, reason: str) -> CertificateRevocation:
    """Revoke a certificate with a reason; the PDF stays exactly as issued."""
    if not user.has_role(Role.INSPECTOR, Role.ADMIN):
        raise CertificateError(_l("only inspectors and admins revoke certificates"))
    reason = (reason or "").strip()
    if not reason:
        raise CertificateError(_l("give the reason for the revocation"))
    if certificate.revocation is not None:
        raise CertificateError(_l("this certificate is already revoked"))
    revocation = CertificateRevocation(
        certificate=certificate, reason=reason[:2000], revoked_by=user, revoked_at=utcnow()
    )
    db.session.add(revocation)
    try:
        db.session.flush()
    except sa.exc.IntegrityError:
        raise CertificateError(_l("this certificate is already revoked")) from None
    record_event(
        "certificate.revoke",
        certificate,
        details={"number": certificate.number, "reason": revocation.reason},
    )
    return revocation


def list_certificates(scope, limit: int = 500) -> list[Certificate]:
    """Certificates of the centres in ``scope``, newest first."""
    stmt = sa.select(Certificate).order_by(Certificate.issued_at.desc(), Certificate.id.desc())
    return list(db.session.scalars(scope.filter(stmt, Certificate.centre_id).limit(limit)))


def certificate_by_number(number: str) -> Certificate | None:
    """The certificate with ``number``, or None."""
    return db.session.scalar(
        sa.select(Certificate).where(Certificate.number == (number or "").strip().upper())
    )


def job_certificate(job: Job) -> Certificate | None:
    """The certificate issued for ``job``, if any."""
    return db.session.scalar(
        sa.select(Certificate).where(Certificate.job_id == job.id).order_by(Certificate.id.desc())
    )


# --- public verification -------------------------------------------------------------------------


def certificate_by_token(token: str) -> Certificate | None:
    """The certificate a verification token belongs to, or None."""
    if not token or len(token) > 64:
        return None
    return db.session.scalar(sa.select(Certificate).where(Certificate.token == token))


def verification_allowed(ip: str, now: datetime | None = None) -> bool:
    """True while ``ip`` stays under the verification rate limit (counted in the database, so
    every gunicorn worker sees the same count)."""
    now = now or utcnow()
    limit = current_app.config.get("VERIFY_RATE_LIMIT", VERIFY_RATE_LIMIT)
    window = current_app.config.get("VERIFY_RATE_WINDOW", VERIFY_RATE_WINDOW)
    recent = db.session.scalar(
        sa.select(sa.func.count(VerificationRequest.id)).where(
            VerificationRequest.ip == ip,
            VerificationRequest.at > now - window,
            VerificationRequest.outcome != "rate_limited",
        )
    )
    return recent < limit


def log_verification(
    ip: str, kind: str, outcome: str, *, token: str = "", certificate: Certificate | None = None
) -> VerificationRequest:
    """Record one verification request (the caller commits)."""
    entry = VerificationRequest(
        at=utcnow(),
        ip=(ip or "")[:64],
        kind=kind,
        token=(token or "")[:64],
        certificate_id=certificate.id if certificate is not None else None,
        outcome=outcome,
    )
    db.session.add(entry)
    return entry


def compare_upload(certificate: Certificate | None, data: bytes) -> dict:
    """Check an uploaded PDF: byte-for-byte the issued one, and its signature's state.

    With no certificate, look the file up by its SHA-256 among all issued certificates.
    """
    digest = hashlib.sha256(data).hexdigest()
    if certificate is None:
        certificate = db.session.scalar(
            sa.select(Certificate).where(Certificate.pdf_sha256 == digest)
        )
    identical = certificate is not None and digest == certificate.pdf_sha256
    return {
        "certificate": certificate,
        "identical": identical,
        "sha256": digest,
        "signature": signature_status(data, trust_root_paths_for_app()),
    }
