"""The evidence bundle an inspector files with the Department of Land Transport: one ZIP.

Built by a background worker (workshop.queue), never inside a request: the certificate page asks
for it, shows the build's progress, and offers the download once it is ready."""

import hashlib
import io
import json
import re
import zipfile
from pathlib import Path

import sqlalchemy as sa

from workshop.audit.services import record_event
from workshop.certificates.models import Certificate, EvidenceBundle
from workshop.columns import utcnow
from workshop.eol.models import EolRun
from workshop.eol.report import render_run_report, run_charts
from workshop.eol.runs import job_runs, stored_report, trace_path
from workshop.extensions import db
from workshop.filestore import FileStore
from workshop.jobs.models import Instrument, Photo, StepRecord
from workshop.photos import photo_path

EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "application/pdf": "pdf",
}


def _record(r: StepRecord) -> dict:
    return {
        "id": r.id,
        "step_id": r.step_id,
        "seq": r.seq,
        "values": r.values,
        "evaluations": r.evaluations,
        "passed": r.passed,
        "note": r.note,
        "corrects_id": r.corrects_id,
        "reason": r.reason,
        "signed_by": r.user.full_name,
        "signed_at": r.signed_at.isoformat(),
        "seconds_spent": r.seconds_spent,
        "countersigned_by": r.countersign.user.full_name if r.countersign else None,
        "countersigned_at": r.countersign.at.isoformat() if r.countersign else None,
        "photos": [p.sha256 for p in r.photos],
        "instruments": r.instruments or {},
    }


def _add_calibration(records, files_folder: str, add) -> None:
    """The calibration record of every instrument the job's readings were taken with, and its
    certificate file when one was uploaded."""
    ids = sorted({used["id"] for r in records for used in (r.instruments or {}).values()})
    register = []
    for instrument in db.session.scalars(sa.select(Instrument).where(Instrument.id.in_(ids))):
        entry = {
            "id": instrument.id,
            "kind": instrument.kind,
            "make_model": instrument.make_model,
            "serial": instrument.serial,
            "certificate_number": instrument.certificate_number,
            "calibrated_on": instrument.calibrated_on.isoformat(),
            "due_on": instrument.due_on.isoformat(),
            "retired_at": instrument.retired_at.isoformat() if instrument.retired_at else None,
            "readings": sorted(
                f"{r.step_id}.{key}"
                for r in records
                for key, used in (r.instruments or {}).items()
                if used["id"] == instrument.id
            ),
            "certificate_file": None,
        }
        if instrument.certificate_sha256:
            path = FileStore(files_folder).path("calibration", instrument.certificate_sha256)
            if path.is_file():
                ext = "pdf" if instrument.certificate_type == "application/pdf" else "jpg"
                if instrument.certificate_type == "image/png":
                    ext = "png"
                serial = re.sub(r"[^A-Za-z0-9.-]+", "-", instrument.serial)
                name = f"calibration/{instrument.kind}-{serial}.{ext}"
                add(name, path.read_bytes())
                entry["certificate_file"] = name
        register.append(entry)
    add("calibration/instruments.json", _json(register))


def _run(run: EolRun) -> dict:
    return {
        "id": run.id,
        "status": run.status.value,
        "abort_reason": run.abort_reason,
        "bench": run.bench,
        "simulated": run.simulated,
        "sequences": run.sequences,
        "requested_by": run.requested_by.full_name,
        "requested_at": run.requested_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "trace_sha256": run.trace_sha256,
        "eol_sha256": run.eol_sha256,
        "dbc_sha256": run.dbc_sha256,
        "checks": [
            {
                "check_id": c.check_id,
                "sequence": c.sequence,
                "outcome": c.outcome,
                "message": c.message,
                "measurements": c.measurements,
            }
            for c in run.checks
        ],
    }


def _json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str).encode()


def _photo_labels(job) -> dict[tuple[str, str], tuple[str, str]]:
    """(step, input) → the photo input's label in Thai and English, from the job's manual."""
    from workshop.jobs.progress import manual_of

    return {
        (step.id, inp.key): (inp.label_th, inp.label_en)
        for step in manual_of(job).steps
        for inp in step.inputs
        if inp.type == "photo"
    }


