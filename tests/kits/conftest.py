"""Fixtures for stock, install and cost tests: jobs on the test manual with the Jazz kit."""

from decimal import Decimal

import pytest

from tests.jobs import conftest as jobs_fixtures
from workshop.extensions import db
from workshop.jobs import services as jobs
from workshop.kits import KITS_DIR, load_kit, receiving

# The jobs feature's fixtures, shared here: a centre, its workers, the test manual, jobs on it.
centre = jobs_fixtures.centre
create_worker = jobs_fixtures.create_worker
manual = jobs_fixtures.manual
intake = jobs_fixtures.intake
create_job = jobs_fixtures.create_job
png_bytes = jobs_fixtures.png_bytes


@pytest.fixture(scope="session")
def test_kit():
    """The real Jazz kit, declared to fit the test manual too."""
    kit = load_kit(KITS_DIR / "jazz-ev1")
    return kit.model_copy(update={"manuals": (*kit.manuals, "test-car")})


@pytest.fixture
def create_kit_job(centre, create_worker, manual, intake, test_kit):
    """Factory: an open job at ``centre`` (or another) on the test manual with the Jazz kit."""

    def make(**fields):
        supervisor = fields.pop("supervisor", None) or create_worker("supervisor")
        job = jobs.open_job(
            fields.pop("centre", centre), intake(**fields), manual, supervisor, kit=test_kit
        )
        db.session.commit()
        return job

    return make


@pytest.fixture
def receive(centre, create_worker):
    """Factory: receive serials (or a quantity) of one part into a centre, committed."""
    numbers = iter(range(1, 10_000))

    def make(part, *serials, cost="1000.00", quantity=0, at=None, user=None, kit="jazz-ev1"):
        user = user or create_worker("supervisor", centre=at or centre)
        delivery = receiving.receive_delivery(
            at or centre,
            user,
            supplier="Supplier Co., Ltd.",
            invoice_number=f"INV-{next(numbers):04d}",
            lines=[
                receiving.ReceiveLine(kit, part, Decimal(cost), quantity=quantity, serials=serials)
            ],
        )
        db.session.commit()
        return delivery

    return make


def sign(job, step_id, user, values, base_seq=0, **kwargs):
    record = jobs.sign_step(job, step_id, user, values, base_seq=base_seq, **kwargs)
    db.session.commit()
    return record


@pytest.fixture
def ready_for_hv(tmp_path):
    """Sign the intake steps of a job, so hv-01 (with the BMS serial input) may be signed."""

    def make(job, tech):
        jobs.add_photo(job, "intake-01", "vin_photo", png_bytes(), tech, tmp_path)
        sign(job, "intake-01", tech, {"odometer_km": "152000"})
        sign(job, "intake-02", tech, {"walkaround": "y", "fuel_level": "empty"})

    return make
