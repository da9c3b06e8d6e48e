"""Pipeline benchmark on PostgreSQL: 100,000 accounts, 1,000,000 opportunities, 3,000,000 stage
changes and 5,000,000 touches (engagement events carrying a campaign's code, program orders,
funnel transitions with a campaign), then 2,000,000 opportunities. Prints, as ratios against
floors measured in the same run, each floor the simplest statement that reads the same rows
once (a single GROUP BY scan of the table the figure comes from):

- report API (a year, group_by=owner) ÷ `SELECT owner_id, count(*), sum(amount) FROM <deals>
  GROUP BY owner_id` (aim ≤ 3);
- forecast API ÷ `SELECT owner_id, count(*), sum(amount) FROM <deals> WHERE status = 'open'
  GROUP BY owner_id` (aim ≤ 3);
- W-shaped attribution API (a year of deals) ÷ `SELECT campaign, count(*) … GROUP BY campaign`
  over every touch table, once (aim ≤ 5);
- bulk upsert (POST /api/v1/opportunities/bulk/, 10,000 a request, new deals, after one
  warm-up request) ÷ a bare `bulk_create` of the same rows (aim ≥ 0.3); the deal touch rows
  the loads queue for a task after their commit are timed on their own line;
- report at 2,000,000 deals ÷ at 1,000,000 (aim ≤ 2.5).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> .venv/bin/python bench/opportunities.py
    (--scale 0.1 for a tenth of every size; --only report,bulk for some figures;
    --group-by owner,month or all for the report's groupings; --keep keeps the loaded
    database and --reuse runs on it again without loading)
"""

import argparse
import json
import random
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from _setup import django_with_test_db, report, teardown

NOW = datetime.now(UTC).replace(microsecond=0)
SPAN_DAYS = 730  # the book covers two years
PRODUCTS = ["GTX Basic", "GTX Pro", "MG Special", "MG Advanced", "GTX Plus Basic",
            "GTX Plus Pro", "GTK 500"]
N_REPS, N_CAMPAIGNS, N_ITEMS = 200, 50, 40
PARTS = ("report", "forecast", "attribution", "bulk")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--skip-2m", action="store_true")
    parser.add_argument("--only", default=",".join(PARTS),
                        help=f"comma-separated figures to measure, of {', '.join(PARTS)}")
    parser.add_argument("--group-by", default="owner",
                        help="the report's group_by values, comma-separated, or 'all' "
                             "(the first is the one the aims and the 2x figure use)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the loaded database (for --reuse)")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse a database a --keep run loaded at the same scale")
    args = parser.parse_args()
    only = [part for part in args.only.split(",") if part]
    unknown = set(only) - set(PARTS)
    if unknown:
        parser.error(f"unknown --only parts: {', '.join(sorted(unknown))}")
    group_bys = args.group_by.split(",")
    if group_bys == ["all"]:
        group_bys = ["owner", "product", "tier", "channel", "campaign", "month", "account",
                     "side", ""]
    db = django_with_test_db(keepdb=args.reuse)
    from abmcrm.celery import app

    # The bulk upsert's commit queues the outbox dispatch (and the funnel's follow-ups) for
    # the worker; as in bench/accounts.py nobody consumes them here (the figure is the API's
    # own cost: under the tests' eager settings the request would run the worker's dispatch
    # of its 20,000 events too), and they are dropped afterwards.
    app.conf.task_always_eager = False
    try:
        run(args.scale, not args.skip_2m, only=only, group_bys=group_bys, reuse=args.reuse)
    finally:
        if not args.keep:
            teardown(db)
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge("celery")


def best_of(fn, times=3):
    best = None
    for _ in range(times):
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return best


def _copy(table, columns, rows):
    from django.db import connection

    raw = connection.connection
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def _sync_sequences(*tables):
    from django.db import connection

    with connection.cursor() as cursor:
        for name in tables:
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                           f"(SELECT COALESCE(MAX(id), 1) FROM {name}))")


