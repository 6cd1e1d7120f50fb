"""Training fixtures: a trainer, trainees from several centres, sessions and drills."""

from datetime import timedelta

import pytest

from workshop.extensions import db
from workshop.training import services

FAST_BENCH = {"simulate": True, "channel": "trainingtest", "speed": 0}


@pytest.fixture
def trainer(create_user, create_centre):
    return create_user("trainer", centre=create_centre(code="TRN01"), username="trainer1")


@pytest.fixture
def trainee(create_user):
    """Factory: a technician (or supervisor) of a new centre, holding ``qualifications``."""

    def make(*roles, qualifications=(), **kwargs):
        return create_user(*roles, qualifications=qualifications, **kwargs)

    return make


@pytest.fixture
def today():
    return services.bangkok_today()


@pytest.fixture
def create_session(trainer, today):
    """Factory: a session of ``course`` (default HV-AW) by ``trainer``, by default today only."""

    def make(course="HV-AW", *, days=1, start=None, capacity=10):
        start = start or today
        session = services.create_session(
            trainer,
            course,
            place="ห้องอบรม 2",
            starts_on=start,
            ends_on=start + timedelta(days=days - 1),
            capacity=capacity,
        )
        db.session.commit()
        return session

    return make


@pytest.fixture
def cert_folder(app):
    return app.config["UPLOAD_FOLDER"]


def verify_url(code):
    return f"http://workshop.test/training/verify/{code}"
