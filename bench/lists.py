"""List latency at 100,000 accounts: p50 and p95 of the API's lists, each as a ratio to the
p50 of `GET /api/v1/accounts/{id}/` (one account's detail) measured on the same server in
the same run. Aim: p50 ratio <= 2 at page size 20, <= 3 at page size 100, with a fixed
number of queries a page.

Measured: the account list (page 1 at sizes 20 and 100, a filter, a search, page 2,000, a
rep's own accounts) and the contacts, orders and transitions lists. The app runs under
gunicorn with production settings on PostgreSQL (a scratch database created next to the one
in DATABASE_URL and dropped afterwards); one client sends the requests one after another,
the figures in turn (one request of each per round), so that every figure and its floor see
the same load.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lists .venv/bin/python bench/lists.py
    (--scale 0.1 for a quick run; --requests N per figure; --keep keeps the database)
"""

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta

from _http import ROOT, Client, gunicorn, migrate, percentile, scratch_database, server_env

sys.path.insert(0, str(ROOT))

WORDS = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Wonka", "Tyrell",
         "Cyberdyne", "Soylent", "Hooli", "Vandelay", "Pied", "Piper", "Aperture", "Black",
         "Mesa", "Oscorp", "Gringotts", "Monarch", "Nakatomi", "Sirius", "Virtucon", "Zorg",
         "Bluth", "Dunder", "Mifflin", "Prestige", "Krusty", "Duff", "Octan", "Weyland",
         "Yutani", "Ollivander", "Genco", "Sterling", "Cooper", "Draper", "Gekko", "Lumon"]
KINDS = ["Systems", "Labs", "Group", "Holdings", "Industries", "Software", "Partners",
         "Logistics", "Health", "Analytics", "Robotics", "Foods", "Energy", "Capital"]
INDUSTRIES = ["software", "retail", "medical", "finance", "telecommunications", "logistics",
              "manufacturing", "education", "media", "energy", "insurance", "travel"]
COUNTRIES = ["United States", "Germany", "Japan", "Brazil", "Kenya", "France", "India",
             "Canada", "Australia", "Mexico", "Spain", "Sweden", "Korea", "Indonesia"]


