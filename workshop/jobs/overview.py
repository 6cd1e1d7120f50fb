"""The job page's steps as plain rows, computed in one pass: per step its title, state and
badge, who signed and countersigned when, what it waits for and the qualification it needs.

A page shows 44 steps or more; looking these up in the template (attribute chains, a call and
an escape each, the locale found again for every badge and date) cost more than the rest of the
page, so the template only writes the rows out.
"""

from dataclasses import dataclass
from typing import NamedTuple

from flask import g
from flask_babel import gettext as _
from markupsafe import Markup, escape

from workshop.accounts.qualifications import qualification_name
from workshop.i18n import format_local_datetime
from workshop.jobs.labels import step_state_labels
from workshop.jobs.progress import StepState, StepStatus
from workshop.manuals.schema import Manual
from workshop.web import current_locale


class StepRow(NamedTuple):
    """One step of the job page, ready to show (a tuple: 44 or more are built per page)."""

    url: str
    title: str
    state: StepState
    state_label: Markup | str
    high_voltage: bool
    signed: bool  # the step has a record: who signed when (and countersigned) is shown
    signer: str
    signed_at: str  # Bangkok local time, in the reader's language
    countersigned: bool
    countersigner: str | None
    records: int
    waiting_for: tuple[str, ...]  # titles of the steps it is blocked by
    needs: str | None  # the name of a qualification the reader lacks for it


@dataclass(frozen=True, slots=True)
class SectionRows:
    """A section of the manual with its steps' rows and how many are done."""

    id: str
    title: str
    done: int
    rows: list[StepRow]
    html: Markup  # the rows as the page's list items (``rows_html``)


def step_rows(
    manual: Manual, progress: dict[str, StepStatus], locale: str, step_url_prefix: str
) -> list[SectionRows]:
    """The manual's sections with a row for each step of ``progress`` (from ``job_overview``);
    ``step_url_prefix`` + a step id is the step's screen."""
    labels = step_state_labels()
    qualification_names: dict[str, str] = {}
    sections = []
    for section in manual.sections:
        rows = []
        for step in section.steps:
            status = progress[step.id]
            latest = status.latest
            needs = status.missing_qualification
            if needs:
                if needs not in qualification_names:
                    qualification_names[needs] = qualification_name(needs, locale)
                needs = qualification_names[needs]
            else:
                needs = None
            rows.append(
                StepRow(
                    url=step_url_prefix + step.id,
                    title=step.title(locale),
                    state=status.state,
                    state_label=labels.get(status.state, status.state),
                    high_voltage="high_voltage" in step.hazards,
                    signed=latest is not None,
                    signer=latest.signer if latest else "",
                    signed_at=format_local_datetime(latest.signed_at, locale) if latest else "",
                    countersigned=latest is not None and latest.countersigned,
                    countersigner=latest.countersigner if latest else None,
                    records=len(status.records),
                    waiting_for=tuple(manual.step(dep).title(locale) for dep in status.blocked_by),
                    needs=needs,
                )
            )
        done = sum(row.state == StepState.DONE for row in rows)
        sections.append(SectionRows(section.id, section.title(locale), done, rows, rows_html(rows)))
    return sections


def rows_html(rows: list[StepRow]) -> Markup:
    """The job page's list items for ``rows``, every value escaped, in the request's language.

    Written here rather than looped over in the template: a page has 44 rows or more, and the
    template spent about 180 function calls on each (an attribute lookup, an escape and a join
    per value); this is a few escapes and one format per row.
    """
    signed_by, countersigned_by, waiting_for, records, needs = _phrases()
    items = []
    for row in rows:
        meta = ""
        if row.signed:
            meta = f"{signed_by} {escape(row.signer)}, {escape(row.signed_at)}"
            if row.countersigned:
                meta += f" · {countersigned_by} {escape(row.countersigner)}"
            if row.records > 1:
                meta += f" · {escape(records % {'n': row.records})}"
        elif row.waiting_for:
            meta = f"{waiting_for}: {escape(', '.join(row.waiting_for))}"
        if row.needs is not None:
            meta += f' · <span class="badge badge-warn">{escape(needs % {"q": row.needs})}</span>'
        state = escape(row.state)
        items.append(
            f'<li class="step-row step-row-{state}">'
            f'<a href="{escape(row.url)}"><span class="step-title">{escape(row.title)}</span> '
            f'<span class="badge step-{state}">{escape(row.state_label)}</span>'
            f"{_HV if row.high_voltage else ''}</a>"
            f'<div class="step-meta muted">{meta}</div></li>'
        )
    return Markup("\n".join(items))


def _phrases() -> tuple:
    """The rows' words in the request's language, looked up once per page and language."""
    locale = current_locale()
    known = getattr(g, "_job_row_phrases", None)
    if known is None or known[0] != locale:
        known = g._job_row_phrases = (
            locale,
            (
                escape(_("signed by")),
                escape(_("countersigned by")),
                escape(_("waiting for")),
                _("%(n)d records"),  # formats to be filled in, then escaped with their values
                _("needs %(q)s"),
            ),
        )
    return known[1]


_HV = ' <span class="badge badge-err">⚡ HV</span>'
