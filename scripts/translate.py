"""Merge translations from a Python file defining TH = {msgid: msgstr} into the Thai catalogue.

Usage: .venv/bin/python scripts/translate.py FILE.py   (only fills empty entries unless --force)
"""

import runpy
import sys

from babel.messages.pofile import read_po, write_po

PO = "workshop/translations/th/LC_MESSAGES/messages.po"

namespace = runpy.run_path(sys.argv[1])
source = namespace["TH"]
plural = namespace.get("PLURAL", {})  # keyed by the singular msgid; Thai has one plural form
force = "--force" in sys.argv
with open(PO, "rb") as fh:
    catalog = read_po(fh, locale="th")
filled = 0
for message in catalog:
    if isinstance(message.id, tuple):
        if message.id[0] in plural and (force or not any(message.string)):
            message.string = (plural[message.id[0]],)
            filled += 1
    elif message.id and message.id in source and (force or not message.string):
        message.string = source[message.id]
        filled += 1
with open(PO, "wb") as fh:
    write_po(fh, catalog, sort_output=True, width=100)
missing = [
    m.id
    for m in catalog
    if m.id and not any(m.string if isinstance(m.string, tuple) else [m.string])
]
print(f"filled {filled}; still empty: {len(missing)}")
for m in missing:
    print("  ", m)
