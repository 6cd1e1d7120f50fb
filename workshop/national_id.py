"""Thai national ID numbers (เลขประจำตัวประชาชน), shared by every feature: normalising,
validating (python-stdnum's ``th.pin`` holds the check-digit rule) and printing."""

from flask_babel import lazy_gettext as _l
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength
from stdnum.th import pin


def normalise_national_id(value: str) -> str:
    """The 13 digits alone: the spaces and dashes people type (1-1017-00230-70-8) dropped."""
    return pin.compact(value or "")


def national_id_problem(value: str) -> str | None:
    """Why ``value`` (normalised) is not a Thai national ID, or None."""
    try:
        pin.validate(value)
    except InvalidLength:
        return _l("a national ID has 13 digits (this one has %(n)d)", n=len(value))
    except InvalidFormat:
        return _l("a national ID has only digits")
    except InvalidChecksum:
        return _l("the national ID's last digit does not match the others: check for a typo")
    except InvalidComponent:
        return _l("a national ID never begins with 0 or 9")
    return None


def format_national_id(value: str) -> str:
    """As printed on the ID card: 1-1017-00230-70-8."""
    return pin.format(value) if value else ""
