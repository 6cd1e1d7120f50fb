"""The motor's purchase invoice as the seller sent it (a PDF) or as a photo: accepted only where
the manual's photo input says ``documents = true``; a damaged or foreign file is refused and
nothing is stored."""

import sqlalchemy as sa

from tests.factories import make_intake
from workshop.certificates.demo import demo_document
from workshop.extensions import db
from workshop.jobs import services as jobs
from workshop.jobs.models import Photo
from workshop.jobs.services import JobError
from workshop.manuals.loader import load_manuals
from workshop.photos import photo_path


def _jazz_job(centre, create_worker):
    supervisor = create_worker("supervisor")
    manual = load_manuals()["honda-jazz-ge"]
    job = jobs.open_job(centre, make_intake(vin="MRHGE8840BP100078"), manual, supervisor)
    db.session.commit()
    step, _ = manual.find_input("motor_invoice_photo")
    return job, step, create_worker()


def _photos() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Photo))


def test_a_pdf_invoice_is_kept_as_it_came(app, centre, create_worker, tmp_path):
    job, step, tech = _jazz_job(centre, create_worker)
    pdf = demo_document("invoice")
    (photo,) = jobs.add_photos(job, step.id, "motor_invoice_photo", [pdf], tech, tmp_path)
    db.session.commit()
    assert (photo.content_type, photo.width, photo.height) == ("application/pdf", 0, 0)
    assert photo_path(tmp_path, photo.sha256).read_bytes() == pdf
    # a photo of the paper invoice is as good
    jobs.add_photos(job, step.id, "motor_invoice_photo", [_png()], tech, tmp_path)


def test_bad_documents_are_refused_and_nothing_is_stored(app, centre, create_worker, tmp_path):
    job, step, tech = _jazz_job(centre, create_worker)
    pdf = demo_document("invoice")
    cases = [
        ("motor_invoice_photo", pdf[: len(pdf) // 2], "PDF is incomplete or damaged"),
        ("motor_invoice_photo", b"Invoice 123, paid", "not a PDF, JPEG, PNG or WebP"),
        ("motor_invoice_photo", b"", "the file is empty"),
        # a photo input that does not take documents refuses a PDF
        ("motor_number_photo", pdf, "not a JPEG, PNG or WebP"),
    ]
    for key, data, message in cases:
        before = _photos()
        try:
            jobs.add_photos(job, step.id, key, [_png(), data], tech, tmp_path)
        except JobError as exc:
            assert message in str(exc), (key, str(exc))
        else:
            raise AssertionError(f"{key}: {message!r} was accepted")
        db.session.rollback()
        assert _photos() == before
    assert not any((tmp_path / "photos").rglob("*")) if (tmp_path / "photos").exists() else True


def test_a_pdf_is_served_as_a_download_with_a_symbol_for_thumbnail(
    app, client, auth, centre, create_worker, tmp_path
):
    job, step, tech = _jazz_job(centre, create_worker)
    app.config["UPLOAD_FOLDER"] = str(tmp_path)
    (photo,) = jobs.add_photos(
        job, step.id, "motor_invoice_photo", [demo_document("invoice")], tech, tmp_path
    )
    db.session.commit()
    auth.login(tech.username)
    with client.get(f"/jobs/{job.id}/photos/{photo.id}") as download:
        assert download.status_code == 200 and download.mimetype == "application/pdf"
        assert "attachment" in download.headers["Content-Disposition"]
        assert download.data == demo_document("invoice")
    with client.get(f"/jobs/{job.id}/photos/{photo.id}?thumb=1") as thumb:
        assert thumb.status_code == 200 and thumb.mimetype == "image/svg+xml"


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()
