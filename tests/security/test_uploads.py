"""Image uploads over HTTP: one guard (bytes, pixels read from the header before decoding, files
per request) for job photos and inspection finding photos; refusals shown in Thai and English,
nothing saved; files behind a login are never cached publicly."""

import io
import struct
import time
import zlib

import pytest
import sqlalchemy as sa
from PIL import Image

from tests.conftest import TEST_PASSWORD
from tests.core.test_route_matrix import ARGS, EXPECTED, ROLES, world  # noqa: F401
from workshop.accounts.services import grant_qualification
from workshop.extensions import db
from workshop.inspection import services as inspection
from workshop.inspection.models import InspectionFinding
from workshop.jobs.models import JobStatus, Photo
from workshop.photos import PhotoLimits, PhotoRefused, check_photo

VIN = "MRHGE8840BP900001"


def png(size=(64, 48), colour="orange", mode="RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, colour).save(buf, "PNG")
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` × ``height``: decoding it would be a bomb."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    idat = zlib.compress(b"\x00" * 1024)  # far less than the header promises
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


@pytest.fixture
def photo_job(app, client, auth, create_user, open_real_job):
    supervisor = create_user("supervisor")
    grant_qualification(supervisor, "conversion_honda_jazz")
    db.session.commit()
    job = open_real_job(supervisor.centre, supervisor, VIN)
    auth.login(supervisor.username, TEST_PASSWORD)
    return job


def upload(client, job, *files, lang=None):
    if lang:
        client.post(f"/language/{lang}")
    return client.post(
        f"/jobs/{job.id}/steps/intake-01/photos",
        data={
            "input_key": "vin_photo",
            "photo": [(io.BytesIO(f), f"p{n}.png") for n, f in enumerate(files)],
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def nothing_saved(app):
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Photo)) == 0
    photos = app.config["UPLOAD_FOLDER"] + "/photos"
    import os

    assert not os.path.exists(photos) or not any(files for _, _, files in os.walk(photos))


def test_a_good_photo_is_stored(app, client, photo_job):
    r = upload(client, photo_job, png())
    assert r.status_code == 200
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Photo)) == 1


def test_too_many_pixels_is_refused_in_thai_and_english(app, client, photo_job):
    big = png((6500, 6500), mode="1", colour=1)  # 42.25 MP, a few kB as a PNG
    r = upload(client, photo_job, big)
    assert "รูปมีความละเอียดสูงเกินไป รับได้ไม่เกิน 40 ล้านพิกเซล" in r.text
    r = upload(client, photo_job, big, lang="en")
    assert "the photo has too many pixels; at most 40 megapixels are accepted" in r.text
    nothing_saved(app)


def test_a_decompression_bomb_is_refused_from_its_header_without_decoding(app, client, photo_job):
    bomb = png_header_claiming(100_000, 100_000)  # 10 GP: Pillow's own limit trips in open()
    # CPU seconds, not wall time (a loaded machine must not fail it): decoding 10 GP would take
    # minutes of CPU.
    started = time.process_time()
    r = upload(client, photo_job, bomb, lang="en")
    assert time.process_time() - started < 2
    assert "the photo has too many pixels" in r.text
    # Just over the limit: refused by the guard's header check, not by a failed decode (the
    # pixel data is missing, so a decode would answer "damaged" instead).
    r = upload(client, photo_job, png_header_claiming(7000, 7000))
    assert "the photo has too many pixels; at most 40 megapixels" in r.text
    nothing_saved(app)
    with pytest.raises(PhotoRefused) as refused:
        check_photo(png_header_claiming(100, 100), PhotoLimits())
    assert "damaged" in str(refused.value)  # the same file within the limit does get decoded


def test_the_pixel_limit_is_configurable(app_factory, create_user, open_real_job):
    app = app_factory(PHOTO_MAX_PIXELS=1_000_000)
    with app.app_context():
        supervisor = create_user("supervisor")
        grant_qualification(supervisor, "conversion_honda_jazz")
        db.session.commit()
        job = open_real_job(supervisor.centre, supervisor, VIN)
        client = app.test_client()
        client.post("/login", data={"username": supervisor.username, "password": TEST_PASSWORD})
        r = upload(client, job, png((1200, 900)), lang="en")
        assert "at most 1 megapixels are accepted" in r.text
        r = upload(client, job, png((1000, 1000)))
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Photo)) == 1
        db.session.remove()


def test_too_many_files_or_bytes_in_one_request(app, client, photo_job):
    r = upload(client, photo_job, *[png(colour=(n, 0, 0)) for n in range(7)], lang="en")
    assert "send at most 6 photos at once" in r.text
    r = upload(client, photo_job, b"\xff\xd8" + b"\x00" * (12 * 1024 * 1024 + 10))
    assert "the photo is larger than 12 MB" in r.text
    nothing_saved(app)


def test_one_bad_file_refuses_the_whole_request(app, client, photo_job):
    r = upload(client, photo_job, png(), png(colour="blue"), b"GIF89a" + b"\x00" * 64, lang="en")
    assert "the file is not a JPEG, PNG or WebP photo, or it is damaged" in r.text
    nothing_saved(app)


def test_inspection_finding_photos_pass_the_same_guard(
    app, client, auth, create_user, open_real_job
):
    supervisor = create_user("supervisor")
    grant_qualification(supervisor, "conversion_honda_jazz")
    inspector = create_user("inspector", centres=[supervisor.centre])
    db.session.commit()
    job = open_real_job(supervisor.centre, supervisor, VIN)
    job.status = JobStatus.AWAITING_INSPECTION
    current = inspection.start_inspection(job, inspector)
    db.session.commit()
    auth.login(inspector.username)
    client.post("/language/en")

    def finding(photo):
        return client.post(
            f"/inspection/{current.id}/findings",
            data={"finding-text": "Label faded", "finding-photo": (io.BytesIO(photo), "p.png")},
            content_type="multipart/form-data",
            follow_redirects=True,
        )

    r = finding(png((6500, 6500), mode="1", colour=1))
    assert "the photo has too many pixels; at most 40 megapixels" in r.text
    r = finding(png_header_claiming(100_000, 100_000))
    assert "the photo has too many pixels" in r.text
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InspectionFinding)) == 0
    nothing_saved(app)
    r = finding(png())
    db.session.rollback()
    stored = db.session.scalar(sa.select(InspectionFinding))
    assert stored.photo_sha256
    r = client.get(f"/inspection/findings/{stored.id}/photo")
    assert r.status_code == 200
    assert r.cache_control.private and not r.cache_control.public
    r.close()


def _cache(response):
    return response.headers.get("Cache-Control", "")


def test_every_page_and_file_behind_a_login_is_private(app, client, world):  # noqa: F811
    """Photos, thumbnails, traces, PDFs, exports and pages: never ``public``; only photos (whose
    content never changes) may be kept, privately, for a day."""
    from tests.core.test_route_matrix import _call

    args = ARGS(world)
    checked, failures = [], []
    for rule in app.url_map.iter_rules():
        policy = EXPECTED.get(rule.endpoint)
        if rule.endpoint == "static" or "GET" not in rule.methods or policy == "public":
            continue
        allowed = [r for r in ROLES if policy == "any logged-in user" or r in policy]
        user = world["users"][allowed[-1]]  # the admin where allowed: every centre
        r = _call(app, rule, "GET", args.get(rule.endpoint, {}), user)
        cache = r.cache_control
        checked.append((rule.endpoint, r.status_code))
        if cache.public or not cache.private or not (cache.no_store or cache.max_age):
            failures.append((rule.endpoint, r.status_code, _cache(r)))
    assert failures == []
    served = dict(checked)
    for endpoint in (
        "jobs.photo",
        "certificates.download",
        "training.certificate_pdf",
        "kits.cost_sheet_csv",
    ):
        assert served[endpoint] == 200, endpoint
    with app.test_request_context():
        from flask import url_for

        photo = url_for("jobs.photo", **args["jobs.photo"])
    client = app.test_client()
    client.post(
        "/login", data={"username": world["users"][ROLES[0]].username, "password": TEST_PASSWORD}
    )
    for url in (photo, photo + "?thumb=1"):
        r = client.get(url)
        assert r.status_code == 200
        assert r.cache_control.private and r.cache_control.max_age == 86400
        assert not r.cache_control.public
        r.close()


def test_public_pages_stay_cacheable_as_before(client):
    r = client.get("/static/app.css")
    assert "private" not in _cache(r)
    r.close()
