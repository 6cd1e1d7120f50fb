"""The Thai and English catalogues are complete and up to date with the code."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def catalog(lang):
    with open(ROOT / f"workshop/translations/{lang}/LC_MESSAGES/messages.po", "rb") as fh:
        return read_po(fh, locale=lang)


def strings(message):
    return message.string if isinstance(message.string, tuple) else (message.string,)


@pytest.mark.parametrize("lang", ["th", "en"])
def test_every_message_is_translated_with_the_same_placeholders(lang):
    problems = []
    for m in catalog(lang):
        if not m.id:
            continue
        msgid = m.id[0] if isinstance(m.id, tuple) else m.id
        for text in strings(m):
            if not text:
                problems.append(("empty", msgid))
            elif set(PLACEHOLDER.findall(text)) != set(PLACEHOLDER.findall(msgid)):
                problems.append(("placeholders", msgid))
    assert problems == []


def test_catalogue_matches_the_code(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pybabel"),
            "-q",
            "extract",
            "-F",
            "workshop/translations/babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-k",
            "lazy_ngettext:1,2",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
    )
    with open(pot, "rb") as fh:
        extracted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}
    known = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog("th") if m.id}
    assert sorted(extracted - known) == [], "run scripts/i18n.sh and translate the new strings"
    assert sorted(known - extracted) == [], "run scripts/i18n.sh to drop obsolete strings"


def test_wtforms_messages_in_thai(client):
    r = client.post("/login", data={"username": "", "password": ""})
    assert "กรุณากรอกช่องนี้" in r.text