def build_data(accounts_n, reps_n=50):
    """Users, accounts (with technologies), contacts, orders with history and funnel
    transitions. Returns {"marketer": token, "rep": (token, id), "accounts": ids}."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection
    from rest_framework.authtoken.models import Token

    from abmcrm.core import roles
    from funnel.models import Stage, StageTransition
    from programs.models import Campaign, OrderEvent, ProgramItem, ProgramOrder
    from tiers.models import Account, Contact, Technology, Tier

    rng = random.Random(7)
    User = get_user_model()
    marketer = User.objects.create_user("bench-marketer", "m@example.com", "x")
    marketer.groups.add(Group.objects.get(name=roles.MARKETER))
    reps = [User.objects.create_user(f"bench-rep-{i}", f"r{i}@example.com", "x")
            for i in range(reps_n)]
    Group.objects.get(name=roles.SALES_REP).user_set.add(*reps)
    tiers = [*Tier.objects.all(), None]
    technologies = [Technology.objects.create(name=f"Tech {i}", slug=f"tech-{i}")
                    for i in range(12)]

    started = time.perf_counter()
    Account.objects.bulk_create([
        Account(name=f"{rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice(KINDS)}",
                domain=f"bench{i}.example.com", external_id=f"B{i}",
                industry=rng.choice(INDUSTRIES), country=rng.choice(COUNTRIES),
                employees=rng.randint(5, 50_000), annual_revenue=rng.randint(10**5, 10**10),
                estimated_acv=rng.randint(1_000, 500_000), owner=rng.choice(reps),
                tier=rng.choice(tiers), fit_score=rng.randint(0, 100),
                intent_score=rng.randint(0, 100), engagement_score=rng.randint(0, 100))
        for i in range(accounts_n)
    ], batch_size=1000)
    ids = list(Account.objects.order_by("pk").values_list("pk", flat=True))
    link = Account.technologies.through
    link.objects.bulk_create([
        link(account_id=pk, technology=technology) for pk in ids
        for technology in rng.sample(technologies, rng.randint(0, 3))
    ], batch_size=10_000)
    Contact.objects.bulk_create([
        Contact(account_id=rng.choice(ids), first_name=rng.choice(WORDS),
                last_name=f"{rng.choice(KINDS)}{i}", email=f"c{i}@contacts.example.com",
                title="VP Marketing")
        for i in range(accounts_n)
    ], batch_size=5000)

    campaign = Campaign.objects.create(name="Bench", code="bench")
    items = [ProgramItem.objects.create(name=f"Program {i}", kind="gift", campaign=campaign,
                                        unit_cost=50 + i) for i in range(12)]
    orders_n = accounts_n // 5
    statuses = ProgramOrder.Status.values
    ProgramOrder.objects.bulk_create([
        ProgramOrder(account_id=rng.choice(ids), item=rng.choice(items), cost=100,
                     requested_by=rng.choice(reps), status=rng.choice(statuses),
                     tier=rng.choice(tiers), note="bench")
        for _ in range(orders_n)
    ], batch_size=5000)
    OrderEvent.objects.bulk_create([
        OrderEvent(order_id=pk, from_status=from_status, to_status=to_status, by=marketer)
        for pk in ProgramOrder.objects.values_list("pk", flat=True)
        for from_status, to_status in (("", "requested"), ("requested", "approved"))
    ], batch_size=10_000)

    stages = {stage.slug: stage for stage in Stage.objects.all()}
    start = datetime(2025, 1, 1, tzinfo=UTC)
    StageTransition.objects.bulk_create([
        StageTransition(account_id=pk, from_stage=None if step == 0 else stages["target"],
                        to_stage=stages["target"] if step == 0 else stages["engaged"],
                        occurred_at=start + timedelta(minutes=rng.randint(0, 500_000)),
                        channel=rng.choice(["", "events", "website", "outbound"]))
        for pk in ids for step in range(2 if rng.random() < 0.5 else 1)
    ], batch_size=10_000)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"built {accounts_n} accounts, {accounts_n} contacts, {orders_n} orders and "
          f"{StageTransition.objects.count()} transitions in "
          f"{time.perf_counter() - started:.0f} s")
    rep = reps[0]
    return {"marketer": Token.objects.create(user=marketer).key,
            "rep": (Token.objects.create(user=rep).key, rep.pk), "accounts": ids}


def cases(data):
    """(label, token, a function rng -> path, page size) of each figure; the first is the
    floor."""
    rep_token, rep_id = data["rep"]
    marketer, ids = data["marketer"], data["accounts"]
    deep = min(2000, len(ids) // 40)  # page 2,000 of 5,000 at full scale
    return [
        ("GET /accounts/{id}/ (the floor)", marketer,
         lambda rng: f"/api/v1/accounts/{rng.choice(ids)}/", None),
        ("accounts, page 1", marketer, lambda rng: "/api/v1/accounts/?page_size=20", 20),
        ("accounts, page 1", marketer, lambda rng: "/api/v1/accounts/?page_size=100", 100),
        ("accounts, filter tier=2", marketer,
         lambda rng: "/api/v1/accounts/?tier=2&page_size=20", 20),
        ("accounts, search", marketer,
         lambda rng: f"/api/v1/accounts/?search={rng.choice(WORDS).lower()}%20"
                     f"{rng.choice(WORDS).lower()}&page_size=20", 20),
        (f"accounts, page {deep:,}", marketer,
         lambda rng: f"/api/v1/accounts/?page={deep}&page_size=20", 20),
        ("accounts, a rep's own", rep_token,
         lambda rng: f"/api/v1/accounts/?owner={rep_id}&page_size=20", 20),
        ("contacts, page 1", marketer, lambda rng: "/api/v1/contacts/?page_size=20", 20),
        ("contacts, page 1", marketer, lambda rng: "/api/v1/contacts/?page_size=100", 100),
        ("orders, page 1", marketer, lambda rng: "/api/v1/orders/?page_size=20", 20),
        ("orders, page 1", marketer, lambda rng: "/api/v1/orders/?page_size=100", 100),
        ("transitions, page 1", marketer,
         lambda rng: "/api/v1/funnel/transitions/?page_size=20", 20),
        ("transitions, page 1", marketer,
         lambda rng: "/api/v1/funnel/transitions/?page_size=100", 100),
    ]


def queries_per_page(token, path):
    """How many queries the request runs, counted in this process."""
    from django.db import connection
    from django.test import Client as DjangoClient
    from django.test.utils import CaptureQueriesContext

    client = DjangoClient(HTTP_AUTHORIZATION=f"Token {token}", HTTP_HOST="127.0.0.1")
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, response.content[:300]
    return len(captured)


def measure(port, measured, requests):
    """Latencies (ms) of each figure, the figures taken in turn, one request each per round:
    on a machine shared with other work every figure then sees the same load as its floor."""
    clients = {token: Client(port, token) for _, token, _, _ in measured}
    rngs = [random.Random(3 + index) for index in range(len(measured))]
    latencies = [[] for _ in measured]
    # The first rounds warm both workers: each prepares a statement on its sixth run.
    for round_ in range(30 + requests):
        for index, (_, token, make_path, _) in enumerate(measured):
            status, payload, elapsed = clients[token].request("GET", make_path(rngs[index]))
            if status != 200:
                raise SystemExit(f"{status}: {payload[:300]}")
            if round_ >= 30:
                latencies[index].append(elapsed * 1000)
    return latencies


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="fraction of the full run (100,000 accounts)")
    parser.add_argument("--requests", type=int, default=200, help="requests per figure")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL server (a scratch database is "
                         "created next to it).")
    accounts_n = max(1000, int(100_000 * args.scale))
    bench_url, drop = scratch_database(url, "bench_lists")
    env = server_env(bench_url)
    rows = []
    try:
        migrate(env)
        os.environ.update({k: v for k, v in env.items() if k != "PYTHONPATH"})
        data = build_data(accounts_n)
        measured = cases(data)
        queries = [None if size is None else queries_per_page(token, make(random.Random(1)))
                   for _, token, make, size in measured]
        with gunicorn(env, workers=2) as port:
            latencies = measure(port, measured, args.requests)
        for (label, _, _, size), count, figure in zip(measured, queries, latencies,
                                                     strict=True):
            rows.append((label, size, count, percentile(figure, 50), percentile(figure, 95)))
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop()

    floor = rows[0][3]
    print(f"\nlist latency on PostgreSQL, gunicorn 2 workers, one sequential client, "
          f"{accounts_n} accounts, {args.requests} requests a figure")
    print(f"  {'figure':<34} {'size':>4} {'queries':>7} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'p50÷floor':>9} {'p95÷floor':>9}  aim")
    for label, size, count, p50, p95 in rows:
        aim = "" if size is None else ("≤ 2" if size == 20 else "≤ 3")
        ok = "" if size is None else (" ✓" if p50 / floor <= (2 if size == 20 else 3)
                                      else " ✗")
        print(f"  {label:<34} {size or '':>4} {count or '':>7} {p50:8.1f} {p95:8.1f} "
              f"{p50 / floor:9.2f} {p95 / floor:9.2f}  {aim}{ok}")


if __name__ == "__main__":
    main()