def setup_world(n_accounts):
    """Accounts, reps, campaigns with items, an engagement kind; returns their ids."""
    from django.contrib.auth import get_user_model

    from programs.models import Campaign, ProgramItem
    from tiers.models import Account, EngagementKind, Tier

    tiers = list(Tier.objects.values_list("pk", flat=True))
    Account.objects.bulk_create(
        [Account(id=i, name=f"Bench {i}", domain=f"b{i}.example.com",
                 tier_id=tiers[i % len(tiers)] if i % 4 else None)
         for i in range(1, n_accounts + 1)], batch_size=1000)
    User = get_user_model()
    reps = User.objects.bulk_create([User(username=f"bench-rep-{i}") for i in range(N_REPS)])
    campaigns = Campaign.objects.bulk_create(
        [Campaign(name=f"Bench campaign {i}", code=f"bench-{i}") for i in range(N_CAMPAIGNS)])
    items = ProgramItem.objects.bulk_create(
        [ProgramItem(name=f"Bench item {i}", kind="gift", campaign=campaigns[i % N_CAMPAIGNS],
                     unit_cost=100) for i in range(N_ITEMS)])
    kind, _ = EngagementKind.objects.get_or_create(key="bench_demo",
                                                   defaults={"name": "Demo", "weight": 40})
    _sync_sequences("tiers_account")
    return {"reps": [u.pk for u in reps], "campaigns": [c.pk for c in campaigns],
            "codes": [c.code for c in campaigns], "items": [i.pk for i in items],
            "kind": kind.pk}


def load_deals(world, n_accounts, n_deals, first_id):
    """COPY n deals (ids from first_id) and their stage changes (three a deal on average);
    returns the number of changes."""
    from pipeline import selectors
    from pipeline.models import Opportunity, OpportunityStageChange

    stages = {s.slug: s for s in selectors.stages()}
    open_stages = [s for s in stages.values() if not s.is_closed]
    deals, changes = [], []
    for i in range(first_id, first_id + n_deals):
        rng = random.Random(i)
        opened = NOW - timedelta(days=rng.random() * SPAN_DAYS, hours=rng.randint(0, 23))
        amount = Decimal(rng.randint(5, 800) * 100)
        fate = rng.random()
        path = [rng.choice(open_stages[:2])]
        at = opened
        moments = [at]
        for _ in range(rng.choice((1, 1, 2))):
            at += timedelta(days=rng.random() * 30 + 1)
            following = [s for s in open_stages if s.position > path[-1].position]
            if not following:
                break
            path.append(rng.choice(following))
            moments.append(at)
        if fate < 0.8:
            at += timedelta(days=rng.random() * 40 + 1)
            path.append(stages["won"] if fate < 0.45 else stages["lost"])
            moments.append(at)
        if moments[-1] > NOW:  # still open today
            while moments and moments[-1] > NOW:
                moments.pop()
                path.pop()
            if not path:
                path, moments = [open_stages[0]], [opened]
        final = path[-1]
        closed = moments[-1] if final.is_closed else None
        close_date = None if closed else (NOW + timedelta(days=rng.randint(-40, 300))).date()
        deals.append((i, rng.randint(1, n_accounts), f"Deal {i}", f"B-{i}",
                      world["reps"][i % N_REPS], PRODUCTS[i % len(PRODUCTS)], amount, "USD",
                      final.pk, final.status, opened, close_date, closed, "",
                      world["campaigns"][i % N_CAMPAIGNS] if i % 10 == 0 else None, "",
                      moments[-1], len(path), NOW, NOW))
        previous = None
        for stage, moment in zip(path, moments, strict=True):
            changes.append((i, previous.pk if previous else None, stage.pk, moment, amount,
                            False, NOW))
            previous = stage
    _copy(Opportunity._meta.db_table,
          ["id", "account_id", "name", "external_id", "owner_id", "product", "amount",
           "currency", "stage_id", "status", "opened_at", "close_date", "closed_at",
           "lost_reason", "campaign_id", "channel", "stage_changed_at", "version",
           "created_at", "updated_at"], deals)
    _copy(OpportunityStageChange._meta.db_table,
          ["opportunity_id", "from_stage_id", "to_stage_id", "at", "amount", "is_reopen",
           "created_at"], changes)
    _sync_sequences(Opportunity._meta.db_table, OpportunityStageChange._meta.db_table)
    return len(changes)


