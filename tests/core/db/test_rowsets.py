"""Rows as one SQL source (abmcrm/core/db/rowsets.py): the same statements work from a
JSON document on PostgreSQL and from VALUES batches on SQLite, with every column type."""

import json
from datetime import UTC, datetime

import pytest
from django.db import connection

from abmcrm.core.db import rowsets
from abmcrm.core.db.names import column, table
from tiers.models import Account

pytestmark = pytest.mark.django_db
COLUMNS = [("id", "int"), ("n", "smallint"), ("flag", "bool"), ("name", "text"),
           ("at", "ts"), ("doc", "jsonb")]


def _select_all(rows, extra_params=0):
    found = []
    with connection.cursor() as cursor:
        for cte, params in rowsets.batches(COLUMNS, rows, extra_params):
            cursor.execute(f"{cte} SELECT id, n, flag, name, at, doc FROM v ORDER BY id", params)
            found += cursor.fetchall()
    return found


def test_values_of_every_type_come_back():
    at = datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC)
    rows = [(1, 7, True, "Ünïcode ‘quotes’", at, ["a", "b"]), (2, None, False, "", None, [])]
    found = _select_all(rows)
    assert [row[:4] for row in found] == [(1, 7, True, "Ünïcode ‘quotes’"), (2, None, False, "")]
    stored_at = found[0][4]
    if isinstance(stored_at, str):  # SQLite hands back the stored text
        stored_at = datetime.fromisoformat(stored_at)
    assert stored_at.replace(tzinfo=stored_at.tzinfo or UTC) == at and found[1][4] is None
    docs = [row[5] if not isinstance(row[5], str) else json.loads(row[5]) for row in found]
    assert docs == [["a", "b"], []]


def test_many_rows_arrive_whole_however_they_are_batched():
    rows = [(i, i % 100, i % 2 == 0, f"row {i}", None, {"i": i}) for i in range(1, 2001)]
    found = _select_all(rows, extra_params=3)
    assert [row[0] for row in found] == list(range(1, 2001))
    batches = list(rowsets.batches(COLUMNS, rows, 3))
    if connection.vendor == "postgresql":
        assert len(batches) == 1  # one JSON parameter
    else:
        assert all(len(params) + 3 <= rowsets.SQLITE_PARAMS for _, params in batches)


def test_an_update_from_a_rowset_and_nothing_for_no_rows():
    a = Account.objects.create(name="A", domain="a.com")
    b = Account.objects.create(name="B", domain="b.com")
    accounts = table(Account)
    with connection.cursor() as cursor:
        for cte, params in rowsets.batches([("id", "int"), ("fit", "smallint")],
                                           [(a.pk, 40), (b.pk, 90)]):
            cursor.execute(f"{cte} UPDATE {accounts} SET {column(Account, 'fit_score')} = "
                           f"v.fit FROM v WHERE {accounts}.{column(Account, 'id')} = v.id",
                           params)
    assert dict(Account.objects.values_list("pk", "fit_score")) == {a.pk: 40, b.pk: 90}
    assert list(rowsets.batches(COLUMNS, [])) == []


def test_ids_filter_a_queryset_like_a_list():
    a = Account.objects.create(name="A", domain="a.com")
    Account.objects.create(name="B", domain="b.com")
    assert list(Account.objects.filter(pk__in=rowsets.ids([a.pk])).values_list("pk",
                                                                                 flat=True)) \
        == [a.pk]


def test_texts_filter_a_queryset_like_a_list():
    Account.objects.create(name="A", domain="a.com")
    Account.objects.create(name="B", domain="b.com")
    Account.objects.create(name="C", domain="it's \"c\".com")
    found = Account.objects.filter(domain__in=rowsets.texts(["a.com", "it's \"c\".com",
                                                             "none.com"]))
    assert sorted(found.values_list("name", flat=True)) == ["A", "C"]
    assert not Account.objects.filter(domain__in=rowsets.texts([])).exists()


def test_a_value_it_cannot_send_is_refused():
    with pytest.raises(TypeError, match="object"):
        list(rowsets.batches([("id", "int"), ("x", "jsonb")], [(1, {"x": object()})]))
