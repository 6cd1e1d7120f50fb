"""The tablet shell in a real browser: login per role, Thai/English, touch targets, layout,
LAN-only resources and the Sarabun font; both tablet orientations."""

import re
from decimal import Decimal

import pytest
from flask import url_for
from flask_babel import force_locale, gettext
from playwright.sync_api import expect

from workshop.accounts.models import User
from workshop.extensions import db

pytestmark = pytest.mark.browser

THAI = re.compile("[\u0e00-\u0e7f]")

ROLE_PANELS = {
    "technician": {"panel-jobs"},
    "supervisor": {"panel-jobs"},
    "trainer": {"panel-training"},
    "inspector": {"panel-inspection"},
    "admin": {"panel-admin"},
}
ALL_PANELS = set().union(*ROLE_PANELS.values())
ADMIN_ENDPOINTS = ("accounts.list_centres", "accounts.list_users", "audit.list_events")

# Every visible control that is smaller than a gloved finger, described so a failure names it.
TOUCH_TARGET_OFFENDERS_JS = """
() => {
  const describe = (el) => {
    let d = el.tagName.toLowerCase();
    if (el.id) d += '#' + el.id;
    if (el.getAttribute('name')) d += `[name=${el.getAttribute('name')}]`;
    if (el.tagName === 'INPUT') d += `[type=${el.type}]`;
    if (typeof el.className === 'string' && el.className.trim())
      d += '.' + el.className.trim().split(/\\s+/).join('.');
    const text = (el.innerText || el.value || '').trim().replace(/\\s+/g, ' ').slice(0, 30);
    return text ? `${d} "${text}"` : d;
  };
  const offenders = [];
  const controls = 'a, button, input:not([type=hidden]), select, textarea';
  for (const el of document.body.querySelectorAll(controls)) {
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    if (box.width === 0 && box.height === 0) continue;
    const need = ['checkbox', 'radio'].includes(el.type) ? 24 : 44;
    if (box.height < need || box.width < need)
      offenders.push(`${describe(el)}: ${box.width.toFixed(1)}x${box.height.toFixed(1)} px`
                     + ` (needs ${need}x${need})`);
  }
  return offenders;
}
"""

HORIZONTAL_OVERFLOW_JS = """
() => ({scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth})
"""

FONT_STATE_JS = """
async () => {
  await document.fonts.ready;
  return {
    check: document.fonts.check('16px Sarabun', 'ภาษาไทย'),
    loaded: [...document.fonts]
      .filter((f) => f.family.replace(/["']/g, '') === 'Sarabun' && f.status === 'loaded')
      .map((f) => String(f.weight)),
    bodyFamily: getComputedStyle(document.body).fontFamily,
  };
}
"""


def translate(app, text: str, locale: str, **variables) -> str:
    """``text`` as the app's catalogue renders it in ``locale``."""
    with app.test_request_context(), force_locale(locale):
        return gettext(text, **variables)


def paths(app, *endpoints: tuple[str, dict]) -> list[str]:
    """URL paths of (endpoint, values) pairs."""
    with app.test_request_context():
        return [url_for(endpoint, **values) for endpoint, values in endpoints]


def new_login(create_user, *roles, **fields) -> tuple[str, str]:
    """Create a committed user and return (username, full_name), ending the read transaction."""
    user = create_user(*roles, **fields)
    login = (user.username, user.full_name)
    db.session.rollback()
    return login


def shell_texts(page) -> dict[str, str]:
    """The visible texts of the shell that must follow the language."""
    return {
        "title": page.title(),
        "heading": page.inner_text("main h1"),
        "logout": page.inner_text("#logout"),
        "language switch": page.inner_text("#lang-switch"),
        "jobs panel": page.inner_text("#panel-jobs h2"),
    }


def switch_language(page, expected: str) -> None:
    page.click("#lang-switch")
    page.wait_for_load_state()
    expect(page.locator("html")).to_have_attribute("lang", expected)


