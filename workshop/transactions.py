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
