"""Ids from outside: only a positive integer within the id column's range names a row."""

import pytest

from abmcrm.core.ids import MAX_ID, as_id, ids_in


@pytest.mark.parametrize("value, expected", [
    ("7", 7), (" 42 ", 42), (7, 7), (str(MAX_ID), MAX_ID),
    ("0", None), ("-3", None), ("abc", None), ("", None), ("4.5", None), ("١٢", None),
    (str(MAX_ID + 1), None), ("99999999999999999999", None), ("²", None),
    ("9" * 5000, None), ("0" * 30 + "7", None),
])
def test_as_id(value, expected):
    assert as_id(value) == expected


def test_ids_in_keeps_only_ids():
    assert ids_in(["3", "x", "99999999999999999999", "5", ""]) == [3, 5]
