"""Authorisation in one place.

Every view declares who may call it with ``@requires(Role...)`` (or ``@public``); the
``before_request`` guard installed by ``init_access`` enforces it, so a view that forgot to
declare anything is refused rather than left open. Data is limited to the user's centres with
``centre_scope()``: ``scope.filter(stmt, Model.centre_id)`` for lists and ``get_in_scope_or_404``
for single records.
"""

from dataclasses import dataclass
from functools import cache, wraps

import sqlalchemy as sa
from flask import abort, current_app, request
from flask_login import current_user

from workshop.accounts.models import Role
from workshop.extensions import db, login_manager


@dataclass(frozen=True)
class Access:
    """Who may call a view: anyone (public), any logged-in user (no roles) or these roles."""

    roles: frozenset[Role]
    public: bool = False


def _mark(view, access: Access):
    view.access = access
    return view


def requires(*roles: Role):
    """Declare that a view needs a logged-in user holding one of ``roles`` (any user if none)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            return view(*args, **kwargs)

        return _mark(wrapped, Access(frozenset(Role(r) for r in roles)))

    return decorator


def public(view):
    """Declare that a view needs no login (login page, health check, public verification)."""
    return _mark(view, Access(frozenset(), public=True))


def access_of(endpoint: str) -> Access | None:
    """The access rule declared on ``endpoint``'s view, or None when it declares none."""
    if endpoint == "static":
        return Access(frozenset(), public=True)
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "access", None)


def user_may(user, access: Access) -> bool:
    """True when ``user`` passes ``access`` (used by the guard and by navigation)."""
    if access.public:
        return True
    if not user.is_authenticated:
        return False
    return not access.roles or user.has_role(*access.roles)


def _guard():
    if request.endpoint is None:  # 404/405: let Flask answer
        return None
    access = access_of(request.endpoint)
    if access is None:
        current_app.logger.error("view %s declares no access rule: refused", request.endpoint)
        abort(403)
    if access.public:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if access.roles and not current_user.has_role(*access.roles):
        abort(403)
    return None


def init_access(app):
    """Install the access guard on ``app``."""
    app.before_request(_guard)


class CentreScope:
    """The centres whose data the current user may see (None = all)."""

    def __init__(self, user):
        if not user.is_authenticated:
            self.centre_ids: frozenset[int] | None = frozenset()
        elif user.all_centres:
            self.centre_ids = None
        else:
            ids = {c.id for c in user.extra_centres}
            if user.centre_id is not None:
                ids.add(user.centre_id)
            self.centre_ids = frozenset(ids)

    @property
    def everything(self) -> bool:
        """True when the user sees every centre."""
        return self.centre_ids is None

    def allows(self, centre_id: int | None) -> bool:
        """True when a record of ``centre_id`` is visible."""
        return self.centre_ids is None or centre_id in self.centre_ids

    def filter(self, stmt, column):
        """Restrict a select statement to the visible centres through ``column``."""
        if self.centre_ids is None:
            return stmt
        return stmt.where(column.in_(self.centre_ids))

    def require(self, centre_id: int | None) -> None:
        """Abort with 403 when a record of ``centre_id`` is not visible."""
        if not self.allows(centre_id):
            abort(403)


def centre_scope() -> CentreScope:
    """The current user's centre scope."""
    return CentreScope(current_user)


@cache
def _by_id_statement(model):
    """``SELECT model WHERE id = :ident``, built once per model: ``session.get`` builds and keys
    its statement again on every call, which costs more than running it."""
    return sa.select(model).where(model.id == sa.bindparam("ident"))


def get_in_scope_or_404(
    model, ident, centre_attr: str = "centre_id", *, options=(), statement=None
):
    """Load ``model`` by primary key (with loader ``options``, or with ``statement``: a select of
    the model by ``:ident`` built once by the caller); 404 when missing, 403 when outside the
    user's centres."""
    if options:
        obj = db.get_or_404(model, ident, options=list(options))
    else:
        statement = _by_id_statement(model) if statement is None else statement
        obj = db.session.execute(statement, {"ident": ident}).scalar_one_or_none()
        if obj is None:
            abort(404)
    centre_scope().require(getattr(obj, centre_attr))
    return obj