def load_touches(world, n_accounts, n_touches):
    """COPY the touches: 60% engagement events with a campaign's code, 20% program orders,
    20% funnel transitions with a campaign (each account entering the funnel, then moved)."""
    from django.contrib.auth import get_user_model

    from funnel import selectors as funnel_selectors
    from funnel.models import StageTransition
    from programs.models import ProgramOrder
    from tiers.models import EngagementEvent

    rng = random.Random(5)
    n_events, n_orders = int(n_touches * 0.6), int(n_touches * 0.2)
    n_transitions = n_touches - n_events - n_orders

    def when():
        return NOW - timedelta(days=rng.random() * (SPAN_DAYS + 200))

    _copy(EngagementEvent._meta.db_table,
          ["account_id", "kind_id", "occurred_at", "source", "dedupe_key", "created_at"],
          ((rng.randint(1, n_accounts), world["kind"], when(), rng.choice(world["codes"]),
            f"bench-{i}", NOW) for i in range(n_events)))
    requester = get_user_model().objects.get(username="bench-rep-0").pk
    statuses = ["fulfilled"] * 6 + ["approved", "requested", "rejected", "cancelled"]
    _copy(ProgramOrder._meta.db_table,
          ["account_id", "item_id", "note", "cost", "currency", "status", "requested_by_id",
           "reason", "external_reference", "created_at", "updated_at"],
          ((rng.randint(1, n_accounts), rng.choice(world["items"]), "", 100, "USD",
            rng.choice(statuses), requester, "", "", when(), NOW) for _ in range(n_orders)))
    abm = [s.pk for s in funnel_selectors.side_path("abm")][:3]
    _copy(StageTransition._meta.db_table,
          ["account_id", "to_stage_id", "occurred_at", "channel", "campaign_id", "is_reopen",
           "created_at"],
          ((rng.randint(1, n_accounts), rng.choice(abm), when(), "",
            rng.choice(world["campaigns"]), False, NOW) for _ in range(n_transitions)))
    return n_events + n_orders + n_transitions


def analyze():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def floor(sql):
    from django.db import connection

    def run():
        with connection.cursor() as cursor:
            cursor.execute(sql)
            cursor.fetchall()
    return run


def api_get(client, path, params):
    def run():
        response = client.get(path, params)
        assert response.status_code == 200, response.content[:300]
        return response
    return run


YEAR = {"start": (NOW - timedelta(days=365)).date().isoformat(),
        "end": NOW.date().isoformat()}


def time_report(client, group_by="owner"):
    get = api_get(client, "/api/v1/opportunities/report/", {**YEAR, "group_by": group_by})
    get()
    return best_of(get), best_of(floor(
        "SELECT owner_id, count(*), sum(amount) FROM pipeline_opportunity GROUP BY owner_id"))


def time_forecast(client):
    get = api_get(client, "/api/v1/opportunities/forecast/", {})
    get()
    return best_of(get), best_of(floor(
        "SELECT owner_id, count(*), sum(amount) FROM pipeline_opportunity "
        "WHERE status = 'open' GROUP BY owner_id"))


def time_attribution(client):
    """(per request, rebuild of the deal touches, from the deal touches, floor, body): the
    same API before and after `rebuild_deal_touches`, whose answers must be equal."""
    from pipeline.services import deal_touches

    get = api_get(client, "/api/v1/campaigns/attribution/", {**YEAR, "model": "w_shaped"})
    if deal_touches.readable():
        # A --reuse run on a database whose table an earlier run built: dropped, so that
        # both figures and the rebuild are measured as on a fresh load.
        from django.db import connection

        from pipeline.models import DealTouch, DealTouchState

        DealTouchState.objects.all().delete()
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {DealTouch._meta.db_table}")
    assert not deal_touches.readable()
    before = get().json()
    per_request = best_of(get, 2)
    start = time.perf_counter()
    deal_touches.deal_touches_rebuild()
    analyze()
    rebuild = time.perf_counter() - start
    assert deal_touches.readable()
    body = get().json()
    # The deal touches must answer what the per-request statement answered.
    differ = sum(a != b for a, b in zip(body["campaigns"], before["campaigns"], strict=False))
    same = "identical answers" if body == before else (
        f"DIFFERENT answers: {differ} campaigns differ, unattributed "
        f"{body['unattributed']} vs {before['unattributed']}")
    attributed = sum(Decimal(row["attributed_pipeline"]) for row in body["campaigns"])
    assert attributed + Decimal(body["unattributed"]["pipeline"]) == \
        Decimal(body["total_pipeline"]), "conservation"
    touches = floor(
        "SELECT cid, count(*) FROM ("
        "SELECT source AS cid FROM tiers_engagementevent "
        "UNION ALL SELECT i.campaign_id::text FROM programs_programorder o "
        "JOIN programs_programitem i ON i.id = o.item_id "
        "UNION ALL SELECT campaign_id::text FROM funnel_stagetransition) t GROUP BY cid")
    return per_request, rebuild, best_of(get, 3), best_of(touches, 3), body, same


