"""Ordering latency: p50 and p95 of `POST /api/v1/orders/` with 3 items, each as a ratio to
the same figure for `GET /api/v1/accounts/{id}/` on the same server in the same run.
Aim: p95 ratio <= 3.

The app runs under gunicorn on PostgreSQL (a scratch database created next to the one in
DATABASE_URL and dropped afterwards), on a free local port; 20 client threads hit it.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/programs .venv/bin/python bench/ordering.py
    (--scale 0.2 for a quick run; --clients, --requests to change the load)
"""

import argparse
import os
import random
import sys
import threading

from _http import ROOT, Client, gunicorn, migrate, percentile, scratch_database, server_env

sys.path.insert(0, str(ROOT))


def build_data(accounts_n, menu_n):
    """Accounts of one rep on tier 1, a menu, a roomy budget; returns (token, ids, items)."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from knox.models import AuthToken

    from abmcrm.core import roles
    from programs.models import Budget, Campaign, MenuEntry, ProgramItem
    from tiers.models import Account, Contact, Tier

    rep = get_user_model().objects.create_user("bench-rep", "bench-rep@example.com", "x")
    rep.groups.add(Group.objects.get(name=roles.SALES_REP))
    token = AuthToken.objects.create(user=rep)[1]
    tier1 = Tier.objects.get(number=1)
    Account.objects.bulk_create([
        Account(name=f"Bench account {i}", domain=f"bench{i}.example.com", owner=rep,
                tier=tier1, industry="software", country="United States", employees=500,
                estimated_acv=40_000)
        for i in range(accounts_n)
    ], batch_size=1000)
    accounts = list(Account.objects.filter(owner=rep).values_list("pk", flat=True))
    Contact.objects.bulk_create([Contact(account_id=pk, email=f"buyer@{pk}.example.com")
                                 for pk in accounts])
    campaign = Campaign.objects.create(name="Bench", code="bench")
    items = []
    for i in range(menu_n):
        item = ProgramItem.objects.create(
            name=f"Bench program {i}", kind=ProgramItem.Kind.values[i % 8], campaign=campaign,
            unit_cost=50 + i, lead_time_days=3 + i,
            # every third item is auto-approved, so a 3-item order books a budget too
            auto_approve_up_to=1000 if i % 3 == 0 else None,
        )
        MenuEntry.objects.create(tier=tier1, item=item, position=i)
        items.append(item.pk)
    from datetime import date

    Budget.objects.create(name="Bench all", start_date=date(2000, 1, 1),
                          end_date=date(2999, 12, 31), limit=10**11)
    Budget.objects.create(name="Bench tier 1", scope="tier", tier=tier1,
                          start_date=date(2000, 1, 1), end_date=date(2999, 12, 31),
                          limit=10**11)
    return token, accounts, items


def load(port, token, clients, requests, make_request):
    """`requests` calls spread over `clients` threads; returns the latencies in ms."""
    latencies, errors = [], []
    lock = threading.Lock()
    per_client = max(1, requests // clients)
    barrier = threading.Barrier(clients)

    def worker(index):
        client = Client(port, token)
        rng = random.Random(index)
        barrier.wait()
        for n in range(per_client):
            method, path, body, expected = make_request(rng, index, n)
            status, payload, elapsed = client.request(method, path, body)
            with lock:
                if status != expected:
                    errors.append((status, payload[:300]))
                latencies.append(elapsed * 1000)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"{len(errors)} unexpected answers, e.g. {errors[:3]}")
    return latencies


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="fraction of the full run (1,000 accounts, 2,000 requests each)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=None)
    parser.add_argument("--workers", type=int, default=max(2, (os.cpu_count() or 2)))
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL server (a scratch database is "
                         "created next to it).")
    requests = args.requests or max(args.clients * 5, int(2000 * args.scale))
    accounts_n = max(50, int(1000 * args.scale))

    bench_url, drop = scratch_database(url, "bench_ordering")
    env = server_env(bench_url)
    try:
        migrate(env)
        os.environ.update({k: v for k, v in env.items() if k != "PYTHONPATH"})
        token, accounts, items = build_data(accounts_n, menu_n=12)

        def get_account(rng, index, n):
            return "GET", f"/api/v1/accounts/{rng.choice(accounts)}/", None, 200

        def post_order(rng, index, n):
            return "POST", "/api/v1/orders/", {
                "account": rng.choice(accounts), "items": rng.sample(items, 3),
                "contact": None, "note": "bench"}, 201

        with gunicorn(env, workers=args.workers, threads=4) as port:
            # Warm every worker and connection, then measure each endpoint.
            load(port, token, args.clients, args.clients * 3, get_account)
            load(port, token, args.clients, args.clients * 3, post_order)
            gets = load(port, token, args.clients, requests, get_account)
            posts = load(port, token, args.clients, requests, post_order)
            gets += load(port, token, args.clients, requests // 2, get_account)
    finally:
        from django.db import connections

        connections.close_all()
        drop()

    g50, g95 = percentile(gets, 50), percentile(gets, 95)
    p50, p95 = percentile(posts, 50), percentile(posts, 95)
    print(f"ordering latency on PostgreSQL, gunicorn {args.workers} workers x 4 threads, "
          f"{args.clients} concurrent clients, {len(posts)} orders / {len(gets)} reads, "
          f"{accounts_n} accounts, 12-item menu")
    print(f"  GET  /api/v1/accounts/{{id}}/  p50 {g50:7.1f} ms   p95 {g95:7.1f} ms  (the floor)")
    print(f"  POST /api/v1/orders/ 3 items  p50 {p50:7.1f} ms   p95 {p95:7.1f} ms")
    print(f"  ratio p50 {p50 / g50:.2f}   ratio p95 {p95 / g95:.2f}   (aim: p95 ratio <= 3)")


if __name__ == "__main__":
    main()
