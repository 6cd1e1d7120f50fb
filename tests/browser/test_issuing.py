"""Issuing a certificate in a real browser (issue 14): the button queues the work, the page
follows the real worker's progress, and opens the certificate once it is issued, saying so once;
in Thai and English, on a portrait and a landscape tablet."""

import pytest
from flask_babel import force_locale, gettext
from playwright.sync_api import expect

from tests.certificates import conftest as certificate_fixtures
from workshop.certificates import services
from workshop.certificates.issuing import latest_issue_request
from workshop.extensions import db
from workshop.queue import run_worker

pytestmark = pytest.mark.browser

# The certificates feature's fixtures: a crew at a centre and fully built jobs.
cert_app = certificate_fixtures.cert_app
crew = certificate_fixtures.crew
build_job = certificate_fixtures.build_job


def issued_message(app, number: str, locale: str) -> str:
    """The certificate page's "just issued" confirmation as the catalogue renders it."""
    with app.test_request_context(), force_locale(locale):
        return gettext("Certificate %(number)s has been issued.", number=number)


@pytest.mark.parametrize("locale", ["th", "en"])
def test_issue_in_the_background_and_open_the_certificate(
    app, cert_app, build_job, crew, new_page, live_server, log_in, shot, viewport, locale
):
    crew["inspector"].locale = locale  # the language the inspector chose, kept with the user
    db.session.commit()
    job = build_job(stage="approved")
    page = new_page(viewport)
    log_in(page, crew["inspector"].username)
    page.goto(f"{live_server}/inspection/jobs/{job.id}")
    page.click("#issue")
    page.wait_for_load_state()
    # the request is queued: the page follows it instead of offering the button again
    page.locator("#issuing").wait_for(state="visible", timeout=30_000)
    assert page.locator("#issue").count() == 0
    expect(page.locator("html")).to_have_attribute("lang", locale)
    assert page.locator("#issue-state [data-percent]").inner_text().strip() == "0"
    shot(page, f"issuing-queued-{viewport}-{locale}")
    db.session.rollback()
    assert latest_issue_request(job).status == "queued"
    assert services.job_certificate(job) is None

    run_worker(app.config, burst=True)  # the worker, on the real queue

    db.session.rollback()
    certificate = services.job_certificate(job)
    assert certificate is not None
    # the page's polling sees it done and opens the certificate by itself
    page.wait_for_url(f"{live_server}/certificates/{certificate.id}", timeout=60_000)
    assert certificate.number in page.content()
    # ...and says, in the inspector's language, that it was just issued
    expect(page.locator(".flash-success")).to_have_text(
        issued_message(app, certificate.number, locale)
    )
    shot(page, f"issuing-done-certificate-{viewport}-{locale}")
    # said once: a reload shows the certificate without it
    page.reload()
    expect(page.locator("main h1")).to_have_text(certificate.number)
    assert page.locator(".flash").count() == 0
    # back on the job's page, the certificate's number links to it
    page.goto(f"{live_server}/inspection/jobs/{job.id}")
    assert page.locator("#certificate-link").inner_text().strip() == certificate.number
