"""The one CSV writer of exports (abmcrm/core/exports.py)."""

import csv
import io
from decimal import Decimal

import pytest

from abmcrm.core.exports import csv_writer, neutralise


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@A1", "\tx", "\rx"])
def test_text_starting_like_a_formula_is_quoted(value):
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["Acme", "a=b", " =1", "", "1-2", "'=already"])
def test_other_text_is_left_alone(value):
    assert neutralise(value) == value


def test_the_writer_neutralises_text_cells_and_keeps_numbers():
    out = io.StringIO()
    csv_writer(out).writerow(["=HYPERLINK(\"x\")", -5, Decimal("-1.50"), -0.5, None, True,
                              "plain"])
    (row,) = list(csv.reader(io.StringIO(out.getvalue())))
    assert row == ["'=HYPERLINK(\"x\")", "-5", "-1.50", "-0.5", "", "True", "plain"]
