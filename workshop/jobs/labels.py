"""What a job's status and a step's state are called on screen (badges on every list row).

A plain function, not a Jinja macro with a table of five translations: a list shows one badge
per row (the job page one per step, 44 of them). The labels are translated once per language and
process (the catalogue does not change while the app runs), so a badge costs a dictionary lookup.
"""

from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from workshop.web import current_locale

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


_translated: dict[tuple[int, str], dict[str, Markup]] = {}


def _table(labels: dict) -> dict[str, Markup]:
    key = (id(labels), current_locale())
    table = _translated.get(key)
    if table is None:
        # Translations are trusted markup, as Jinja's own gettext treats them.
        table = _translated[key] = {k: Markup(str(label)) for k, label in labels.items()}
    return table


def _label(labels: dict, value: str):
    # An unknown value is shown as it is (and escaped).
    return _table(labels).get(value, value)


def step_state_labels() -> dict[str, Markup]:
    """Every step state's label in the reader's language, by state (for a page of many)."""
    return _table(STEP_STATE_LABELS)


def status_label(status: str):
    """The label of a job status ('open', ...) in the reader's language."""
    return _label(JOB_STATUS_LABELS, status)


def step_state_label(state: str):
    """The label of a step state ('done', ...) in the reader's language."""
    return _label(STEP_STATE_LABELS, state)
