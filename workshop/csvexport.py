"""Every CSV the app exports is written here, with formula injection neutralised.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and some read one after a
leading tab or carriage return) as a formula: a cost line described ``=cmd|' /C calc'!A0`` would
run a command on the office PC that opens the export. OWASP's rule: prefix such a text cell with a
single quote, so it shows as the text it is. Numbers (int, Decimal) carry no formula and stay
numbers, negative amounts included.
"""

import csv
import io
from collections.abc import Iterable, Mapping, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value):
    """``value`` as a spreadsheet will show it: text that would start a formula gets a quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    """A CSV document of ``header`` then ``rows``, every cell neutralised."""
    out = io.StringIO()
    # RFC 4180 line ends: with them the writer also quotes a cell holding a lone carriage
    # return, which would otherwise split the row in a spreadsheet.
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise_cell(c) for c in header])
    for row in rows:
        writer.writerow([neutralise_cell(c) for c in row])
    return out.getvalue()


def csv_dicts(fieldnames: Sequence[str], rows: Iterable[Mapping]) -> str:
    """A CSV document of ``rows`` given as mappings (missing keys left empty), neutralised."""
    return csv_text(fieldnames, ([row.get(name, "") for name in fieldnames] for row in rows))
