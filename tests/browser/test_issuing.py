"""Issuing a certificate in a real browser (issue 14): the button queues the work, the page
follows the real worker's progress, and opens the certificate once it is issued."""

import pytest

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


def test_issue_in_the_background_and_open_the_certificate(
    app, cert_app, build_job, crew, new_page, live_server, log_in, shot
):
    job = build_job(stage="approved")
    page = new_page("portrait")
    log_in(page, crew["inspector"].username)
    page.goto(f"{live_server}/inspection/jobs/{job.id}")
    page.click("#issue")
    page.wait_for_load_state()
    # the request is queued: the page follows it instead of offering the button again
    page.locator("#issuing").wait_for(state="visible", timeout=30_000)
    assert page.locator("#issue").count() == 0
    assert page.locator("#issue-state [data-percent]").inner_text().strip() == "0"
    shot(page, "issuing-queued-portrait-th")
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
    shot(page, "issuing-done-certificate-portrait-th")
    # back on the job's page, the certificate's number links to it
    page.goto(f"{live_server}/inspection/jobs/{job.id}")
    assert page.locator("#certificate-link").inner_text().strip() == certificate.number
