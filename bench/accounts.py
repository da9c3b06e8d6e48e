"""Bulk upsert throughput: POST /api/v1/accounts/bulk/ (batches of 5,000) against a bare
`bulk_create` of the same rows, in the same run. Aim: ratio >= 0.25.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/accounts.py
    (--rows N for a smaller run)
"""

import argparse
import json

from _setup import django_with_test_db, report, teardown, timer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5_000)
    args = parser.parse_args()
    db = django_with_test_db()
    from abmcrm.celery import app

    # Each upsert queues the rescoring of its accounts for the worker; here nobody consumes
    # them (the figure is the API's own cost), and they are dropped afterwards.
    app.conf.task_always_eager = False
    try:
        run(args.rows, args.batch)
    finally:
        teardown(db)
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge("celery")


def rows_for(n, offset=0):
    industries = ["software", "retail", "medical", "finance", "telecommunications"]
    countries = ["United States", "Germany", "Japan", "Brazil", "Kenya", "France"]
    return [{
        "name": f"Bench Company {i}", "domain": f"bench{i}.example.com", "external_id": f"B{i}",
        "industry": industries[i % 5], "country": countries[i % 6], "region": "Region",
        "employees": 10 + i % 5000, "annual_revenue": f"{1_000_000 + i}.00",
        "funding_stage": "series_a", "customer_count": i % 900, "maturity": "mature",
        "estimated_acv": "25000.00", "is_customer": i % 7 == 0, "renewal_count": i % 3,
    } for i in range(offset, offset + n)]


def run(n, batch):
    from django.db import connection
    from django.test import Client

    from tests.factories import AdminFactory
    from tiers.models import Account

    results = {}
    rows = rows_for(n)
    batches = [rows[i:i + batch] for i in range(0, n, batch)]

    # The floor: bare bulk_create of the same rows, same batch size.
    with timer(results, "bulk_create"):
        for chunk in batches:
            Account.objects.bulk_create([Account(**row) for row in chunk], batch_size=1000)
    assert Account.objects.count() == n
    Account.objects.all().delete()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE tiers_account")

    admin = AdminFactory(username="bench-admin")
    client = Client(SERVER_NAME="localhost")
    client.force_login(admin)

    def post_all(key):
        totals = {"created": 0, "updated": 0, "unchanged": 0, "errors": 0}
        with timer(results, key):
            for chunk in batches:
                response = client.post("/api/v1/accounts/bulk/", json.dumps(chunk),
                                       content_type="application/json")
                assert response.status_code == 200, response.content[:500]
                body = response.json()
                for k in ("created", "updated", "unchanged"):
                    totals[k] += body[k]
                totals["errors"] += len(body["errors"])
        return totals

    first = post_all("api_create")
    assert first["created"] == n and first["errors"] == 0, first
    again = post_all("api_resend")
    assert again["unchanged"] == n, again
    for row in rows:
        row["employees"] += 1
    changed = post_all("api_update")
    assert changed["updated"] == n, changed

    floor = n / results["bulk_create"]
    report(f"accounts bulk upsert, {n:,} rows in batches of {batch:,} on {connection.vendor}", [
        ("bare bulk_create", f"{floor:,.0f}", "rows/s (the floor)"),
        ("API, new rows", f"{n / results['api_create']:,.0f}", "rows/s"),
        ("API, same payload again", f"{n / results['api_resend']:,.0f}", "rows/s (no writes)"),
        ("API, every row changed", f"{n / results['api_update']:,.0f}", "rows/s"),
        ("ratio new rows", f"{results['bulk_create'] / results['api_create']:.2f}",
         "API ÷ bulk_create throughput (aim >= 0.25)"),
        ("ratio resend", f"{results['bulk_create'] / results['api_resend']:.2f}", ""),
        ("ratio update", f"{results['bulk_create'] / results['api_update']:.2f}", ""),
    ])


if __name__ == "__main__":
    main()
