"""The evidence bundle an inspector files with the Department of Land Transport: one ZIP."""

import hashlib
import io
import json
import zipfile

import sqlalchemy as sa

from workshop.certificates.models import Certificate
from workshop.eol.models import EolRun
from workshop.eol.report import render_run_report, run_charts
from workshop.eol.runs import job_runs, trace_path
from workshop.extensions import db
from workshop.jobs.models import Photo, StepRecord
from workshop.photos import photo_path

EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


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
    }


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


def build_evidence_bundle(certificate: Certificate, files_folder: str) -> bytes:
    """ZIP: the certificate as issued, EOL reports and CAN traces, step records, photos, and a
    manifest with the SHA-256 of every file."""
    job = certificate.job
    buffer = io.BytesIO()
    manifest = {}

    def add(name: str, data: bytes) -> None:
        if name in manifest:  # the same photo (same hash) taken for two inputs of a step
            return
        manifest[name] = hashlib.sha256(data).hexdigest()
        archive.writestr(name, data)

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
        for photo in db.session.scalars(sa.select(Photo).where(Photo.job_id == job.id)):
            path = photo_path(files_folder, photo.sha256)
            if path.exists():
                ext = EXTENSIONS.get(photo.content_type, "bin")
                add(f"photos/{photo.step_id}/{photo.sha256}.{ext}", path.read_bytes())
        for run in job_runs(job):
            if not run.finished:
                continue
            add(
                f"eol/run-{run.id}.json",
                json.dumps(_run(run), ensure_ascii=False, indent=2).encode(),
            )
            add(f"eol/run-{run.id}-report.pdf", render_run_report(run, run_charts(run)))
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
