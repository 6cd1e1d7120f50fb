"""What many tests build the same way: a vehicle intake and a bench agent running in a thread.

Fixtures that use them live in the conftest files (``intake``, ``open_real_job``, ``build_job``);
a test passes only the fields it cares about.
"""

import threading
from contextlib import contextmanager


def intake_fields(**fields) -> dict:
    """The fields of a plausible intake (a Honda Jazz in Bangkok); ``fields`` override them."""
    data = dict(
        vin="JHMGE8H5000000001",
        plate="กข 1234",
        province="BKK",
        make="Honda",
        model="Jazz",
        year=2010,
        colour="ขาว",
        engine_number="L15A-1234567",
        odometer_km=152000,
        curb_weight_kg=1050,
        owner_name="สมศรี ใจดี",
        owner_phone="081 234 5678",
        owner_national_id="1101700230708",
    )
    data.update(fields)
    return data


def make_intake(**fields):
    """A ``workshop.jobs.services.Intake`` (see :func:`intake_fields`)."""
    from workshop.jobs.services import Intake

    return Intake(**intake_fields(**fields))


@contextmanager
def agent_running(app, benches: dict, poll_s: float = 0.2):
    """A bench agent serving ``benches`` in a thread for the duration of the block."""
    from workshop.eol.bench import run_agent

    app.config["EOL_BENCHES"] = benches
    stop = threading.Event()
    thread = threading.Thread(
        target=run_agent, args=(app,), kwargs={"stop": stop, "poll_s": poll_s}
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)