@pytest.mark.parametrize("role", list(ROLE_PANELS))
def test_each_role_logs_in_to_its_home(
    app, live_server, new_page, log_in, shot, viewport, create_user, role
):
    username, full_name = new_login(create_user, role)
    admin_paths = paths(app, *((e, {}) for e in ADMIN_ENDPOINTS))
    page = new_page(viewport)

    log_in(page, username)

    expect(page).to_have_url(f"{live_server}/")
    expect(page.locator("main h1")).to_contain_text(full_name)
    for panel in sorted(ALL_PANELS):
        if panel in ROLE_PANELS[role]:
            expect(page.locator(f"#{panel}")).to_be_visible()
        else:
            expect(page.locator(f"#{panel}")).to_have_count(0)
    nav_paths = page.eval_on_selector_all(
        ".mainnav a", "links => links.map(a => new URL(a.href).pathname)"
    )
    if viewport == "portrait":  # the menu is a drawer
        page.click("#menu-toggle")
    else:  # the menu is in the top bar
        expect(page.locator("#menu-toggle")).to_be_hidden()
    width = page.viewport_size["width"]
    for box in page.eval_on_selector_all(
        ".mainnav a", "links => links.map(a => a.getBoundingClientRect().toJSON())"
    ):  # every item reachable without scrolling sideways, finger-sized
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
        assert box["height"] >= 44, box
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width
    if role == "admin":
        assert set(admin_paths) <= set(nav_paths)
        for path in admin_paths:
            expect(page.locator(f'.mainnav a[href="{path}"]')).to_be_visible()
    else:
        assert not set(admin_paths) & set(nav_paths), nav_paths
    shot(page, f"home-{role}-{viewport}-th")


