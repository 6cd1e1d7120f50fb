"""Fill every empty msgstr of the English catalogue with its msgid (English is the source)."""

import sys

from babel.messages.pofile import read_po, write_po

path = sys.argv[1]
with open(path, "rb") as fh:
    catalog = read_po(fh, locale="en")
for message in catalog:
    if not message.id:
        continue
    if isinstance(message.id, tuple):
        if not any(message.string):
            message.string = tuple(message.id)
    elif not message.string:
        message.string = message.id
with open(path, "wb") as fh:
    write_po(fh, catalog, sort_output=True, omit_header=False, width=100)
