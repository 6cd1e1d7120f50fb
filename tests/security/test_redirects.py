"""``next`` after login and after the language switch only ever leads to a page of this app."""

import pytest

from tests.conftest import TEST_PASSWORD

HOSTILE = [
    "/%09/evil.example/phish",  # the reviewer's: Chromium drops the tab and reads //evil...
    "/\t/evil.example/phish",
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example/",
    "\\\\evil.example/",
    "/%5Cevil.example/",
    "/%2F%2Fevil.example/",
    "%2F%2Fevil.example/",
    "/%252F%252Fevil.example/",
    "https://evil.example/",
    "HTTPS:evil.example",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "/jobs/\r\nSet-Cookie: stolen=1",
    "/jobs/%0d%0aSet-Cookie:%20stolen=1",
    "/jobs/\n",
    " //evil.example/",
    "/\x00/evil.example",
    "/no-such-page",
    "evil.example",
    "/" + "a" * 5000,
]


@pytest.mark.parametrize("target", HOSTILE)
def test_login_next_never_leaves_the_app(client, create_user, target):
    user = create_user("admin")
    r = client.post(
        "/login",
        query_string={"next": target},
        data={"username": user.username, "password": TEST_PASSWORD},
    )
    assert r.status_code == 302
    assert r.headers["Location"] == "/"
    assert client.get("/").status_code == 200  # the login itself went through


@pytest.mark.parametrize("target", HOSTILE)
def test_login_next_in_the_form_never_leaves_the_app(client, create_user, target):
    user = create_user("admin")
    r = client.post(
        "/login", data={"username": user.username, "password": TEST_PASSWORD, "next": target}
    )
    assert (r.status_code, r.headers["Location"]) == (302, "/")


def test_raw_percent_encoded_next_in_the_url(client, create_user):
    user = create_user("admin")
    r = client.post(
        "/login?next=/%09/evil.example/phish",
        data={"username": user.username, "password": TEST_PASSWORD},
    )
    assert r.headers["Location"] == "/"
    r = client.post("/language/en?next=%0d%0a/evil")
    assert (r.status_code, r.headers["Location"]) == (302, "/")


@pytest.mark.parametrize("target", HOSTILE)
def test_language_switch_next_never_leaves_the_app(client, target):
    r = client.post("/language/en", query_string={"next": target})
    assert (r.status_code, r.headers["Location"]) == (302, "/")


@pytest.mark.parametrize("target", ["/admin/centres", "/jobs/?status=open", "/jobs", "/login"])
def test_pages_of_the_app_are_followed(client, create_user, target):
    user = create_user("admin")
    r = client.post(
        "/login",
        query_string={"next": target},
        data={"username": user.username, "password": TEST_PASSWORD},
    )
    assert r.headers["Location"] == target
    r = client.post("/language/th", query_string={"next": target})
    assert r.headers["Location"] == target


def test_unauthenticated_visit_returns_to_the_page_after_login(client, create_user):
    user = create_user("admin")
    r = client.get("/admin/users")
    assert r.status_code == 302 and "next=" in r.headers["Location"]
    r = client.post(
        r.headers["Location"], data={"username": user.username, "password": TEST_PASSWORD}
    )
    assert r.headers["Location"] == "/admin/users"