def test_thai_by_default_switch_to_english_and_back_remembered(
    app, live_server, new_page, log_in, shot, viewport, create_user
):
    username, _ = new_login(create_user, "technician", full_name="สมชาย ช่างดี")
    page = new_page(viewport)

    page.goto(f"{live_server}/login")
    expect(page.locator("html")).to_have_attribute("lang", "th")
    login_heading = page.inner_text(".login-card h1")
    assert THAI.search(login_heading), f"login heading is not Thai: {login_heading!r}"
    shot(page, f"login-{viewport}-th")

    log_in(page, username)
    expect(page).to_have_url(f"{live_server}/")
    expect(page.locator("html")).to_have_attribute("lang", "th")
    thai = shell_texts(page)
    shot(page, f"home-technician-{viewport}-th")

    switch_language(page, "en")
    expect(page).to_have_url(f"{live_server}/")
    english = shell_texts(page)
    assert english["logout"] == "Log out"
    assert english["language switch"] == "ภาษาไทย"
    assert english["heading"] == "Hello, สมชาย ช่างดี"
    unchanged = {key: text for key, text in thai.items() if english[key] == text}
    assert not unchanged, f"same text in Thai and English: {unchanged}"
    shot(page, f"home-technician-{viewport}-en")

    switch_language(page, "th")
    assert shell_texts(page) == thai

    switch_language(page, "en")
    page.click("#logout")
    page.wait_for_load_state()
    expect(page).to_have_url(f"{live_server}/login")
    expect(page.locator("#logout")).to_have_count(0)
    shot(page, f"login-{viewport}-en")

    # A new tablet session starts in Thai; the account's choice applies once logged in.
    page = new_page(viewport)
    page.goto(f"{live_server}/login")
    expect(page.locator("html")).to_have_attribute("lang", "th")
    log_in(page, username)
    expect(page).to_have_url(f"{live_server}/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert shell_texts(page) == english
    db.session.rollback()
    assert db.session.scalar(db.select(User.locale).where(User.username == username)) == "en"


def test_wrong_password_shows_error_and_stays_on_login(
    app, live_server, new_page, log_in, shot, viewport, create_user
):
    username, _ = new_login(create_user, "technician")
    page = new_page(viewport)
    error = page.locator(".flash-error")

    log_in(page, username, "not-the-password")

    expect(page).to_have_url(f"{live_server}/login")
    expect(error).to_be_visible()
    expect(error).to_have_text(translate(app, "Wrong username or password.", "th"))
    expect(page.locator("input[name=username]")).to_have_value(username)
    expect(page.locator("input[name=password]")).to_have_value("")
    expect(page.locator("#logout")).to_have_count(0)
    shot(page, f"login-wrong-password-{viewport}-th")

    switch_language(page, "en")
    log_in(page, "no-such-user", "not-the-password")
    expect(page).to_have_url(f"{live_server}/login")
    expect(error).to_have_text("Wrong username or password.")
    shot(page, f"login-wrong-password-{viewport}-en")

    page.goto(f"{live_server}/")
    expect(page).to_have_url(re.compile(re.escape(f"{live_server}/login")))


def _admin_tour(app, create_centre, create_user) -> tuple[str, list[str]]:
    """An admin with long Thai names around, and the paths of every admin screen."""
    centre = create_centre(
        code="BKK01",
        name_th="ศูนย์บริการดัดแปลงรถยนต์ไฟฟ้า บางเขน กรุงเทพมหานคร",
        name_en="Bang Khen Electric Vehicle Conversion Service Centre, Bangkok",
        licence_number="ขส.ดป. 001/2569",
        labour_rate=Decimal("650.00"),
    )
    create_user("technician", "supervisor", centre=centre, full_name="ประเสริฐศักดิ์ ควบคุมงานละเอียด")
    user = create_user("admin", full_name="ผู้ดูแลระบบ ศูนย์บริการดัดแปลงรถยนต์ไฟฟ้า")
    username, user_id, centre_id = user.username, user.id, centre.id
    db.session.rollback()
    return username, paths(
        app,
        ("core.home", {}),
        ("accounts.list_centres", {}),
        ("accounts.create_centre", {}),
        ("accounts.edit_centre", {"centre_id": centre_id}),
        ("accounts.list_users", {}),
        ("accounts.create_user", {}),
        ("accounts.edit_user", {"user_id": user_id}),
        ("audit.list_events", {}),
        ("accounts.change_password", {}),
    )


def test_touch_targets_are_finger_sized(
    app, live_server, new_page, log_in, viewport, create_centre, create_user
):
    technician, _ = new_login(create_user, "technician")
    admin, admin_paths = _admin_tour(app, create_centre, create_user)
    offenders = {}

    page = new_page(viewport)
    page.goto(f"{live_server}/login")
    offenders["/login"] = page.evaluate(TOUCH_TARGET_OFFENDERS_JS)
    log_in(page, technician)
    expect(page).to_have_url(f"{live_server}/")
    offenders["/ (technician)"] = page.evaluate(TOUCH_TARGET_OFFENDERS_JS)

    page = new_page(viewport)
    log_in(page, admin)
    expect(page).to_have_url(f"{live_server}/")
    for path in admin_paths:
        page.goto(f"{live_server}{path}")
        offenders[f"{path} (admin)"] = page.evaluate(TOUCH_TARGET_OFFENDERS_JS)

    assert {where: found for where, found in offenders.items() if found} == {}


def test_no_horizontal_scroll(
    app, live_server, new_page, log_in, shot, viewport, create_centre, create_user
):
    technician, _ = new_login(create_user, "technician")
    admin, admin_paths = _admin_tour(app, create_centre, create_user)
    overflowing = {}

    def measure(where):
        size = page.evaluate(HORIZONTAL_OVERFLOW_JS)
        if size["scrollWidth"] > size["innerWidth"]:
            overflowing[where] = size

    page = new_page(viewport)
    page.goto(f"{live_server}/login")
    measure("/login")
    log_in(page, technician)
    measure("/ (technician)")

    page = new_page(viewport)
    log_in(page, admin)
    for path in admin_paths:
        page.goto(f"{live_server}{path}")
        measure(f"{path} (admin)")
        name = path.strip("/").replace("/", "-") or "home"
        shot(page, f"admin-{name}-{viewport}-th")

    assert overflowing == {}


def test_loads_nothing_from_outside_the_server(
    app, live_server, new_page, log_in, viewport, create_centre, create_user
):
    admin, admin_paths = _admin_tour(app, create_centre, create_user)
    page = new_page(viewport)
    requested = []
    page.context.on("request", lambda request: requested.append(request.url))

    page.goto(f"{live_server}/login")
    log_in(page, admin, "wrong-password")
    log_in(page, admin)
    for path in admin_paths:
        page.goto(f"{live_server}{path}")
    switch_language(page, "en")

    assert requested, "no request was seen"
    assert [url for url in requested if not url.startswith(f"{live_server}/")] == []


def test_sarabun_font_is_served_and_used(app, live_server, new_page, log_in, create_user):
    username, _ = new_login(create_user, "technician", full_name="สมชาย ช่างดี")
    page = new_page("portrait")
    fonts = {}

    def record_font(response):
        if "/fonts/" in response.url:
            path = response.url.removeprefix(live_server)
            fonts[path] = (response.status, response.headers.get("content-type"))

    page.on("response", record_font)

    log_in(page, username)
    expect(page).to_have_url(f"{live_server}/")
    state = page.evaluate(FONT_STATE_JS)

    assert fonts.get("/fonts/Sarabun-Regular.woff2?v=1") == (200, "font/woff2"), fonts
    assert state["check"] is True
    assert "400" in state["loaded"], state
    assert state["bodyFamily"].startswith(("Sarabun", '"Sarabun"')), state
    # The Thai name in the heading is drawn with Sarabun, not a fallback system font.
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    heading = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "main h1"})["nodeId"]
    used = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": heading})["fonts"]
    assert {font["familyName"] for font in used} == {"Sarabun"}, used
