"""EOL messages as codes: a check result carries a code and its parameters, never a sentence.

The catalogue (:mod:`workshop.eol.texts`) gives each code its English text (the gettext msgid, with named
parameters); the Thai text lives in the translation catalogues. :func:`render` turns a code and
its parameters into a sentence in the reader's language, in the web app, the PDF report, the CLI
and the drills alike. Plain Python: no Flask needed, so the CLI and the bench agent can render.

Parameters are plain data (numbers already formatted by the check, DBC names, state names from
the kit's DBC). A parameter that is itself a message is ``{"code": ..., "params": {...}}``, a
list of those is rendered joined with "; ".
"""

from __future__ import annotations

import functools
import locale as system_locale
import os
from pathlib import Path
from typing import Any

from babel.support import NullTranslations, Translations

from workshop.eol.texts import LABELS, MESSAGES

LANGUAGES = ("th", "en")


def message(code: str, **params: Any) -> dict:
    """A message as plain data: ``{"code": code, "params": params}`` (the code must exist)."""
    if code not in MESSAGES:
        raise KeyError(f"unknown EOL message code {code!r}")
    return {"code": code, "params": params}


@functools.cache
def translations(lang: str) -> NullTranslations:
    """The compiled catalogue of ``lang`` ('th' or 'en'); English is the msgids themselves."""
    folder = Path(__file__).resolve().parents[1] / "translations"
    if lang not in LANGUAGES or lang == "en":
        return NullTranslations()
    return Translations.load(str(folder), [lang])


def default_language() -> str:
    """The reader's language from the environment's locale: Thai unless it says English."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return "en" if value.lower().startswith("en") else "th"
    found = system_locale.getlocale()[0] or ""
    return "en" if found.lower().startswith("en") else "th"


def label(name: str, lang: str = "en") -> str:
    """A measurement's label in ``lang`` (its name when the catalogue has none)."""
    text = LABELS.get(name)
    if text is None:
        return name.replace("_", " ")
    return translations(lang).gettext(text)


def render(code: str | None, params: dict | None = None, lang: str = "en") -> str:
    """The sentence for ``code`` with ``params`` in ``lang``."""
    if not code:
        return ""
    template = MESSAGES.get(code)
    if template is None:
        return code
    if code == "names":  # a list of names reads "a, b, c"
        return ", ".join(_value(v, lang) for v in (params or {}).get("items", []))
    values = {k: _value(v, lang) for k, v in (params or {}).items()}
    text = translations(lang).gettext(template)
    try:
        return text % values if values else text
    except (KeyError, ValueError, TypeError):  # a catalogue typo must not hide the result
        return template % values if values else template


def _value(value: Any, lang: str) -> Any:
    if isinstance(value, dict) and "code" in value:
        return render(value["code"], value.get("params"), lang)
    if isinstance(value, dict) and "label" in value:
        return label(value["label"], lang)
    if isinstance(value, dict) and "en" in value:  # a bilingual text from the data
        return value.get(lang) or value["en"]
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return "; ".join(_value(v, lang) for v in value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return value
