"""The one base of every refusal a feature's rules make (no feature imports).

A ``DomainError`` carries a stable ``code`` and a translatable ``message`` (a lazy gettext string
built by the feature: codes and parameters, never a sentence assembled in code). It stays a
``ValueError`` so that existing ``except ValueError`` callers keep working. Views show
``message``; nothing changed when one is raised.
"""


class DomainError(ValueError):
    """A request the rules refuse; ``message`` is shown to the user, ``code`` names the rule."""

    code = "refused"

    def __init__(self, message=None, *args, code: str | None = None):
        super().__init__(*((message,) if message is not None else ()), *args)
        if code is not None:
            self.code = code

    @property
    def message(self):
        """The translatable message for the user (``args[0]``), or the class's code."""
        return self.args[0] if self.args else self.code
