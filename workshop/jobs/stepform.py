"""The fields of a step's form on the step screen, rendered once and kept.

The fields (labels, limits, units, the wrench setting, choices, the instrument lists, the photo
counts) are most of the step screen's template work, and for an empty form (every GET) they are
the same for every job on one manual version: they depend only on the step, the language, the
centre's usable calibrated instruments and how many photos wait for each photo input. All of
that is the cache key, so a change of any of them renders afresh; a form sent back with what
was typed (a refused save) is always rendered afresh and never kept.
"""

import threading
from collections import OrderedDict

from flask import render_template
from markupsafe import Markup

from workshop.web import current_locale

_CACHE_SIZE = 512
_cache: OrderedDict[tuple, Markup] = OrderedDict()
_lock = threading.Lock()  # gunicorn's threads share the cache


def _key(job, step, instrument_choices, pending) -> tuple:
    return (
        job.manual_id,
        job.manual_version,
        job.manual_fingerprint or f"job-{job.id}",
        step.id,
        current_locale(),
        tuple(
            (kind, tuple((i.id, i.serial, i.make_model, i.due_on) for i in found))
            for kind, found in sorted(instrument_choices.items())
        ),
        tuple(sorted((key, len(photos)) for key, photos in pending.items())),
    )


def step_inputs_html(job, step, *, form_values, instrument_choices, pending, instrument_field):
    """The form fields of ``step`` (``templates/jobs/_step_inputs.html``), from the cache when
    the form is empty."""
    context = dict(
        step=step,
        form_values=form_values,
        instrument_choices=instrument_choices,
        pending=pending,
        instrument_field=instrument_field,
    )
    if form_values:
        return Markup(render_template("jobs/_step_inputs.html", **context))
    key = _key(job, step, instrument_choices, pending)
    with _lock:
        html = _cache.get(key)
        if html is not None:
            _cache.move_to_end(key)
            return html
    html = Markup(render_template("jobs/_step_inputs.html", **context))
    with _lock:
        _cache[key] = html
        if len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return html
