"""The step screen's form fields are rendered once per manual version, step, language, the
centre's usable instruments and the photo counts (workshop/jobs/stepform.py): whatever of those
changes shows at once, and what a technician typed is never kept for the next screen."""

from datetime import timedelta

from tests.factories import make_intake
from workshop.certificates import demo
from workshop.extensions import db
from workshop.jobs import instruments
from workshop.jobs import services as jobs
from workshop.jobs.instruments import NewInstrument
from workshop.manuals.loader import load_manuals

PDF = b"%PDF-1.4\n% calibration certificate\n%%EOF\n"
NO_SCALE = "field-error"  # "This centre has no vehicle scale with a calibration in force ..."


def _scale(serial: str) -> NewInstrument:
    today = instruments.today()
    return NewInstrument(
        kind="vehicle_scale",
        make_model="Intercomp SW777",
        serial=serial,
        certificate_number=f"CAL-{serial}",
        calibrated_on=today - timedelta(days=30),
        due_on=today + timedelta(days=300),
        certificate=PDF,
    )


def _open_at_the_weights(centre, supervisor, technician, vin, tmp_path):
    """A Jazz job whose step intake-03 (curb weight and axle loads, on a vehicle scale) is next."""
    manual = load_manuals()["honda-jazz-ge"]
    job = jobs.open_job(centre, make_intake(vin=vin), manual, supervisor)
    for step_id in ("intake-01", "intake-02"):  # neither reading needs an instrument
        raw = demo._raw_values(job, manual.step(step_id), technician, tmp_path, demo.DEFAULT_VALUES)
        jobs.sign_step(job, step_id, technician, raw, base_seq=0)
    db.session.commit()
    return f"/jobs/{job.id}/steps/intake-03"


def _page(client, url) -> str:
    with client.get(url) as r:
        assert r.status_code == 200
        return r.text


def test_the_step_screen_shows_what_changed_since_it_was_last_drawn(
    app, client, auth, centre, create_worker, create_centre, tmp_path
):
    supervisor = create_worker("supervisor")
    technician = create_worker("technician")
    url = _open_at_the_weights(centre, supervisor, technician, "MRHGE8840BP100078", tmp_path)
    auth.login(technician.username)

    first = _page(client, url)
    assert NO_SCALE in first and "SC-7" not in first

    # a scale registered at the centre shows on the next screen, a retired one goes
    scale = instruments.register_instrument(centre, _scale("SC-7"), supervisor, tmp_path)
    db.session.commit()
    page = _page(client, url)
    assert "SC-7" in page and NO_SCALE not in page
    instruments.retire_instrument(scale, supervisor)
    db.session.commit()
    page = _page(client, url)
    assert "SC-7" not in page and NO_SCALE in page

    # another centre's scale is not this centre's
    other = create_centre(code="JOB02")
    instruments.register_instrument(other, _scale("SC-9"), supervisor, tmp_path)
    db.session.commit()
    assert "SC-9" not in _page(client, url)

    # the language: the same step in English once the user prefers it
    thai = _page(client, url)
    technician.locale = "en"
    db.session.commit()
    english = _page(client, url)
    assert "Curb weight" in english and "Curb weight" not in thai


def test_what_was_typed_comes_back_on_a_refusal_and_never_on_the_next_screen(
    app, client, auth, centre, create_worker, tmp_path
):
    supervisor = create_worker("supervisor")
    technician = create_worker("technician")
    url = _open_at_the_weights(centre, supervisor, technician, "MRHGE8840BP100079", tmp_path)
    instruments.register_instrument(centre, _scale("SC-7"), supervisor, tmp_path)
    db.session.commit()
    auth.login(technician.username)
    page = _page(client, url)
    assert 'value="1234"' not in page
    # No instrument named: refused, and the form comes back with what was typed.
    with client.post(
        url + "/sign",
        data={"base_seq": "0", "curb_weight_kg": "1234", "front_axle_kg": "640"},
    ) as r:
        assert r.status_code == 422
        assert 'value="1234"' in r.text
    assert 'value="1234"' not in _page(client, url)
