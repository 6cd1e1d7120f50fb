"""Browser fixtures: the app served on a real port, one headless Chromium per test process,
tablet-sized pages and a screenshot helper.

The ``app`` fixture is overridden here so that the live server and the ``create_user`` /
``create_centre`` factories share one app and one database (on SQLite every ``app_factory()``
call gets its own copy), and so that CSRF is on: a real browser sends the token.
"""

import threading
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from tests.conftest import TEST_PASSWORD
from workshop.extensions import db

SCREENSHOTS = Path(__file__).resolve().parents[1] / "_artifacts" / "screenshots"

VIEWPORTS = {
    "portrait": {"width": 800, "height": 1280},
    "landscape": {"width": 1280, "height": 800},
}

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def app(app_factory):
    """The served app, with CSRF on and an application context pushed for the factories."""
    app = app_factory(WTF_CSRF_ENABLED=True)
    with app.app_context():
        yield app
        db.session.remove()


def _closing(app):
    """Read each response whole and close it before werkzeug writes a byte.

    When Chromium drops a connection mid-download (a favicon on a page it is leaving), werkzeug's
    development server fails while draining the socket and never closes the response, so the
    static file it was sending is left open and garbage collection raises a ResourceWarning in
    whatever test runs next. The app streams nothing, so buffering changes no behaviour.
    """

    def wsgi(environ, start_response):
        response = app(environ, start_response)
        try:
            return [b"".join(response)]
        finally:
            if hasattr(response, "close"):
                response.close()

    return wsgi


@pytest.fixture
def live_server(app):
    """Serve ``app`` on a free local port in a background thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, _closing(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    # What the server prints (QR codes, links) points at the server itself.
    app.config["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole test process (Debian's, never a download)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request):
    """Run the test once per tablet orientation: 'portrait' (800x1280), 'landscape' (1280x800)."""
    return request.param


@pytest.fixture
def new_page(browser):
    """Factory: new_page("portrait") -> a Page in a fresh touch-enabled context (own cookies).

    Every page is watched for Content-Security-Policy violations (Chromium reports each one on
    the console): a browser test that met one fails, whatever it was testing.
    """
    contexts = []
    violations = []

    def make(viewport="portrait"):
        context = browser.new_context(
            viewport=VIEWPORTS[viewport],
            has_touch=True,
            device_scale_factor=1,
            # As the workshop tablets are set up: Thai locale, Bangkok time.
            locale="th-TH",
            timezone_id="Asia/Bangkok",
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on(
            "console",
            lambda msg: (
                violations.append(msg.text) if "Content Security Policy" in msg.text else None
            ),
        )
        return page

    yield make
    for context in contexts:
        context.close()
    assert violations == [], "Content-Security-Policy violations"


@pytest.fixture(scope="session")
def shot():
    """Helper: shot(page, "login-portrait-th") saves a full-page PNG under tests/_artifacts."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(page, name: str) -> Path:
        path = SCREENSHOTS / (name if name.endswith(".png") else f"{name}.png")
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


@pytest.fixture
def log_in(live_server):
    """Helper: log_in(page, username) fills and submits the real login form on the live server."""

    def submit(page, username: str, password: str = TEST_PASSWORD) -> None:
        if not page.url.startswith(f"{live_server}/login"):
            page.goto(f"{live_server}/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click(".login-card button[type=submit]")
        page.wait_for_load_state()

    return submit