def time_bulk(client, world, n_accounts, n):
    from pipeline.models import Opportunity, OpportunityStage
    from pipeline.services import deal_touches

    proposal = OpportunityStage.objects.get(slug="proposal")
    rng = random.Random(9)
    items, rows = [], []
    for i in range(n):
        account = rng.randint(1, n_accounts)
        opened = NOW - timedelta(days=rng.randint(1, 300))
        amount = Decimal(rng.randint(5, 800) * 100)
        items.append({"external_id": f"bulk-{i}", "account": str(account),
                      "owner": f"bench-rep-{i % N_REPS}", "product": PRODUCTS[i % 7],
                      "stage": "proposal", "amount": str(amount),
                      "opened_at": opened.isoformat(), "close_date": (
                          NOW + timedelta(days=rng.randint(1, 200))).date().isoformat()})
        rows.append(Opportunity(account_id=account, name=f"Bench {i}", external_id=f"bulk-{i}",
                                owner_id=world["reps"][i % N_REPS], product=PRODUCTS[i % 7],
                                amount=amount, currency="USD", stage=proposal, status="open",
                                opened_at=opened, stage_changed_at=opened, version=1))
    start = time.perf_counter()
    for i in range(0, n, 10_000):
        Opportunity.objects.bulk_create(rows[i:i + 10_000])
    bare = time.perf_counter() - start
    Opportunity.objects.filter(external_id__startswith="bulk-").delete()
    # A warm-up request, as the other figures have one: the process's first request loads
    # the URL configuration, the views and the translations (0.3–0.4 s).
    response = client.post("/api/v1/opportunities/bulk/", json.dumps(
        [{**items[0], "external_id": "warm-up"}]), content_type="application/json")
    assert response.status_code == 200, response.content[:300]
    Opportunity.objects.filter(external_id="warm-up").delete()
    deal_touches.deal_touches_refresh_pending()
    start = time.perf_counter()
    created = 0
    for i in range(0, n, 10_000):
        response = client.post("/api/v1/opportunities/bulk/", json.dumps(items[i:i + 10_000]),
                               content_type="application/json")
        assert response.status_code == 200, response.content[:300]
        body = response.json()
        assert not body["errors"], body["errors"][:3]
        created += body["created"]
    api = time.perf_counter() - start
    assert created == n
    # What the loads queued for the worker after their commits (the deals' touch rows),
    # timed here, outside the requests' figure.
    start = time.perf_counter()
    queued = deal_touches.deal_touches_refresh_pending()
    after_commit = time.perf_counter() - start
    return api, bare, queued, after_commit


def _world_ids():
    """The ids setup_world made, read back from a database a --keep run loaded."""
    from django.contrib.auth import get_user_model

    from programs.models import Campaign, ProgramItem
    from tiers.models import EngagementKind

    campaigns = list(Campaign.objects.filter(code__startswith="bench-").order_by("pk"))
    return {"reps": list(get_user_model().objects.filter(username__startswith="bench-rep-")
                         .order_by("pk").values_list("pk", flat=True)),
            "campaigns": [c.pk for c in campaigns], "codes": [c.code for c in campaigns],
            "items": list(ProgramItem.objects.filter(name__startswith="Bench item ")
                          .order_by("pk").values_list("pk", flat=True)),
            "kind": EngagementKind.objects.get(key="bench_demo").pk}


