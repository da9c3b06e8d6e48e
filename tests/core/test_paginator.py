"""Lists in a fixed number of queries, cheap at any size and depth
(abmcrm/core/paginator.py), through the API's pagination."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from abmcrm.core import paginator
from tests.factories import AccountFactory
from tiers.models import Account

pytestmark = pytest.mark.django_db

ACCOUNTS = "/api/v1/accounts/"


def counts(captured):
    return sum("COUNT(" in query["sql"].upper() for query in captured.captured_queries)


def listed(client, **params):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(ACCOUNTS, params)
    assert response.status_code == 200, response.content
    return response.json(), captured


def test_a_last_page_knows_its_count_without_counting(api, rep):
    for i in range(7):
        AccountFactory(name=f"Account {i:02}")
    client = api.as_user(rep)
    body, captured = listed(client, page_size=10)
    assert body["count"] == 7 and len(body["results"]) == 7 and counts(captured) == 0
    body, captured = listed(client, page_size=3, page=3)
    assert (body["count"], [r["name"] for r in body["results"]]) == (7, ["Account 06"])
    assert counts(captured) == 0 and body["next"] is None


def test_a_page_with_more_after_it_counts(api, rep):
    for _ in range(7):
        AccountFactory()
    body, captured = listed(api.as_user(rep), page_size=3)
    assert body["count"] == 7 and body["next"] and counts(captured) == 1


def test_a_page_past_the_end_is_404_and_not_a_number_too(api, rep):
    AccountFactory()
    client = api.as_user(rep)
    assert client.get(ACCOUNTS, {"page": 3}).status_code == 404
    assert client.get(ACCOUNTS, {"page": "x"}).status_code == 404
    assert client.get(ACCOUNTS, {"page": "last"}).json()["count"] == 1


def test_a_long_lists_count_is_cached_briefly_and_a_short_ones_never(api, rep, settings):
    settings.ABMCRM_LIST_COUNT_CACHE_ABOVE = 5
    for _ in range(6):
        AccountFactory()
    client = api.as_user(rep)
    assert listed(client, page_size=2)[0]["count"] == 6
    AccountFactory()
    body, captured = listed(client, page_size=2)
    assert body["count"] == 6 and counts(captured) == 0  # up to 30 s old
    filtered, captured = listed(client, page_size=2, industry="software")
    assert filtered["count"] == 7 and counts(captured) == 1  # another query, its own count
    for _ in range(5):
        AccountFactory()
    # A page that finds more rows after it than the cached count allows counts again.
    body, captured = listed(client, page_size=2, page=5)
    assert body["count"] == 12 and body["next"] and counts(captured) == 1
    AccountFactory()
    settings.ABMCRM_LIST_COUNT_CACHE_SECONDS = 0
    assert listed(client, page_size=2)[0]["count"] == 13


@pytest.mark.parametrize("page_size", [1, 7])
def test_deep_pages_are_the_same_rows_read_ids_first(api, rep, monkeypatch, page_size):
    for i in range(30):
        AccountFactory(name=f"Same name {i % 3}")
    client = api.as_user(rep)
    pages = range(1, -(-30 // page_size) + 1)
    shallow = [listed(client, page_size=page_size, page=page)[0]["results"] for page in pages]
    monkeypatch.setattr(paginator, "DEFER_FROM", 0)
    deep = [listed(client, page_size=page_size, page=page)[0]["results"] for page in pages]
    assert deep == shallow
    names = [row["id"] for page in deep for row in page]
    assert len(names) == len(set(names)) == 30  # ties broken by id: nothing twice or missed


@pytest.mark.parametrize("ordering", ["employees", "-employees", "industry", "-fit_score"])
def test_an_ordering_is_stable_across_pages(api, rep, ordering):
    for i in range(12):
        AccountFactory(employees=100 * (i % 2), fit_score=i % 3)
    client = api.as_user(rep)
    seen = []
    for page in range(1, 5):
        seen += [row["id"] for row in listed(client, page_size=3, page=page,
                                             ordering=ordering)[0]["results"]]
    assert sorted(seen) == sorted(Account.objects.values_list("pk", flat=True))
    # Equal sort keys come by id, in the ordering's direction.
    assert seen == sorted(seen, key=lambda pk: (_key(pk, ordering), pk if ordering[0] != "-"
                                                else -pk))


def _key(pk, ordering):
    field = ordering.lstrip("-")
    value = getattr(Account.objects.get(pk=pk), field)
    return -value if ordering.startswith("-") and isinstance(value, int) else value


@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="trigram indexes exist on PostgreSQL only (SQLite has none)")
def test_the_account_search_can_use_its_trigram_indexes():
    """The indexes' expressions are the ones Django's `icontains` writes."""
    from tiers.filters import AccountFilter

    AccountFactory(name="Globex Corporation")
    queryset = AccountFilter({"search": "globex"}, queryset=Account.objects.all()).qs
    sql, params = queryset.order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        # A few rows are read faster without an index: make the planner show it can.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "tiers_account_name_search" in plan and "tiers_account_domain_search" in plan
