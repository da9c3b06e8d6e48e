"""CSV exports. Every CSV abmcrm writes goes through `csv_writer` (tests/test_architecture.py
checks that nothing else calls `csv.writer`), so that no cell it writes can run as a formula.

A spreadsheet opens a cell that starts with `=`, `+`, `-` or `@` as a formula, and a tab or
carriage return can hide such a start: a campaign named `=cmd|'/c calc'!A1` would run a
command on the computer of whoever opens the export (CSV injection). As OWASP advises, such
a text cell is written with a leading `'`, which the spreadsheet shows as text. Numbers are
written as they are: a negative number is not a formula.
"""

import csv
from decimal import Decimal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """A cell's value as it is safe to write: text starting like a formula gets a `'`."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    """`csv.writer` whose rows' text cells are neutralised (see the module)."""

    def __init__(self, writer):
        self._writer = writer

    def writerow(self, row):
        return self._writer.writerow([_cell(value) for value in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


def _cell(value):
    if value is None or isinstance(value, bool | int | float | Decimal):
        return value
    return neutralise(str(value))


def csv_writer(stream, **options):
    """A CSV writer on `stream` (a file, or an HttpResponse) for exports: takes the
    `csv.writer` options, neutralises every text cell."""
    return SafeWriter(csv.writer(stream, **options))
