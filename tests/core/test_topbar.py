"""The top bar is rendered once per language, user and menu and kept (web.topbar): what differs
on every page (the CSRF token, the language switch's way back) must still be this page's, and
one user's bar must never show up on another user's page."""

import re
from urllib.parse import parse_qs, urlsplit

from tests.conftest import TEST_PASSWORD


def _bar(html: str) -> str:
    return re.search(r'<header class="topbar">.*?</header>', html, re.S).group(0)


def _tokens(html: str) -> set[str]:
    return set(re.findall(r'name="csrf_token" value="([^"]*)"', html))


def _switch_next(bar: str) -> str:
    action = re.search(r'<form method="post" action="([^"]+)"', bar).group(1)
    action = action.replace("&amp;", "&")
    return parse_qs(urlsplit(action).query)["next"][0]


def test_each_user_sees_their_own_name_token_and_way_back(app, create_user):
    first = create_user("supervisor", full_name="Somchai <b>Boss</b>")
    second = create_user("supervisor", centre=first.centre, full_name="Anan")
    one, other = first.username, second.username
    clients = {}
    # Each request in its own application context, as in production (the test's own context
    # would share ``g``, and with it the logged-in user, between the two clients).
    for name in (one, other):
        clients[name] = app.test_client()
        with app.app_context():
            clients[name].post("/login", data={"username": name, "password": TEST_PASSWORD})
    pages = {}
    for name, client in clients.items():
        for url in ("/", "/jobs/?status=open"):
            with app.app_context():
                r = client.get(url)
            assert r.status_code == 200, (name, url, r.status_code)
            pages[name, url] = r.get_data(as_text=True)

    assert "Somchai &lt;b&gt;Boss&lt;/b&gt;" in _bar(pages[one, "/"])
    assert "Anan" not in _bar(pages[one, "/"]) and "Somchai" not in _bar(pages[other, "/"])
    for (name, url), html in pages.items():
        bar = _bar(html)
        assert 'id="logout"' in bar and 'class="mainnav"' in bar
        # The way back is this page's, whichever page rendered the kept bar first.
        assert _switch_next(bar) == ("/?" if url == "/" else url)
        # One token per page, the session's: the bar's forms carry the same as the page's.
        assert len(_tokens(html)) == 1, (name, url)
    assert _tokens(pages[one, "/"]) == _tokens(pages[one, "/jobs/?status=open"])
    assert _tokens(pages[one, "/"]) != _tokens(pages[other, "/"])
    # The menu marks the page's own entry.
    assert re.search(r'href="/jobs/" class="active"', _bar(pages[one, "/jobs/?status=open"]))
    assert re.search(r'href="/" class="active"', _bar(pages[one, "/"]))
    assert not re.search(r'href="/jobs/" class="active"', _bar(pages[one, "/"]))


def test_a_visitor_gets_no_menu_and_the_bar_in_their_language(client):
    page = client.get("/login").get_data(as_text=True)
    bar = _bar(page)
    assert 'id="logout"' not in bar and "mainnav" not in bar
    assert 'lang="en"' in bar  # Thai by default: the switch offers English
    client.post("/language/en")
    bar = _bar(client.get("/login").get_data(as_text=True))
    assert 'lang="th"' in bar and "ภาษาไทย" in bar
    assert _switch_next(bar) == "/login?"