def _add_inspection(job, files_folder: str, add) -> None:
    """The inspections (checklist answers, findings with their photos, decision) and the
    engineers' sign-offs with their licence numbers."""
    from workshop.inspection.models import EngineerSignoff, Inspection

    inspections = db.session.scalars(
        sa.select(Inspection).where(Inspection.job_id == job.id).order_by(Inspection.id)
    ).all()
    rows = []
    for inspection in inspections:
        findings = []
        for finding in inspection.findings:
            photo = None
            if finding.photo_sha256:
                path = photo_path(files_folder, finding.photo_sha256)
                if path.exists():
                    ext = EXTENSIONS.get(finding.photo_content_type, "bin")
                    photo = f"inspection/findings/finding-{finding.id}.{ext}"
                    add(photo, path.read_bytes())
            findings.append(
                {
                    "item": finding.item_id,
                    "text": finding.text,
                    "photo": photo,
                    "by": finding.user.full_name,
                    "at": finding.at,
                }
            )
        rows.append(
            {
                "inspection": inspection.id,
                "inspector": inspection.inspector.full_name,
                "checklist_version": inspection.checklist_version,
                "started_at": inspection.started_at,
                "answers": inspection.answers,
                "findings": findings,
                "decision": inspection.decision.value if inspection.decision else None,
                "reasons": inspection.reasons,
                "decided_at": inspection.decided_at,
                "decided_by": inspection.decided_by.full_name if inspection.decided_by else None,
            }
        )
    add("inspection/inspections.json", _json(rows))
    signoffs = db.session.scalars(
        sa.select(EngineerSignoff)
        .where(EngineerSignoff.job_id == job.id)
        .order_by(EngineerSignoff.id)
    ).all()
    add(
        "inspection/engineer_signoffs.json",
        _json(
            [
                {
                    "branch": s.branch.value,
                    "engineer": s.engineer.full_name,
                    "licence_number": s.licence_number,
                    "statement": s.statement,
                    "note": s.note,
                    "signed_at": s.signed_at,
                    "withdrawn": s.withdrawal is not None,
                    "withdrawal_reason": s.withdrawal.reason if s.withdrawal else None,
                }
                for s in signoffs
            ]
        ),
    )


def build_evidence_bundle(certificate: Certificate, files_folder: str, progress=None) -> bytes:
    """ZIP: the certificate as issued, EOL reports and CAN traces, step records, photos named by
    step and input (with an index of their labels), the inspections with their findings and
    photos, the engineers' sign-offs with licence numbers, and a manifest with the SHA-256 of
    every file. ``progress(done, total)`` is told how far it got."""
    job = certificate.job
    progress = progress or (lambda done, total: None)
    buffer = io.BytesIO()
    manifest = {}

    def add(name: str, data: bytes) -> None:
        if name in manifest:  # the same photo (same hash) taken for two inputs of a step
            return
        manifest[name] = hashlib.sha256(data).hexdigest()
        archive.writestr(name, data)

    photo_index: list[dict] = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        add(f"certificate/{certificate.number}.pdf", certificate.pdf)
        records = db.session.scalars(
            sa.select(StepRecord)
            .where(StepRecord.job_id == job.id)
            .order_by(StepRecord.step_id, StepRecord.seq)
        ).all()
        add(
            "steps/step_records.json",
            json.dumps([_record(r) for r in records], ensure_ascii=False, indent=2).encode(),
        )
        _add_calibration(records, files_folder, add)
        photos = db.session.scalars(sa.select(Photo).where(Photo.job_id == job.id)).all()
        finished = [run for run in job_runs(job) if run.finished]
        total, done = len(photos) + 3 * len(finished) + 1, 1
        progress(done, total)
        labels = _photo_labels(job)
        numbered: dict[tuple[str, str], int] = {}
        for photo in sorted(photos, key=lambda p: (p.step_id, p.input_key, p.id)):
            done += 1
            progress(done, total)
            path = photo_path(files_folder, photo.sha256)
            if path.exists():
                ext = EXTENSIONS.get(photo.content_type, "bin")
                key = (photo.step_id, photo.input_key)
                numbered[key] = numbered.get(key, 0) + 1
                name = f"photos/{photo.step_id}/{photo.input_key}-{numbered[key]}.{ext}"
                add(name, path.read_bytes())
                photo_index.append(
                    {
                        "file": name,
                        "step": photo.step_id,
                        "input": photo.input_key,
                        "label_th": labels.get(key, ("", ""))[0],
                        "label_en": labels.get(key, ("", ""))[1],
                        "sha256": photo.sha256,
                        "taken_by": photo.uploaded_by.full_name if photo.uploaded_by else "",
                        "taken_at": photo.uploaded_at.isoformat() if photo.uploaded_at else None,
                    }
                )
        add("photos/index.json", _json(photo_index))
        _add_inspection(job, files_folder, add)
        for run in finished:
            done += 3
            progress(done, total)
            add(
                f"eol/run-{run.id}.json",
                json.dumps(_run(run), ensure_ascii=False, indent=2).encode(),
            )
            stored = stored_report(run, files_folder)
            if stored is not None:
                add(f"eol/run-{run.id}-report.pdf", stored)
            else:  # a run from before reports were kept when a run ended: said in its name
                add(
                    f"eol/run-{run.id}-report-rendered-for-this-bundle.pdf",
                    render_run_report(run, run_charts(run)),
                )
            if run.trace_sha256:
                trace = trace_path(files_folder, run.trace_sha256)
                if trace.exists():
                    add(f"eol/run-{run.id}-trace.blf", trace.read_bytes())
        summary = {
            "certificate": certificate.number,
            "job": job.reference,
            "vin": job.vehicle.vin,
            "files": manifest,
        }
        archive.writestr(
            "manifest.json", json.dumps(summary, ensure_ascii=False, indent=2).encode()
        )
    return buffer.getvalue()


