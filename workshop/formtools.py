"""Shared form base and helpers for the feature forms."""

from flask_babel import get_translations
from flask_wtf import FlaskForm
from wtforms import SelectChoice


class _CatalogueTranslations:
    """WTForms' built-in messages looked up in our catalogues (WTForms ships no Thai)."""

    def gettext(self, string):
        return get_translations().ugettext(string)

    def ngettext(self, singular, plural, n):
        return get_translations().ungettext(singular, plural, n)


_TRANSLATIONS = _CatalogueTranslations()


class Form(FlaskForm):
    """Base of every form: CSRF from Flask-WTF, messages in the user's language."""

    class Meta:
        def get_translations(self, form):
            return _TRANSLATIONS


def choices(pairs) -> list[SelectChoice]:
    """WTForms choices from (value, label) pairs (tuples are deprecated in WTForms 3.3)."""
    return [SelectChoice(value, label) for value, label in pairs]
