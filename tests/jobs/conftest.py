from itertools import count
from pathlib import Path

import pytest

from tests.factories import make_intake
from workshop.extensions import db
from workshop.jobs import services
from workshop.manuals.loader import load_manual

TEST_MANUAL = Path(__file__).parent / "data" / "test-car.toml"
VINS = (f"JHMGE8H5{n:09d}" for n in count(1))
ALL_QUALIFICATIONS = ("conversion_honda_jazz", "hv_qualified", "hv_live")


@pytest.fixture
def manual():
    return load_manual(TEST_MANUAL)


@pytest.fixture
def centre(create_centre):
    return create_centre(code="JOB01")


@pytest.fixture
def create_worker(create_user, centre):
    """Factory: a technician (or supervisor) of ``centre`` holding the given qualifications."""

    def make(*roles, qualifications=ALL_QUALIFICATIONS, **kwargs):
        kwargs.setdefault("centre", centre)
        return create_user(*roles, qualifications=qualifications, **kwargs)

    return make


@pytest.fixture
def intake():
    def make(**fields):
        return make_intake(**{"vin": next(VINS), **fields})

    return make


@pytest.fixture
def create_job(centre, create_worker, manual, intake):
    """Factory: an open job at ``centre`` on the test manual."""

    def make(**fields):
        supervisor = fields.pop("supervisor", None) or create_worker("supervisor")
        job = services.open_job(
            fields.pop("centre", centre), intake(**fields), fields.pop("manual", manual), supervisor
        )
        db.session.commit()
        return job

    return make


def png_bytes(colour=(200, 30, 30), size=(64, 48)):
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()