# --- built in the background ---------------------------------------------------------------------


def bundle_path(files_folder: str | Path, sha256: str) -> Path:
    """Where a built bundle is kept in the file store (by content)."""
    return FileStore(files_folder).path("evidence", sha256, ".zip")


def latest_bundle(certificate: Certificate) -> EvidenceBundle | None:
    """The certificate's newest bundle request."""
    return db.session.scalar(
        sa.select(EvidenceBundle)
        .where(EvidenceBundle.certificate_id == certificate.id)
        .order_by(EvidenceBundle.id.desc())
        .limit(1)
    )


def request_bundle(certificate: Certificate, user, config) -> EvidenceBundle:
    """Queue the bundle's build (or return the one ready or under way); the caller commits.

    A certified job's records no longer change, so one ready bundle serves every later download.
    Raises workshop.queue.QueueUnavailable when the queue cannot be reached (nothing is kept).
    """
    from workshop.queue import enqueue

    current = latest_bundle(certificate)
    under_way = current is not None and current.status in ("queued", "running")
    ready = (
        current is not None
        and current.status == "ready"
        and bundle_path(config["UPLOAD_FOLDER"], current.sha256).exists()
    )
    if under_way or ready:
        return current
    bundle = EvidenceBundle(
        certificate_id=certificate.id, requested_by_id=user.id, requested_at=utcnow()
    )
    db.session.add(bundle)
    db.session.flush()
    # committed before the worker can look for it
    db.session.commit()
    try:
        bundle.job_id = enqueue(
            config, "workshop.certificates.evidence.build_bundle_task", bundle.id
        )
    except Exception:
        db.session.delete(bundle)
        db.session.commit()
        raise
    record_event(
        "certificate.evidence_requested",
        certificate,
        centre_id=certificate.centre_id,
        details={"bundle": bundle.id},
    )
    return bundle


def build_bundle_task(bundle_id: int) -> str:
    """In the worker: build the bundle, keep it by its SHA-256, mark it ready (or failed)."""
    from flask import current_app

    from workshop.queue import report_progress

    bundle = db.session.get(EvidenceBundle, bundle_id)
    if bundle is None or bundle.status == "ready":
        return "gone" if bundle is None else "ready"
    bundle.status = "running"
    db.session.commit()
    folder = current_app.config["UPLOAD_FOLDER"]
    try:
        data = build_evidence_bundle(bundle.certificate, folder, progress=report_progress)
    except Exception as exc:  # the request must end recorded, whatever broke
        db.session.rollback()
        bundle.status, bundle.error, bundle.finished_at = "failed", str(exc)[:500], utcnow()
        db.session.commit()
        raise
    digest = FileStore(folder).put_bytes("evidence", data, ".zip")
    bundle.status, bundle.sha256, bundle.size = "ready", digest, len(data)
    bundle.finished_at = utcnow()
    db.session.commit()
    return digest
