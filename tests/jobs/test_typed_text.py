"""Text that is evidence is typed: a glove-test date must be a real, recent date and an engine
number must look like one; "OK" is refused for both (workshop/jobs/services.check_values)."""

from datetime import timedelta

import pytest

from workshop.columns import utcnow
from workshop.i18n import BANGKOK
from workshop.jobs.services import JobError, check_values
from workshop.manuals.loader import load_manuals


def _step_with(key):
    manual = load_manuals()["honda-jazz-ge"]
    step = next(s for s in manual.steps if any(i.key == key for i in s.inputs))
    return step, next(i for i in step.inputs if i.key == key)


def _only(step, key, value):
    """Good values for every other input of the step, ``value`` for ``key``."""
    from workshop.certificates.demo import demo_text

    raw = {}
    for inp in step.inputs:
        if inp.key == key:
            raw[key] = value
        elif inp.type == "confirmation":
            raw[inp.key] = "y"
        elif inp.type == "text":
            raw[inp.key] = demo_text(inp, {"engine_number": "L15A7-1"})
        elif inp.type == "choice":
            raw[inp.key] = inp.options[0].value
        elif inp.type == "measurement":
            raw[inp.key] = str(inp.min if inp.min is not None else 0)
    photos = {i.key: i.count for i in step.inputs if i.type == "photo"}
    return check_values(step, raw, photos)


def test_a_recent_glove_test_date_is_kept(app):
    step, inp = _step_with("glove_test_date")
    assert inp.format == "date" and inp.max_age_days == 183
    today = utcnow().astimezone(BANGKOK).date()
    checked = _only(step, "glove_test_date", (today - timedelta(days=10)).isoformat())
    assert checked.values["glove_test_date"] == (today - timedelta(days=10)).isoformat()


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("OK", "give a date"),
        ("31/12/2026", "give a date"),
        ("future", "in the future"),
        ("old", "more than 183 days ago"),
    ],
)
def test_a_glove_test_date_that_is_not_one_is_refused(app, value, problem):
    step, _ = _step_with("glove_test_date")
    today = utcnow().astimezone(BANGKOK).date()
    value = {
        "future": (today + timedelta(days=1)).isoformat(),
        "old": (today - timedelta(days=200)).isoformat(),
    }.get(value, value)
    with pytest.raises(JobError, match=problem):
        _only(step, "glove_test_date", value)


def test_an_engine_number_is_copied_as_marked(app):
    step, inp = _step_with("engine_number")
    assert inp.format == "identifier"
    assert _only(step, "engine_number", " l15a7-1234567 ").values["engine_number"] == (
        "L15A7-1234567"
    )
    for bad in ("OK", "L15A7 1234567", "เครื่องยนต์"):
        with pytest.raises(JobError, match="copy it exactly as marked"):
            _only(step, "engine_number", bad)
