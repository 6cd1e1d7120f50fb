"""Web glue shared by every blueprint: language, current user, audit actor, filters, errors."""

import contextlib
import hashlib
import os
import re
from datetime import timedelta
from urllib.parse import unquote, urlencode, urlsplit

import sqlalchemy as sa
from flask import (
    current_app,
    flash,
    g,
    has_request_context,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import force_locale, get_locale, get_translations
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError, generate_csrf
from jinja2 import pass_eval_context
from markupsafe import Markup, escape
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from workshop import i18n
from workshop.accounts.access import access_of, user_may
from workshop.audit.services import Actor, set_actor
from workshop.extensions import db, login_manager, talisman
from workshop.instrument_kinds import kind_name
from workshop.manuals.schema import unit_symbol
from workshop.national_id import format_national_id

# (endpoint, label); a user sees the entries whose views they may open.
NAV = [
    ("core.home", _l("Home")),
    ("jobs.list_jobs", _l("Jobs")),
    ("kits.stock_levels", _l("Stock")),
    ("kits.search_serial", _l("Serials")),
    ("kits.catalogue", _l("Kits")),
    ("kits.cost_report", _l("Costs")),
    ("instruments.instrument_register", _l("Instruments")),
    ("inspection.queue", _l("Inspection")),
    ("eol.check_trace", _l("Trace checker")),
    ("certificates.list_certificates", _l("Certificates")),
    ("training.index", _l("Training")),
    ("training.oversight", _l("Qualifications")),
    ("accounts.list_centres", _l("Centres")),
    ("accounts.list_users", _l("Users")),
    ("inspection.licences", _l("Engineer licences")),
    ("audit.list_events", _l("Audit log")),
]


def select_locale() -> str:
    """The user's saved language, else the session's choice, else Thai.

    Outside a request (CLI, bench agent) messages are in English, the language of the logs.
    """
    if not has_request_context():
        return "en"
    if current_user and current_user.is_authenticated and current_user.locale in ("th", "en"):
        return current_user.locale
    lang = session.get("lang")
    return lang if lang in ("th", "en") else "th"


def _babel_state():
    """Flask-Babel's per-request namespace (locale, translations), or None before its first use.

    Read through one lookup of ``g`` instead of the three each Flask-Babel helper makes: pages
    ask for the language and translations dozens of times (once per row of a list).
    """
    try:
        return g._get_current_object().__dict__.get("_flask_babel")
    except RuntimeError:  # no application context
        return None


def current_locale() -> str:
    """The language of the current request as 'th' or 'en'."""
    state = _babel_state()
    # Flask-Babel keeps the request's locale (or the one force_locale set) here once chosen.
    locale = getattr(state, "babel_locale", None) if state is not None else None
    if locale is None:
        locale = get_locale()
        if locale is None:
            return "th"
    # str(Locale) rebuilds the identifier every time; ours are plain languages.
    if locale.territory is None and locale.script is None and locale.variant is None:
        return locale.language
    return str(locale)


def _translations():
    """The current request's translations, as Flask-Babel's get_translations() returns them,
    remembered for the locale object and domain they were found for (force_locale and a
    domain switch change those objects, so they are looked up again then)."""
    state = _babel_state()
    if state is not None:
        locale = getattr(state, "babel_locale", None)
        domain = getattr(state, "babel_domain", None)
        cached = getattr(state, "workshop_translations", None)
        if (
            cached is not None
            and locale is not None
            and cached[0] is locale
            and cached[1] is domain
        ):
            return cached[2]
    translations = get_translations()
    state = _babel_state()
    if state is not None:
        state.workshop_translations = (
            getattr(state, "babel_locale", None),
            getattr(state, "babel_domain", None),
            translations,
        )
    return translations


def _install_gettext(app) -> None:
    """Jinja's _(), ngettext(), pgettext() through ``_translations`` (Flask-Babel's own callables
    look the locale and translations up again on every call)."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
    )

    # The templates' _() as one call: Jinja's own goes through three (an alias that looks up
    # "gettext", its wrapper, then the function above), about 30 times a page. Same result:
    # the translation, marked safe where the template autoescapes, formatted with the values.
    @pass_eval_context
    def template_gettext(eval_ctx, string: str, **variables):
        rv = _translations().ugettext(string)
        if eval_ctx.autoescape:
            rv = Markup(rv)
        return rv % variables  # always a format string, as Jinja's newstyle gettext

    app.jinja_env.globals["_"] = template_gettext


# The session cookie's key holding the server-side session token (accounts/sessions.py).
SESSION_TOKEN = "sid"
# What survives a login or logout in the cookie session: only the language choice.
_KEPT_ACROSS_LOGIN = ("lang",)


def _fresh_session() -> None:
    kept = {k: session[k] for k in _KEPT_ACROSS_LOGIN if k in session}
    session.clear()  # drops the old CSRF token too: a token seen before login is useless after
    session.update(kept)


def begin_login_session(token: str) -> None:
    """Start a clean cookie session for a login: new CSRF token, the server session's token."""
    _fresh_session()
    session[SESSION_TOKEN] = token


def end_login_session() -> None:
    """Forget everything of the logged-in session in the cookie (after logout)."""
    _fresh_session()


@login_manager.user_loader
def _load_user(user_id: str):
    from workshop.accounts import sessions

    # Events recorded while checking the session (an idle timeout) come from this address.
    set_actor(Actor(None, "", request.remote_addr or ""))
    try:
        user_id = int(user_id)
    except (TypeError, ValueError):
        return None
    # One statement for the user, their session and what every page asks of them (roles,
    # qualifications, home and extra centres) instead of one per relationship.
    user, record = sessions.load_user_with_session(user_id, session.get(SESSION_TOKEN))
    if user is None or not user.active:
        return None
    idle = timedelta(minutes=float(current_app.config["SESSION_IDLE_MINUTES"]))
    record, reason = sessions.check_open_session(record, idle)
    if db.session.dirty or db.session.new:
        db.session.commit()
    if record is None:
        _fresh_session()
        if reason == "idle":
            flash(_l("Your session ended after a long time without use. Please log in again."))
        return None
    return user


def _set_audit_actor():
    set_actor(Actor(None, "", request.remote_addr or ""))
    if current_user.is_authenticated:
        set_actor(Actor(current_user.id, current_user.username, request.remote_addr or ""))


def _private_cache(response):
    """Nothing behind a login may be kept by a shared cache (a proxy, another tablet user).

    Pages and files of views that need a login (photos, traces, PDFs, exports) are marked
    ``private``; those that set no lifetime of their own (only photos do: their content never
    changes) are also ``no-store``.
    """
    access = access_of(request.endpoint) if request.endpoint else None
    if access is not None and access.public:
        return response
    cache = response.cache_control
    cache.public = False
    cache.private = True
    if not cache.max_age:
        cache.no_store = True
    return response


def nav_items():
    """Navigation entries the current user may open.

    Who may open a view depends only on being logged in and the roles held: the list is worked
    out once per set of roles and language (per app), its labels translated then (as the lazy
    strings render them: unescaped), and shared by every page that shows the menu.
    """
    user = current_user._get_current_object()
    key = (frozenset(user.roles) if user.is_authenticated else None, current_locale())
    known = current_app.extensions.setdefault("workshop.nav_items", {})
    if key not in known:
        known[key] = [
            (endpoint, Markup(str(label)))
            for endpoint, label in NAV
            if (access := access_of(endpoint)) is not None and user_may(user, access)
        ]
    return known[key]


def nav_links() -> Markup:
    """The menu's links (``nav_items``), the current page's entry marked active, as one string:
    built once per set of roles, language and active entry, not looped over by the template on
    every page (a page's menu is the same few bytes for everyone with the same roles)."""
    items = nav_items()
    endpoint, path = request.endpoint, request.path
    active = frozenset(
        e for e, _ in items if e == endpoint or ((t := fixed_url(e)) != "/" and path.startswith(t))
    )
    key = (id(items), active)  # nav_items' lists live as long as the app: their id is theirs
    known = current_app.extensions.setdefault("workshop.nav_links", {})
    html = known.get(key)
    if html is None:
        html = known[key] = Markup("\n").join(
            Markup('<a href="{}" class="{}">{}</a>').format(
                fixed_url(e), "active" if e in active else "", label
            )
            for e, label in items
        )
    return html


# Stand-ins for what differs on every page, put into a kept top bar (escaped content can never
# contain them: a user's "<" is "&lt;" by then).
_TOPBAR_CSRF, _TOPBAR_LANGUAGE = Markup("<csrf-token>"), Markup("<language-switch>")


def topbar() -> Markup:
    """The top bar of every page (``templates/_topbar.html``): rendered once per language, user
    name and menu and kept; the CSRF token and the language switch's address (it returns to this
    page) are put in on each page. Every page has one, and it cost as much as a step's content."""
    user = current_user._get_current_object()
    name = user.full_name if user.is_authenticated else None
    nav = nav_links() if name is not None else None
    locale = current_locale()
    key = (locale, name, nav)
    known = current_app.extensions.setdefault("workshop.topbars", {})
    html = known.get(key)
    if html is None:
        if len(known) >= 4096:  # one per user and page kind at most: bounded all the same
            known.clear()
        html = known[key] = render_template(
            "_topbar.html",
            loc=locale,
            user_name=name,
            nav=nav,
            csrf=_TOPBAR_CSRF,
            lang_url=_TOPBAR_LANGUAGE,
        )
    switch = fixed_url("core.set_language", lang="en" if locale == "th" else "th")
    switch += "?" + urlencode({"next": request.full_path})
    return Markup(
        html.replace(_TOPBAR_CSRF, generate_csrf()).replace(_TOPBAR_LANGUAGE, escape(switch))
    )


def fixed_url(endpoint: str, **values) -> str:
    """``url_for`` for a URL that is the same on every request (no values from the request; the
    proxy passes no path prefix): built once per app, not on every page (the menu, the style
    sheet and the script are on every page, and building a URL is ~50 function calls)."""
    known = current_app.extensions.setdefault("workshop.fixed_urls", {})
    key = (endpoint, *sorted(values.items()))
    url = known.get(key)
    if url is None:
        url = known[key] = url_for(endpoint, **values)
    return url


def _error_page(code: int, title, message):
    return render_template("errors/error.html", code=code, title=title, message=message), code


# No inline script or style anywhere: scripts and styles are files under /static. Images may be
# data: URIs (QR codes). Nobody may frame a page (clickjacking), not even this site.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": ["'self'", "data:"],
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def _init_security_headers(app) -> None:
    """CSP, X-Frame-Options, nosniff, Referrer-Policy, and HSTS when cookies are HTTPS-only."""
    secure = bool(app.config["SESSION_COOKIE_SECURE"])
    talisman.init_app(
        app,
        # TLS is the reverse proxy's job; many workshops serve plain HTTP on their LAN.
        force_https=False,
        strict_transport_security=secure,
        strict_transport_security_max_age=365 * 24 * 3600,
        strict_transport_security_include_subdomains=False,
        session_cookie_secure=secure,
        session_cookie_http_only=True,
        frame_options="DENY",
        content_security_policy=CONTENT_SECURITY_POLICY,
        referrer_policy="same-origin",
        permissions_policy={"geolocation": "()", "microphone": "()", "browsing-topics": "()"},
    )


def _database_unavailable(error):
    """A database that is down, restarting or locked: 503 "try again", never a generic 500.

    Nothing may touch the database here (the page shows no user data); the language comes
    from the cookie session.
    """
    with contextlib.suppress(sa.exc.SQLAlchemyError):
        db.session.rollback()
    # Rendering must not load the user again (Flask-Login's context processor would).
    g._login_user = login_manager.anonymous_user()
    current_app.logger.warning("database unavailable: %s", error.__class__.__name__)
    lang = session.get("lang") if session.get("lang") in ("th", "en") else "th"
    with force_locale(lang):
        body = render_template("errors/unavailable.html", lang=lang)
    retry = str(current_app.config["DATABASE_RETRY_AFTER_SECONDS"])
    return body, 503, {"Retry-After": retry, "Cache-Control": "no-store"}


_static_fingerprints: dict[tuple[str, float], str] = {}


def _static_fingerprint(folder: str, filename: str) -> str | None:
    path = os.path.join(folder, filename)
    try:
        mtime = os.path.getmtime(path)
    except OSError:
        return None
    key = (path, mtime)
    if key not in _static_fingerprints:
        with open(path, "rb") as fh:
            _static_fingerprints[key] = hashlib.sha256(fh.read()).hexdigest()[:12]
    return _static_fingerprints[key]


def _init_static_caching(app) -> None:
    """Static URLs carry their content's fingerprint (``?v=``), so browsers keep them a year."""

    @app.url_defaults
    def _versioned_static(endpoint, values):
        if endpoint == "static" and "filename" in values and "v" not in values:
            version = _static_fingerprint(app.static_folder, values["filename"])
            if version:
                values["v"] = version

    @app.after_request
    def _immutable_static(response):
        if request.endpoint == "static" and request.args.get("v") and response.status_code == 200:
            response.cache_control.public = True
            response.cache_control.max_age = 31536000
            response.cache_control.immutable = True
            response.cache_control.no_cache = None
        return response


def init_web(app) -> None:
    """Register the request hooks, Jinja filters, context and error pages on ``app``."""
    _init_security_headers(app)
    _init_static_caching(app)
    for error in (
        sa.exc.OperationalError,
        sa.exc.InterfaceError,
        sa.exc.TimeoutError,
        sa.exc.PendingRollbackError,
    ):
        app.register_error_handler(error, _database_unavailable)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please log in to continue.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    app.before_request(_set_audit_actor)
    app.after_request(_private_cache)

    _install_gettext(app)
    app.jinja_env.filters["be_date"] = lambda v: i18n.format_be_date(v, current_locale())
    app.jinja_env.filters["ce_date"] = lambda v: i18n.format_ce_date(v, current_locale())
    app.jinja_env.filters["local_dt"] = lambda v: i18n.format_local_datetime(v, current_locale())
    app.jinja_env.filters["thb"] = i18n.format_thb
    app.jinja_env.filters["unit"] = unit_symbol
    app.jinja_env.filters["national_id"] = format_national_id
    app.jinja_env.globals["instrument_kind"] = lambda kind: kind_name(kind, current_locale())
    app.jinja_env.globals["fixed_url"] = fixed_url

    @app.context_processor
    def _context():
        from workshop.accounts.forms import ROLE_LABELS
        from workshop.accounts.qualifications import qualification_name
        from workshop.columns import utcnow
        from workshop.provinces import province_name

        return {
            "nav_items": nav_items,
            "topbar": topbar,
            "current_locale": current_locale,
            "province_name": province_name,
            "qualification_name": qualification_name,
            "role_label": lambda role: ROLE_LABELS.get(role, role),
            "now": utcnow,
        }

    @app.errorhandler(CSRFError)
    def _csrf_error(error):
        return _error_page(
            400,
            _l("The form expired"),
            _l(
                "The form was missing its security token or it had expired. "
                "Nothing was saved: reload the page and try again."
            ),
        )

    @app.errorhandler(403)
    def _forbidden(error):
        return _error_page(
            403,
            _l("Not allowed"),
            _l(
                "Your account does not have access to this page or this centre's records. "
                "Ask your centre manager or an administrator if you need it."
            ),
        )

    @app.errorhandler(404)
    def _not_found(error):
        return _error_page(404, _l("Not found"), _l("There is no such page or record."))

    @app.errorhandler(413)
    def _too_large(error):
        limit = app.config.get("MAX_CONTENT_LENGTH") or 0
        return _error_page(
            413,
            _l("Too large"),
            _l(
                "What you sent is larger than the %(limit)s the app accepts at once. "
                "Nothing was saved.",
                limit=f"{limit / 1048576:g} MB" if limit >= 1048576 else f"{limit // 1024} KB",
            ),
        )

    @app.errorhandler(400)
    def _bad_request(error):
        return _error_page(
            400, _l("Bad request"), _l("The request could not be read. Nothing was saved.")
        )

    @app.errorhandler(HTTPException)
    def _other_http(error):
        return _error_page(error.code or 500, error.name, error.description)

    @app.errorhandler(500)
    def _server_error(error):
        db.session.rollback()
        return _error_page(
            500,
            _l("Something went wrong"),
            _l("The app hit an error. Nothing was saved. The error has been logged."),
        )


def flash_errors(form) -> None:
    """Flash every validation error of a WTForms form (used where the form is not re-rendered)."""
    for field, errors in form.errors.items():
        label = getattr(getattr(form, field, None), "label", None)
        for error in errors:
            flash(f"{label.text if label else field}: {error}", "error")


# Characters a browser drops or reinterprets in a Location header (tab, line breaks, other
# controls, space, backslash): "/\t/evil.example" becomes "//evil.example" in Chromium.
_UNSAFE_IN_NEXT = re.compile(r"[\x00-\x20\x7f\\]")


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path of this app, else None.

    Accepted: an absolute path (optionally with a query) that this app routes, with no scheme,
    no host, no protocol-relative ``//`` or ``/\\`` start and no control characters, checked in
    its raw form and after percent-decoding (``%09``, ``%2F%2F``...), so that no browser can read
    it as another site.
    """
    if not target or len(target) > 2000:
        return None
    decoded = target
    for _ in range(3):  # double and triple encoding decode to the same checks
        if _UNSAFE_IN_NEXT.search(decoded) or decoded.startswith("//"):
            return None
        decoded = unquote(decoded)
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    try:
        current_app.url_map.bind("localhost").match(parts.path, method="GET")
    except RequestRedirect:
        pass  # e.g. a missing trailing slash: still a page of this app
    except HTTPException:
        return None
    return target


def redirect_back(default_endpoint: str = "core.home"):
    """Redirect to ``next`` when it is a page of this app (``safe_next``), else to the default."""
    target = safe_next(request.args.get("next") or request.form.get("next"))
    return redirect(target or url_for(default_endpoint))
