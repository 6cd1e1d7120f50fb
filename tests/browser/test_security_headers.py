"""In a real browser: nobody can frame the app (clickjacking), and the main screens work under
the strict Content-Security-Policy without a single violation."""

import pytest

from tests.certificates import conftest as certificate_fixtures
from workshop.certificates import services as certificates
from workshop.extensions import db

pytestmark = pytest.mark.browser

cert_app = certificate_fixtures.cert_app
crew = certificate_fixtures.crew
build_job = certificate_fixtures.build_job

# Collects every CSP violation the page reports, whatever the console says.
WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


class Watcher:
    """Console errors and CSP violations of one page, over all the pages it visits."""

    def __init__(self, page):
        self.page = page
        self.console = []
        self.violations = []
        page.add_init_script(WATCH_VIOLATIONS)
        page.on("console", lambda msg: self.console.append(f"{msg.type}: {msg.text}"))

    def visit(self, url):
        self.page.goto(url)
        self.check()

    def check(self):
        self.page.wait_for_load_state()
        self.violations += self.page.evaluate("window.__cspViolations || []")

    def problems(self):
        csp_console = [m for m in self.console if "Content Security Policy" in m]
        return self.violations + csp_console


def test_a_page_framing_the_app_is_refused(live_server, browser, log_in, create_user):
    user = create_user("technician")
    # Its own context, not new_page(): the refusal it provokes is a CSP report on purpose.
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="th-TH")
    page = context.new_page()
    log_in(page, user.username)
    page.goto(f"{live_server}/jobs/")
    assert page.locator("nav.mainnav").count() == 1  # logged in: the page itself opens
    console = []
    page.on("console", lambda msg: console.append(msg.text))
    # The attacker's page, served from the app's own origin: even same-origin framing is refused.
    attack = f"{live_server}/attack.html"
    page.route(
        attack,
        lambda route: route.fulfill(
            content_type="text/html",
            body=f'<h1>win a prize</h1><iframe id="victim" src="{live_server}/jobs/"></iframe>',
        ),
    )
    page.goto(attack)
    page.wait_for_load_state("load")
    frame = page.frame_locator("#victim")
    assert frame.locator("nav.mainnav").count() == 0
    assert frame.locator("body").inner_text(timeout=5000).strip() == "" or not page.frames[
        1
    ].url.startswith(live_server)
    assert any("frame-ancestors" in m for m in console), console
    context.close()


def test_main_screens_work_under_the_csp(
    cert_app, build_job, crew, live_server, new_page, log_in, monkeypatch
):
    from workshop.jobs.models import JobStatus

    job = build_job(stage="open")
    job.status = JobStatus.APPROVED  # the certificate rules have their own tests
    monkeypatch.setattr(certificates, "certificate_blockers", lambda job: [])
    certificate = certificates.issue_certificate(job, crew["inspector"])
    db.session.commit()
    open_job = build_job(stage="open")

    page = new_page("landscape")
    watch = Watcher(page)
    watch.visit(f"{live_server}/login")
    log_in(page, crew["supervisor"].username)
    watch.check()
    watch.visit(f"{live_server}/")
    # job page: the progress bar is sized by the script (no style attribute allowed)
    watch.visit(f"{live_server}/jobs/{job.id}")
    width = page.locator(".progress-bar").first.evaluate("e => e.style.width")
    assert width.endswith("%")
    # step screen: an out-of-limit value turns red at once (the static script runs)
    watch.visit(f"{live_server}/jobs/{open_job.id}/steps/intake-02")
    box = page.locator(".measure").first
    if box.count():
        box.locator("input").fill("-99999999")
        assert "out-of-limits" in box.get_attribute("class")
    # intake: only the kits that fit the chosen model stay selectable
    watch.visit(f"{live_server}/jobs/new")
    page.select_option("#manual_id", "toyota-vios-ncp93")
    hidden = page.locator("#kit_id option[value='jazz-ev1']").evaluate("o => o.disabled")
    assert hidden
    # EOL: the runs of a job, a queued run whose page polls its status (a finished run's page
    # with its charts is walked by tests/browser/test_eol.py, under the same CSP watch)
    watch.visit(f"{live_server}/jobs/{open_job.id}/eol")
    with page.expect_request(lambda r: r.url.endswith("/status"), timeout=10_000):
        page.click("#start-run")
    watch.check()
    watch.visit(f"{live_server}/eol/traces")
    # inspector: the certificate page (QR code as a data: image)
    inspector_page = new_page("landscape")
    inspector = Watcher(inspector_page)
    inspector.visit(f"{live_server}/login")
    log_in(inspector_page, crew["inspector"].username)
    inspector.visit(f"{live_server}/certificates/{certificate.id}")
    assert inspector_page.locator("img[src^='data:image']").count() == 1
    # anyone: the public verification pages
    public = new_page("portrait")
    anyone = Watcher(public)
    anyone.visit(f"{live_server}/verify/{certificate.token}")
    assert public.locator("#number").inner_text() == certificate.number
    anyone.visit(f"{live_server}/verify")
    assert watch.problems() + inspector.problems() + anyone.problems() == []
