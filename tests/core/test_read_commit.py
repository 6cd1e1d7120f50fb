"""How a request's transaction ends (workshop/transactions.py, end_reads_with_commit): a request
that only read ends with COMMIT (psycopg keeps its prepared statements), anything that may have
written and was not committed by the view is rolled back exactly as before, whatever the way it
wrote (ORM flush, a Core or text statement, an error after a write)."""

import pytest
import sqlalchemy as sa

from workshop.accounts.access import public
from workshop.accounts.models import Centre
from workshop.extensions import db


@pytest.fixture
def traced(app_factory):
    app = app_factory()
    ends = []

    def read():
        db.session.scalars(sa.select(Centre.code)).all()
        return "read"

    def flushed():
        db.session.add(Centre(code="RCFL", name_th="x", name_en="x", province="BKK"))
        db.session.flush()
        return "flushed, not committed"

    def text_insert():
        db.session.execute(
            sa.text(
                "INSERT INTO centres (code, name_th, name_en, province, address, licence_number,"
                " labour_rate, active, created_at) VALUES ('RCTX', 'x', 'x', 'BKK', '', '', 0,"
                " true, CURRENT_TIMESTAMP)"
            )
        )
        return "written by text, not committed"

    def fails():
        db.session.add(Centre(code="RCER", name_th="x", name_en="x", province="BKK"))
        db.session.flush()
        raise RuntimeError("after a write")

    for view in (read, flushed, text_insert, fails):
        app.add_url_rule(f"/_test/{view.__name__}", view.__name__, public(view))
    with app.app_context():  # popped before the requests: each runs in its own, as in production
        sa.event.listen(db.engine, "commit", lambda conn: ends.append("commit"))
        sa.event.listen(db.engine, "rollback", lambda conn: ends.append("rollback"))
    return app, ends


def _codes(app) -> set[str]:
    with app.app_context():
        codes = set(db.session.scalars(sa.select(Centre.code)))
        db.session.remove()
    return codes


def test_a_read_ends_with_commit(traced):
    app, ends = traced
    with app.test_client().get("/_test/read") as r:
        assert r.status_code == 200
    assert ends == ["commit"]


@pytest.mark.parametrize("view", ["flushed", "text_insert"])
def test_an_uncommitted_write_is_rolled_back(traced, view):
    app, ends = traced
    with app.test_client().get(f"/_test/{view}") as r:
        assert r.status_code == 200
    assert "commit" not in ends and "rollback" in ends
    assert not {"RCFL", "RCTX"} & _codes(app)


def test_an_error_after_a_write_is_rolled_back(traced):
    app, ends = traced
    app.config["PROPAGATE_EXCEPTIONS"] = False
    with app.test_client().get("/_test/fails") as r:
        assert r.status_code == 500
    assert "commit" not in ends
    assert "RCER" not in _codes(app)
