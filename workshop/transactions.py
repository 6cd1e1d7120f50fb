"""The one transaction pattern of a POST view: run the service call, then commit or roll back.

Every view that changes something writes::

    with transaction(_("Checklist saved.")) as done:
        services.save_answers(inspection, current_user, answers)
    if done:
        ...  # only after a commit

On success the session is committed and the success message (if any) flashed. A refusal by the
rules (a ``DomainError``) rolls the whole request back and flashes its message; the view goes on
(usually to a redirect) and ``done`` is false. Anything else rolls back and propagates to the
error pages. Services never commit or roll back the caller's session themselves: where one must
undo part of its own work it uses a savepoint (``db.session.begin_nested()``).
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from flask import flash

from workshop.errors import DomainError
from workshop.extensions import db


class Outcome:
    """Whether the transaction was committed; ``error`` holds the refusal otherwise."""

    def __init__(self, success=None) -> None:
        self.committed = False
        self.error: DomainError | None = None
        # the message flashed after the commit; the block may set it (e.g. per decision)
        self.success = success

    def __bool__(self) -> bool:
        return self.committed


@contextmanager
def transaction(
    success=None,
    *,
    refused: type[Exception] | tuple[type[Exception], ...] = DomainError,
    explain: Callable[[Exception], str] | None = None,
    quiet: bool = False,
) -> Iterator[Outcome]:
    """Commit and flash ``success``, or roll back and flash the refusal (see the module).

    ``refused`` narrows or widens what counts as a refusal (default: every ``DomainError``);
    ``explain`` turns the refusal into the view's own sentence (default: its ``message``);
    ``quiet`` flashes nothing (a JSON answer carries the message itself).
    """
    outcome = Outcome(success)
    try:
        yield outcome
    except refused as exc:
        db.session.rollback()
        outcome.error = exc
        if not quiet:
            flash(explain(exc) if explain else str(getattr(exc, "message", exc)), "error")
        return
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()
    outcome.committed = True
    if outcome.success is not None and not quiet:
        flash(outcome.success, "success")


def plain_rows(statement, params=None) -> sa.CursorResult:
    """Run a statement that selects columns (no ORM entities) on the session's connection: the
    session's transaction and autoflush, without the ORM's setup of every statement it runs
    (a third of the cost of a small query). For the pages' plain-row reads."""
    session = db.session()
    if session.autoflush:
        session.flush()  # returns at once when nothing is pending
    return session.connection().execute(statement, params or {})


# --- how a request that only read ends ---------------------------------------------------------
# A request that wrote nothing ends its transaction with COMMIT rather than the ROLLBACK that
# closing the session would send. For the database both end a read-only transaction alike, but
# psycopg forgets every prepared statement on a ROLLBACK: ending each page with one meant that no
# statement was ever prepared and PostgreSQL planned the same few queries again on every request
# (planning took 5-8 times as long as running them: 0.6-0.8 ms each of the server's CPU).
# Anything that may have written (any statement that is not a SELECT, pending ORM changes, an
# error) still ends with the rollback, exactly as before.

_WROTE = "workshop_may_have_written"


def _note_writes(conn, cursor, statement, parameters, context, executemany) -> None:
    if statement.lstrip()[:6].upper() != "SELECT":
        conn.info[_WROTE] = True


def _forget_writes(conn) -> None:
    conn.info.pop(_WROTE, None)


def end_reads_with_commit(app, engine) -> None:
    """Install the rule above for ``app``'s requests on ``engine`` (see the comment)."""
    sa.event.listen(engine, "before_cursor_execute", _note_writes)
    sa.event.listen(engine, "commit", _forget_writes)
    sa.event.listen(engine, "rollback", _forget_writes)

    # Registered after Flask-SQLAlchemy's own teardown, so it runs before the session is removed.
    @app.teardown_appcontext
    def _commit_reads(exc) -> None:
        session = db.session()
        if exc is not None or not session.in_transaction():
            return
        if session.new or session.dirty or session.deleted:
            return
        if session.connection().info.get(_WROTE):
            return
        try:
            session.commit()
        except sa.exc.SQLAlchemyError:  # nothing was written: nothing is lost
            session.rollback()
