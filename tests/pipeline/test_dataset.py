"""The shared CRM data set (tiers/demo_data: 85 accounts, 35 reps, 8,800 opportunities)
loaded through `POST /api/v1/opportunities/bulk/`, its report checked against a computation
made here from the CSV alone."""

import csv
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from statistics import median

import pytest
from django.utils.text import slugify

from tests import factories

pytestmark = pytest.mark.django_db

DATA = Path(__file__).resolve().parents[2] / "tiers" / "demo_data"
STAGES = {"Won": "won", "Lost": "lost", "Engaging": "qualification",
          "Prospecting": "prospecting"}


def _read(name):
    with open(DATA / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _noon(text):
    day = date.fromisoformat(text)
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC).isoformat()


def _username(name):
    return slugify(name).replace("-", ".")


@pytest.fixture
def dataset():
    for n, row in enumerate(_read("accounts.csv")):
        factories.AccountFactory(name=row["account"], domain=f"{slugify(row['account'])}.com",
                                 external_id=f"DS-{n}")
    for row in _read("sales_teams.csv"):
        factories.RepFactory(username=_username(row["sales_agent"]))
    return _read("sales_pipeline.csv")


def _items(rows):
    for row in rows:
        item = {"external_id": row["opportunity_id"], "product": row["product"],
                "account": f"{slugify(row['account'])}.com" if row["account"] else "",
                "owner": _username(row["sales_agent"]), "stage": STAGES[row["deal_stage"]]}
        if row["engage_date"]:
            item["opened_at"] = _noon(row["engage_date"])
        if row["close_date"]:
            item["closed_at"] = _noon(row["close_date"])
        if row["close_value"]:
            item["amount"] = row["close_value"]
        yield item


def _expected(rows, key):
    """Won, lost, won revenue and cycles per `key` of the closed rows, from the CSV."""
    out = defaultdict(lambda: {"won": 0, "lost": 0, "revenue": Decimal(0), "cycles": []})
    for row in rows:
        if not row["account"] or row["deal_stage"] not in ("Won", "Lost"):
            continue
        figures = out[row[key]]
        if row["deal_stage"] == "Won":
            figures["won"] += 1
            figures["revenue"] += Decimal(row["close_value"])
            figures["cycles"].append((date.fromisoformat(row["close_date"])
                                      - date.fromisoformat(row["engage_date"])).days)
        else:
            figures["lost"] += 1
    return out


def test_the_data_set_through_the_bulk_endpoint(api, marketer, dataset):
    client = api.as_user(marketer)
    items = list(_items(dataset))
    created, errors = 0, []
    for start in range(0, len(items), 5_000):
        response = client.post("/api/v1/opportunities/bulk/", items[start:start + 5_000],
                               format="json")
        assert response.status_code == 200
        created += response.data["created"]
        errors += [(start + e["index"], e["errors"]) for e in response.data["errors"]]
    without_account = [n for n, row in enumerate(dataset) if not row["account"]]
    assert [n for n, _ in errors] == without_account
    assert all("account" in e for _, e in errors)
    assert created == len(dataset) - len(without_account) == 7375

    params = {"start": "2016-01-01", "end": "2018-12-31"}
    by_owner = client.get("/api/v1/opportunities/report/", {**params, "group_by": "owner"}
                          ).data
    expected = _expected(dataset, "sales_agent")
    names = {_username(name): name for name in expected}
    got = {}
    for group in by_owner["groups"]:
        got[names[group["label"]]] = group
    assert set(got) == set(expected)
    for agent, figures in expected.items():
        group = got[agent]
        assert (group["won"], group["lost"]) == (figures["won"], figures["lost"]), agent
        assert Decimal(group["won_revenue"]) == figures["revenue"], agent
        assert group["win_rate"] == round(figures["won"] / (figures["won"] + figures["lost"]),
                                          4), agent
        assert group["median_cycle_days"] == pytest.approx(median(figures["cycles"])), agent

    by_product = client.get("/api/v1/opportunities/report/",
                            {**params, "group_by": "product"}).data
    expected = _expected(dataset, "product")
    got = {group["key"]: group for group in by_product["groups"]}
    assert set(got) == set(expected)  # GTXPro stays itself here: the test sends the CSV as is
    for product, figures in expected.items():
        assert (got[product]["won"], got[product]["lost"]) == (figures["won"], figures["lost"])
        assert Decimal(got[product]["won_revenue"]) == figures["revenue"]
    totals = by_product["totals"]
    assert totals["won"] == 4238 and totals["lost"] == 2473
    assert Decimal(totals["won_revenue"]) == sum(
        Decimal(row["close_value"]) for row in dataset if row["deal_stage"] == "Won")

    again = client.post("/api/v1/opportunities/bulk/", items[:5_000], format="json").data
    assert again["created"] == 0 and again["updated"] == 0
