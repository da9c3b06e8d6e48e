"""SparseRowsMixin validates a row exactly as DRF's own loop does, skipping absent fields."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import QueryDict
from rest_framework import serializers

from abmcrm.core.ingest.rows import SparseRowsMixin


class Row(serializers.Serializer):
    code = serializers.CharField(max_length=5)
    name = serializers.CharField(required=False, allow_blank=True)
    amount = serializers.DecimalField(max_digits=6, decimal_places=2, min_value=0,
                                      required=False, allow_null=True)
    tags = serializers.ListField(child=serializers.CharField(), required=False)
    flag = serializers.BooleanField(required=False, default=False)
    note = serializers.CharField(required=False, source="remark")
    level = serializers.IntegerField(required=False)

    def validate_code(self, value):
        if value == "bad":
            raise serializers.ValidationError("no bad codes")
        return value.upper()

    def validate_level(self, value):
        if value > 9:
            raise DjangoValidationError("level above 9")
        return value


class SparseRow(SparseRowsMixin, Row):
    pass


ROWS = [
    {"code": "ab"},
    {"code": "ab", "name": "", "amount": "1.50", "tags": ["x", "y"], "flag": True,
     "note": "hi", "level": 3},
    {"name": "no code"},
    {"code": "toolongcode", "amount": "-1", "tags": "not a list", "level": "x"},
    {"code": "bad", "amount": None, "level": 12},
    {"code": "ab", "unknown": 1, "note": None},
]


def outcome(serializer, row):
    try:
        return "ok", serializer.run_validation(row)
    except serializers.ValidationError as exc:
        return "error", exc.detail


@pytest.mark.parametrize("row", ROWS)
def test_same_values_and_errors_as_drf(row):
    assert outcome(SparseRow(), row) == outcome(Row(), row)


def test_one_serializer_reused_over_rows():
    sparse, plain = SparseRow(), Row()
    assert [outcome(sparse, row) for row in ROWS * 2] == [outcome(plain, row) for row in ROWS * 2]


def test_defaults_and_sources_applied():
    assert SparseRow().run_validation({"code": "ab", "note": "n", "amount": "2"}) == {
        "code": "AB", "flag": False, "remark": "n", "amount": Decimal("2.00")}


def test_html_input_and_partial_take_drf_loop():
    form = QueryDict("code=ab&tags=x&tags=y")
    assert outcome(SparseRow(), form) == outcome(Row(), form)
    assert SparseRow(partial=True).run_validation({"level": 2}) == \
        Row(partial=True).run_validation({"level": 2})
