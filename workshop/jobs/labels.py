"""What a job's status and a step's state are called on screen (badges on every list row).

A plain function, not a Jinja macro with a table of five translations: a list shows one badge
per row, and each row then costs one translation instead of a macro call and five.
"""

from flask_babel import lazy_gettext as _l
from markupsafe import Markup

JOB_STATUS_LABELS = {
    "open": _l("Open"),
    "awaiting_inspection": _l("Awaiting inspection"),
    "approved": _l("Approved"),
    "certified": _l("Certified"),
    "cancelled": _l("Cancelled"),
}

STEP_STATE_LABELS = {
    "done": _l("Done"),
    "awaiting_countersign": _l("Awaiting countersign"),
    "failed": _l("Failed – open"),
    "ready": _l("Ready"),
    "blocked": _l("Blocked"),
}


def _label(labels: dict, value: str):
    label = labels.get(value)
    # Translations are trusted markup, as Jinja's own gettext treats them; an unknown value is
    # shown as it is (and escaped).
    return Markup(str(label)) if label is not None else value


def status_label(status: str):
    """The label of a job status ('open', ...) in the reader's language."""
    return _label(JOB_STATUS_LABELS, status)


def step_state_label(state: str):
    """The label of a step state ('done', ...) in the reader's language."""
    return _label(STEP_STATE_LABELS, state)
