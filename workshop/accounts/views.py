"""Login, password change and the admin screens for centres and users."""

from flask import (
    Blueprint,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from workshop.accounts import services, sessions
from workshop.accounts.access import public, requires
from workshop.accounts.forms import CentreForm, GrantForm, LoginForm, PasswordChangeForm, UserForm
from workshop.accounts.models import Centre, Role, User
from workshop.extensions import db
from workshop.formtools import choices
from workshop.provinces import province_choices
from workshop.transactions import transaction
from workshop.web import (
    SESSION_TOKEN,
    begin_login_session,
    current_locale,
    end_login_session,
    redirect_back,
)

bp = Blueprint("accounts", __name__)


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """Log in with username and password; repeated failures slow further attempts down."""
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm()
    if form.validate_on_submit():
        ip = request.remote_addr or ""
        result = services.authenticate(form.username.data, form.password.data, ip=ip)
        if result.user is not None:
            token = sessions.start_session(
                result.user, ip=ip, user_agent=request.headers.get("User-Agent", "")
            )
            db.session.commit()
            begin_login_session(token)
            login_user(result.user)
            return redirect_back("core.home")
        db.session.commit()
        if result.retry_after:
            flash(
                _(
                    "Too many failed attempts. Wait %(seconds)d seconds, then try again.",
                    seconds=result.retry_after,
                ),
                "error",
            )
            response = make_response(render_template("accounts/login.html", form=form), 429)
            response.headers["Retry-After"] = str(result.retry_after)
            return response
        flash(_("Wrong username or password."), "error")
    return render_template("accounts/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@requires()
def logout():
    """Log out (POST only, so a link or an image cannot log a technician out).

    The session ends on the server too, so a copy of the cookie opens nothing afterwards.
    """
    from workshop.audit.services import record_event

    with transaction():
        record_event("logout", current_user._get_current_object())
        sessions.end_session(session.get(SESSION_TOKEN), current_user.id, "logout")
    logout_user()
    end_login_session()
    flash(_("You have logged out."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@requires()
def change_password():
    """The logged-in user changes their own password; their other sessions end."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        with transaction(
            _("Your password has been changed."),
            explain=lambda exc: _("Password not changed: %(reason)s", reason=exc.message),
        ) as done:
            services.change_password(
                current_user,
                form.current_password.data,
                form.new_password.data,
                keep_session=session.get(SESSION_TOKEN),
            )
        if done:
            return redirect(url_for("core.home"))
    return render_template("accounts/password.html", form=form)


@bp.route("/admin/centres")
@requires(Role.ADMIN)
def list_centres():
    """All service centres."""
    return render_template("accounts/centres.html", centres=services.list_centres())


def _centre_form(centre: Centre | None) -> CentreForm:
    form = CentreForm(obj=centre)
    form.province.choices = choices(province_choices(current_locale()))
    if centre is not None:
        form.code.render_kw = {"readonly": True}
    return form


def _centre_fields(form) -> dict:
    """What the centre form gives for a new or edited centre (not the code, not active)."""
    return {
        "name_th": form.name_th.data,
        "name_en": form.name_en.data,
        "province": form.province.data,
        "address": form.address.data or "",
        "licence_number": form.licence_number.data or "",
        "labour_rate": form.labour_rate.data,
    }


@bp.route("/admin/centres/new", methods=["GET", "POST"])
@requires(Role.ADMIN)
def create_centre():
    """Register a service centre."""
    form = _centre_form(None)
    if form.validate_on_submit():
        with transaction() as done:
            centre = services.create_centre(code=form.code.data, **_centre_fields(form))
            done.success = _("Centre %(code)s created.", code=centre.code)
        if done:
            return redirect(url_for("accounts.list_centres"))
    return render_template("accounts/centre_form.html", form=form, centre=None)


@bp.route("/admin/centres/<int:centre_id>/edit", methods=["GET", "POST"])
@requires(Role.ADMIN)
def edit_centre(centre_id: int):
    """Change a centre's details (its code stays: numbers and certificates carry it)."""
    centre = db.get_or_404(Centre, centre_id)
    form = _centre_form(centre)
    if form.validate_on_submit():
        with transaction(_("Centre %(code)s saved.", code=centre.code)) as done:
            services.update_centre(centre, active=form.active.data, **_centre_fields(form))
        if done:
            return redirect(url_for("accounts.list_centres"))
    return render_template("accounts/centre_form.html", form=form, centre=centre)


@bp.route("/admin/users")
@requires(Role.ADMIN)
def list_users():
    """All user accounts."""
    return render_template("accounts/users.html", users=services.list_users())


def _user_form(user: User | None) -> UserForm:
    form = UserForm(obj=user)
    centres = services.list_centres()
    locale = current_locale()
    labelled = [(c.id, f"{c.code} · {c.name(locale)}") for c in centres]
    form.centre_id.choices = choices([(0, _("— none —")), *labelled])
    form.extra_centre_ids.choices = choices(labelled)
    if user is not None:
        form.username.render_kw = {"readonly": True}
        if request.method == "GET":
            form.roles.data = sorted(r.value for r in user.roles)
            form.centre_id.data = user.centre_id or 0
            form.extra_centre_ids.data = [c.id for c in user.extra_centres]
    return form


def _user_fields(form: UserForm) -> dict:
    centre = db.session.get(Centre, form.centre_id.data) if form.centre_id.data else None
    extra = [db.session.get(Centre, cid) for cid in form.extra_centre_ids.data or []]
    return {
        "full_name": form.full_name.data,
        "email": form.email.data or "",
        "roles": [Role(r) for r in form.roles.data],
        "centre": centre,
        "all_centres": form.all_centres.data,
        "extra_centres": [c for c in extra if c is not None],
    }


@bp.route("/admin/users/new", methods=["GET", "POST"])
@requires(Role.ADMIN)
def create_user():
    """Create an account."""
    form = _user_form(None)
    if form.validate_on_submit():
        if not form.password.data:
            form.password.errors.append(_("A new account needs a password."))
        else:
            with transaction() as done:
                user = services.create_user(
                    username=form.username.data, password=form.password.data, **_user_fields(form)
                )
                done.success = _("User %(username)s created.", username=user.username)
            if done:
                return redirect(url_for("accounts.list_users"))
    return render_template("accounts/user_form.html", form=form, user=None)


@bp.route("/admin/users/<int:user_id>/edit", methods=["GET", "POST"])
@requires(Role.ADMIN)
def edit_user(user_id: int):
    """Change an account's details, roles and centres, or reset its password."""
    user = db.get_or_404(User, user_id)
    form = _user_form(user)
    if form.validate_on_submit():
        with transaction(_("User %(username)s saved.", username=user.username)) as done:
            services.update_user(
                user,
                active=form.active.data,
                actor=current_user,
                **_user_fields(form),
            )
            if form.password.data:
                services.set_password(
                    user, form.password.data, by_admin=True, keep_session=_own_token(user)
                )
        if done:
            return redirect(url_for("accounts.list_users"))
    return render_template(
        "accounts/user_form.html", form=form, user=user, sessions=sessions.open_sessions(user)
    )


def _own_token(user: User) -> str | None:
    # An admin resetting their own password keeps the session they are using.
    return session.get(SESSION_TOKEN) if user.id == current_user.id else None


@bp.route("/admin/users/<int:user_id>/sessions/end", methods=["POST"])
@requires(Role.ADMIN)
def end_user_sessions(user_id: int):
    """End every session of a user (a lost tablet, a leaver), except the admin's own."""
    user = db.get_or_404(User, user_id)
    with transaction() as done:
        count = sessions.end_user_sessions(user, "admin", keep_token=_own_token(user))
        done.success = _(
            "%(count)d session(s) of %(username)s ended.", count=count, username=user.username
        )
    return redirect(url_for("accounts.edit_user", user_id=user.id))


@bp.route("/admin/users/<int:user_id>/qualifications", methods=["GET", "POST"])
@requires(Role.ADMIN)
def user_qualifications(user_id: int):
    """See a user's qualifications with their expiry, grant a new one."""
    from workshop.accounts.qualifications import qualification_types

    user = db.get_or_404(User, user_id)
    types = qualification_types()
    locale = current_locale()
    form = GrantForm()
    form.code.choices = choices((code, t.name(locale)) for code, t in types.items())
    if form.validate_on_submit():
        with transaction(_("Qualification granted.")) as done:
            services.grant_qualification(
                user, form.code.data, granted_by=current_user, note=form.note.data or ""
            )
        if done:
            return redirect(url_for("accounts.user_qualifications", user_id=user.id))
    return render_template(
        "accounts/qualifications.html",
        user=user,
        form=form,
        types=types,
        valid=services.valid_qualifications(user),
    )


@bp.route("/admin/qualifications/<int:grant_id>/revoke", methods=["POST"])
@requires(Role.ADMIN)
def revoke_qualification(grant_id: int):
    """End a qualification grant now; the record stays."""
    from workshop.accounts.models import QualificationGrant

    grant = db.get_or_404(QualificationGrant, grant_id)
    with transaction(_("Qualification revoked.")):
        services.revoke_qualification(grant, reason=request.form.get("reason", ""))
    return redirect(url_for("accounts.user_qualifications", user_id=grant.user_id))
