"""Security headers on every route (the route matrix's list), and pages free of inline code."""

import re

from tests.conftest import TEST_PASSWORD, IsolatedClient
from tests.core import test_route_matrix as matrix
from tests.core.test_route_matrix import ARGS, ROLES, routes

world = matrix.world  # the route matrix's fixture: two centres with a record of every kind

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
STYLE_ATTRIBUTE = re.compile(r"<[^>]+\sstyle\s*=", re.I)
STYLE_ELEMENT = re.compile(r"<style[\s>]", re.I)
HANDLER_ATTRIBUTE = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
JS_URL = re.compile(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.I)

DIRECTIVES = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}


def _csp(response) -> dict[str, str]:
    policy = response.headers.get("Content-Security-Policy", "")
    parts = [p.strip().split(None, 1) for p in policy.split(";") if p.strip()]
    return {p[0]: (p[1] if len(p) > 1 else "") for p in parts}


def header_problems(response) -> list[str]:
    """What is missing or wrong in a response's security headers and (HTML) body."""
    problems = []
    csp = _csp(response)
    for name, value in DIRECTIVES.items():
        if csp.get(name) != value:
            problems.append(f"CSP {name}={csp.get(name)!r}")
    if "unsafe-inline" in response.headers.get("Content-Security-Policy", ""):
        problems.append("unsafe-inline")
    expected = {
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }
    for name, value in expected.items():
        if response.headers.get(name) != value:
            problems.append(f"{name}={response.headers.get(name)!r}")
    if response.mimetype == "text/html":
        body = response.get_data(as_text=True)
        for label, pattern in [
            ("inline <script>", INLINE_SCRIPT),
            ("style attribute", STYLE_ATTRIBUTE),
            ("<style> element", STYLE_ELEMENT),
            ("on* handler", HANDLER_ATTRIBUTE),
            ("javascript: URL", JS_URL),
        ]:
            match = pattern.search(body)
            if match:
                problems.append(f"{label}: {match.group(0)[:80]}")
    return problems


def _logged_in(app, user):
    client = app.test_client()
    r = client.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
    assert r.status_code == 302
    return client


def test_every_route_sends_the_security_headers(app, world):
    """Each route, anonymous and as every role, answers with the headers whatever its status."""
    app.test_client_class = IsolatedClient
    args = ARGS(world)
    from flask import url_for

    anonymous = app.test_client()
    clients = {role: _logged_in(app, world["users"][role]) for role in ROLES}
    failures, html_pages = [], 0
    for rule, method in routes(app):
        with app.test_request_context():
            url = url_for(rule.endpoint, **args.get(rule.endpoint, {}))
        ends_sessions = rule.endpoint in ("accounts.logout", "accounts.end_user_sessions")
        for who, client in [("anonymous", anonymous), *clients.items()]:
            if ends_sessions and who != "anonymous":
                client = _logged_in(app, world["users"][who])
            response = client.open(url, method=method)
            html_pages += response.mimetype == "text/html" and response.status_code == 200
            problems = header_problems(response)
            response.close()
            if problems:
                failures.append((rule.endpoint, method, str(who), response.status_code, problems))
    assert failures == []
    assert html_pages > 50  # the walk really rendered the app's pages


def test_error_pages_send_the_headers_too(client):
    for response in (client.get("/no-such-page"), client.get("/logout"), client.post("/")):
        assert header_problems(response) == [], response.status_code


def test_no_hsts_over_plain_http_lan(client):
    r = client.get("/login")
    assert "Strict-Transport-Security" not in r.headers
    assert "Secure" not in r.headers.get("Set-Cookie", "")


def test_hsts_when_cookies_are_https_only(app_factory):
    app = app_factory(SESSION_COOKIE_SECURE=True)
    client = app.test_client()
    r = client.get("/login", base_url="https://workshop.example")
    assert r.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert header_problems(r) == []
    # behind a TLS-terminating proxy that says so
    r = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" in r.headers
