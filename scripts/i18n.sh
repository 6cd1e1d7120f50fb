#!/usr/bin/env bash
# Re-extract the translatable strings and merge them into the Thai and English catalogues.
# Then translate every empty msgstr in workshop/translations/th/LC_MESSAGES/messages.po
# (tests/core/test_i18n.py fails while one is empty or the catalogue is out of date).
set -euo pipefail
cd "$(dirname "$0")/.."
pot=$(mktemp --suffix=.pot)
.venv/bin/pybabel -q extract -F workshop/translations/babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 --no-location --sort-output -o "$pot" .
for lang in th en; do
  po=workshop/translations/$lang/LC_MESSAGES/messages.po
  if [ -f "$po" ]; then
    .venv/bin/pybabel -q update --no-fuzzy-matching --ignore-obsolete -i "$pot" -d workshop/translations -l "$lang"
  else
    .venv/bin/pybabel -q init -i "$pot" -d workshop/translations -l "$lang"
  fi
done
# English is the source language: its catalogue repeats each msgid, so it is complete by construction.
.venv/bin/python scripts/fill_english.py workshop/translations/en/LC_MESSAGES/messages.po
rm -f "$pot"