def run(scale, with_2m, *, only=PARTS, group_bys=("owner",), reuse=False):
    from django.db import connection
    from django.test import Client

    from pipeline.models import Opportunity
    from tests.factories import AdminFactory
    from tiers.models import Account

    assert connection.vendor == "postgresql", "run this benchmark on PostgreSQL"
    n_accounts, n_deals = int(100_000 * scale), int(1_000_000 * scale)
    n_touches = int(5_000_000 * scale)
    client = Client(SERVER_NAME="localhost")
    start = time.perf_counter()
    loaded_before = reuse and Account.objects.filter(name__startswith="Bench ").exists()
    if loaded_before:
        assert Account.objects.count() >= n_accounts, "--reuse: loaded at a smaller scale"
        Opportunity.objects.filter(external_id__startswith="bulk-").delete()
        Opportunity.objects.filter(pk__gt=n_deals).delete()
        from django.contrib.auth import get_user_model

        admin = get_user_model().objects.get(username="bench-admin")
        world = _world_ids()
        n_changes = touches = 0
    else:
        admin = AdminFactory(username="bench-admin")
        world = setup_world(n_accounts)
        n_changes = load_deals(world, n_accounts, n_deals, 1)
        touches = load_touches(world, n_accounts, n_touches)
    analyze()
    loaded = time.perf_counter() - start
    client.force_login(admin)
    rows = [("deals", f"{n_deals:,}",
             f"{n_changes:,} stage changes, {touches:,} touches, {n_accounts:,} accounts; "
             + ("reused" if loaded_before else f"loaded in {loaded:.0f} s"))]
    report_1 = None
    if "report" in only:
        for group_by in group_bys:
            report_s, report_floor = time_report(client, group_by)
            name = f"report API ({group_by or 'totals'})"
            rows += [(name, f"{report_s:.3f}", "s, a year"),
                     ("  ÷ floor", f"{report_s / report_floor:.2f}", "aim ≤ 3")]
            if report_1 is None:
                report_1 = report_s
                rows.insert(-2, ("report floor", f"{report_floor:.3f}",
                                 "s, one GROUP BY scan of the deals"))
    if "forecast" in only:
        forecast, forecast_floor = time_forecast(client)
        rows += [
            ("forecast API", f"{forecast:.3f}", "s, 6 months"),
            ("forecast floor", f"{forecast_floor:.3f}",
             "s, one GROUP BY scan of the open deals"),
            ("forecast ÷ floor", f"{forecast / forecast_floor:.2f}", "aim ≤ 3"),
        ]
    if "attribution" in only:
        per_request, rebuild, attribution, touches_floor, body, same = time_attribution(client)
        rows += [
            ("W-shaped attribution API", f"{attribution:.3f}",
             f"s, a year: {body['deals']:,} deals, from the deal touches"),
            ("… per request", f"{per_request:.3f}", f"s, before rebuild_deal_touches: {same}"),
            ("rebuild_deal_touches", f"{rebuild:.1f}",
             "s, every deal (once, and VACUUM ANALYZE)"),
            ("touches floor", f"{touches_floor:.3f}",
             "s, one GROUP BY scan of every touch table"),
            ("attribution ÷ floor", f"{attribution / touches_floor:.2f}", "aim ≤ 5"),
            ("per request ÷ floor", f"{per_request / touches_floor:.2f}", "before"),
        ]
    if "bulk" in only:
        n_bulk = max(2_000, int(50_000 * scale))
        bulk_api, bulk_bare, queued, after_commit = time_bulk(client, world, n_accounts,
                                                              n_bulk)
        rows += [
            ("bulk upsert API", f"{n_bulk / bulk_api:,.0f}", f"deals/s ({n_bulk:,} new)"),
            ("bulk_create floor", f"{n_bulk / bulk_bare:,.0f}", "deals/s"),
            ("bulk API ÷ bulk_create", f"{bulk_bare / bulk_api:.2f}", "aim ≥ 0.3"),
            ("deal touches after commit", f"{after_commit:.2f}",
             f"s, the task's rows of {queued:,} queued deals (not in the figure above)"),
        ]
    if with_2m and report_1 is not None:
        Opportunity.objects.filter(external_id__startswith="bulk-").delete()
        start = time.perf_counter()
        more = load_deals(world, n_accounts, n_deals, n_deals + 1)
        analyze()
        loaded_2 = time.perf_counter() - start
        report_2, report_floor_2 = time_report(client, group_bys[0])
        rows += [
            ("deals (2x)", f"{2 * n_deals:,}", f"+{more:,} stage changes in {loaded_2:.0f} s"),
            ("report API (2x)", f"{report_2:.3f}", "s"),
            ("report floor (2x)", f"{report_floor_2:.3f}", "s"),
            ("report ÷ floor (2x)", f"{report_2 / report_floor_2:.2f}", "aim ≤ 3"),
            ("report 2x ÷ 1x", f"{report_2 / report_1:.2f}", "aim ≤ 2.5"),
        ]
    report(f"Pipeline benchmark (scale {scale})", rows)


if __name__ == "__main__":
    main()
