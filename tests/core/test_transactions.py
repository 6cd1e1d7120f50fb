"""The one transaction pattern of POST views (workshop/transactions.py), over real HTTP and a real
database: a refusal rolls back and is shown, success commits and is shown, anything else rolls back
and reaches the error page; and no view hand-writes the pattern again."""

import ast
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import get_flashed_messages

from workshop.accounts.models import Centre
from workshop.errors import DomainError
from workshop.extensions import db
from workshop.transactions import transaction

ROOT = Path(__file__).resolve().parents[2] / "workshop"


def _centre(code: str) -> Centre:
    return Centre(code=code, name_th=code, name_en=code, province="BKK")


def _codes() -> set[str]:
    return set(db.session.scalars(sa.select(Centre.code)))


def test_success_commits_and_flashes(app):
    with app.test_request_context("/", method="POST"):
        with transaction("saved") as done:
            db.session.add(_centre("TXOK"))
        assert done and done.error is None
        db.session.rollback()  # nothing pending: the commit already happened
        assert "TXOK" in _codes()
        assert get_flashed_messages(with_categories=True) == [("success", "saved")]


def test_a_refusal_rolls_back_and_shows_its_message(app):
    with app.test_request_context("/", method="POST"):
        with transaction("saved") as done:
            db.session.add(_centre("TXNO"))
            db.session.flush()
            raise DomainError("refused here")
        assert not done and isinstance(done.error, DomainError)
        assert "TXNO" not in _codes()
        assert get_flashed_messages(with_categories=True) == [("error", "refused here")]


def test_the_block_may_set_the_success_message_and_explain_a_refusal(app):
    with app.test_request_context("/", method="POST"):
        with transaction() as done:
            done.success = "chosen inside"
        with transaction(explain=lambda exc: f"wrapped: {exc.message}"):
            raise DomainError("why")
        with transaction(quiet=True) as quiet:
            raise DomainError("kept for a JSON answer")
        assert quiet.error.message == "kept for a JSON answer"
        assert get_flashed_messages(with_categories=True) == [
            ("success", "chosen inside"),
            ("error", "wrapped: why"),
        ]


def test_anything_else_rolls_back_and_propagates(app):
    with app.test_request_context("/", method="POST"):
        with pytest.raises(KeyError), transaction("saved"):
            db.session.add(_centre("TXBUG"))
            db.session.flush()
            raise KeyError("a bug")
        assert "TXBUG" not in _codes()
        assert get_flashed_messages() == []


def test_a_refused_post_over_http_changes_nothing(app, client, auth, create_user):
    admin = create_user("admin")
    auth.login(admin.username)
    form = {
        "code": "BKK9",
        "name_th": "ศูนย์",
        "name_en": "Centre",
        "province": "BKK",
        "labour_rate": "500",
    }
    assert client.post("/admin/centres/new", data=form).status_code == 302
    form["name_en"] = "Another centre with the same code"
    again = client.post("/admin/centres/new", data=form)
    assert again.status_code == 200  # the form again, with the refusal flashed
    with app.app_context():
        names = db.session.scalars(sa.select(Centre.name_en).where(Centre.code == "BKK9"))
        assert list(names) == ["Centre"]


def _handwritten(path: Path) -> list[str]:
    """``db.session.rollback()`` calls in a view module: the pattern written by hand again."""
    found = []
    for function in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(function, ast.FunctionDef):
            continue
        for node in ast.walk(function):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "rollback"
            ):
                found.append(f"{path.relative_to(ROOT.parent)}:{function.name}")
    return found


def test_no_view_rolls_back_by_hand():
    """Views use ``transaction``; only the health check's own probe may roll back."""
    views = sorted(ROOT.glob("*/*views.py"))
    assert views
    found = [place for path in views for place in _handwritten(path)]
    assert found == ["workshop/core/views.py:healthz"]
