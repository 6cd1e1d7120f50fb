"""The job page's step rows, written by ``overview.rows_html``: every value escaped, each part
shown only when it applies, in the reader's language."""

import re

from flask_babel import force_locale
from markupsafe import Markup

from workshop.jobs.overview import StepRow, rows_html
from workshop.jobs.progress import StepState


def _row(**changes) -> StepRow:
    values = dict(
        url="/jobs/7/steps/hv-01",
        title="Disconnect the 12 V battery",
        state=StepState.READY,
        state_label=Markup("Ready"),
        high_voltage=False,
        signed=False,
        signer="",
        signed_at="",
        countersigned=False,
        countersigner=None,
        records=0,
        waiting_for=(),
        needs=None,
    )
    values.update(changes)
    return StepRow(**values)


def _items(html: str) -> list[str]:
    return re.findall(r"<li .*?</li>", html, re.S)


def test_a_signed_countersigned_corrected_row(app):
    row = _row(
        state=StepState.DONE,
        state_label=Markup("Done"),
        high_voltage=True,
        signed=True,
        signer="Somchai <b>",
        signed_at="6 Dec 2026 13:05",
        countersigned=True,
        countersigner='Anan "A&B"',
        records=3,
    )
    with app.test_request_context(), force_locale("en"):
        html = rows_html([row])
    assert isinstance(html, Markup)
    (item,) = _items(html)
    assert 'class="step-row step-row-done"' in item
    assert 'href="/jobs/7/steps/hv-01"' in item
    assert '<span class="step-title">Disconnect the 12 V battery</span>' in item
    assert '<span class="badge step-done">Done</span>' in item
    assert "⚡ HV" in item
    meta = re.search(r'<div class="step-meta muted">(.*?)</div>', item).group(1)
    assert meta == (
        "signed by Somchai &lt;b&gt;, 6 Dec 2026 13:05 · countersigned by Anan &#34;A&amp;B&#34;"
        " · 3 records"
    )


def test_a_waiting_row_names_what_it_waits_for_and_the_qualification_it_needs(app):
    row = _row(
        state=StepState.BLOCKED,
        state_label="Blocked <i>",  # a plain string is escaped too
        waiting_for=("Lift the car", "Drain <coolant>"),
        needs="HV qualified & live",
    )
    with app.test_request_context(), force_locale("en"):
        (item,) = _items(rows_html([row]))
    assert '<span class="badge step-blocked">Blocked &lt;i&gt;</span>' in item
    assert "⚡ HV" not in item
    meta = re.search(r'<div class="step-meta muted">(.*?)</div>', item).group(1)
    assert meta == (
        "waiting for: Lift the car, Drain &lt;coolant&gt;"
        ' · <span class="badge badge-warn">needs HV qualified &amp; live</span>'
    )


def test_one_record_shows_no_count_and_an_open_row_no_meta(app):
    signed = _row(signed=True, signer="Somchai", signed_at="6 Dec 2026", records=1)
    fresh = _row(url="/jobs/7/steps/hv-02")
    with app.test_request_context(), force_locale("en"):
        first, second = _items(rows_html([signed, fresh]))
    assert "records" not in first and "countersigned" not in first
    assert '<div class="step-meta muted"></div>' in second


def test_rows_in_thai(app):
    row = _row(signed=True, signer="สมชาย", signed_at="6 ธ.ค. 2569", records=2, needs="ช่าง HV")
    with app.test_request_context(), force_locale("en"):
        english = rows_html([row])
    with app.test_request_context(), force_locale("th"):
        thai = rows_html([row])
    assert "signed by" in english and "2 records" in english
    assert "signed by" not in thai and "records" not in thai and "needs" not in thai
    assert "สมชาย" in thai and "ช่าง HV" in thai
