"""The training blueprint and the roles its screens name; the screens live in views.py (catalogue,
sessions), drill_views.py (drills) and qualification_views.py (certificates, oversight)."""

from flask import Blueprint

from workshop.accounts.models import Role

bp = Blueprint("training", __name__, url_prefix="/training")

T, S, TR, A = Role.TECHNICIAN, Role.SUPERVISOR, Role.TRAINER, Role.ADMIN
TRAINEES = (T, S)
