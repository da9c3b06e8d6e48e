"""Dual-funnel benchmark on PostgreSQL: 100,000 accounts, 300,000 leads and 1,000,000 stage
transitions, then 5,000,000. Prints, as ratios measured in the same run:

- report API time ÷ its floor, the simplest statement reading the transitions once (a
  one-pass `SELECT to_stage_id, count(*) … GROUP BY to_stage_id`), at ~1M and at ~5M
  transitions (aim ≤ 3 each), after checking that the report equals the report computed
  from the history alone (tests/funnel/history_report.py, also timed: what it cost before the
  state rows kept first-reached times);
- report time at 5M ÷ at 1M transitions;
- transitions bulk ingest throughput (POST /api/v1/funnel/transitions/, 10,000 a request)
  ÷ bare `bulk_create` of the same rows (aim ≥ 0.25).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> CELERY_BROKER_URL=redis://… \
        .venv/bin/python bench/funnel.py
    (--scale 0.1 for a tenth of every size)

At 5M the entities stay the same; their histories get longer (lost, reopened, worked again).
"""

import argparse
import json
import random
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from _setup import django_with_test_db, report, teardown

BASE = datetime(2023, 1, 1, tzinfo=UTC)
CHANNELS = ["events", "website", "outbound", "syndication", "paid_media", "partners"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--skip-5m", action="store_true")
    args = parser.parse_args()
    db = django_with_test_db()
    try:
        run(args.scale, not args.skip_5m)
    finally:
        teardown(db)


def journey(rng, path, lost_id, cycles, p_next):
    """[(from, to, at, amount, reopen)] of one entity: `cycles` walks down `path`, each but
    the last ending lost and the next one reopening it."""
    at = BASE + timedelta(days=rng.random() * 700)
    moves, current = [], None
    for cycle in range(cycles):
        if cycle == 0:
            index = 0
            moves.append((None, path[0], at, None, False))
        else:
            index = 1
            at += timedelta(days=rng.random() * 20 + 1)
            moves.append((current, path[1], at, None, True))
        current = path[index]
        while index + 1 < len(path) and rng.random() < p_next:
            index = min(len(path) - 1, index + rng.choice((1, 1, 1, 2)))
            at += timedelta(days=rng.random() * 30 + 0.5)
            amount = Decimal(rng.randint(1, 80) * 1000) if index >= len(path) - 2 else None
            moves.append((current, path[index], at, amount, False))
            current = path[index]
        if cycle + 1 < cycles or (rng.random() < 0.35 and index + 1 < len(path)):
            at += timedelta(days=rng.random() * 10 + 0.5)
            moves.append((current, lost_id, at, None, False))
            current = lost_id
    return moves


def load(n_accounts, n_leads, cycles):
    """Create the entities and COPY their histories; returns the number of transitions."""
    from django.db import connection

    from funnel import selectors, services
    from funnel.models import AccountFunnel, Lead, StageTransition
    from tiers.models import Account

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE funnel_stagetransition, funnel_accountfunnel, funnel_lead, "
                       "tiers_account RESTART IDENTITY CASCADE")
    stages = selectors.stage_map()
    lost = stages["lost"].pk
    abm = [s.pk for s in selectors.side_path("abm")]
    dg = [s.pk for s in selectors.side_path("demand_gen")]
    tiers = list(__import__("tiers.models", fromlist=["Tier"]).Tier.objects.values_list(
        "pk", flat=True))

    Account.objects.bulk_create(
        [Account(id=i, name=f"Bench {i}", domain=f"b{i}.example.com",
                 tier_id=tiers[i % len(tiers)] if i % 4 else None)
         for i in range(1, n_accounts + 1)], batch_size=1000)
    total = 0
    # Final states first (same seeds as the COPY pass below).
    states = []
    for i in range(1, n_accounts + 1):
        moves = journey(random.Random(i), abm, lost, cycles, 0.7)
        states.append(AccountFunnel(
            account_id=i, stage_id=moves[-1][1], previous_stage_id=moves[-1][0],
            entered_at=moves[0][2], stage_changed_at=moves[-1][2], version=len(moves),
            entry_channel=CHANNELS[i % 6]))
    AccountFunnel.objects.bulk_create(states, batch_size=5000)
    states = []
    for i in range(1, n_leads + 1):
        moves = journey(random.Random(-i), dg, lost, cycles, 0.45)
        states.append(Lead(
            id=i, email=f"l{i}@leads.example.org", created_at=moves[0][2],
            account_id=(i % n_accounts) + 1 if i % 5 == 0 else None,
            channel=CHANNELS[(i * 7) % 6], stage_id=moves[-1][1],
            previous_stage_id=moves[-1][0], entered_at=moves[0][2],
            stage_changed_at=moves[-1][2], version=len(moves)))
        if len(states) == 20000:
            Lead.objects.bulk_create(states)
            states = []
    Lead.objects.bulk_create(states)
    now = datetime.now(UTC)
    raw = connection.connection
    columns = ("account_id, lead_id, from_stage_id, to_stage_id, occurred_at, channel, "
               "amount, is_reopen, created_at")
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY {StageTransition._meta.db_table} ({columns}) FROM STDIN") as cp:
            for i in range(1, n_accounts + 1):
                for n, (frm, to, at, amount, reopen) in enumerate(
                        journey(random.Random(i), abm, lost, cycles, 0.7)):
                    cp.write_row((i, None, frm, to, at, CHANNELS[i % 6] if n == 0 else "",
                                  amount, reopen, now))
                    total += 1
            for i in range(1, n_leads + 1):
                for n, (frm, to, at, amount, reopen) in enumerate(
                        journey(random.Random(-i), dg, lost, cycles, 0.45)):
                    cp.write_row((None, i, frm, to, at,
                                  CHANNELS[(i * 7) % 6] if n == 0 else "", amount, reopen, now))
                    total += 1
    with connection.cursor() as cursor:
        for table in ("tiers_account", "funnel_lead", "funnel_stagetransition"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                           f"(SELECT COALESCE(MAX(id), 1) FROM {table}))")
    # History loaded by COPY, around the transition service: the state rows' first-reached
    # columns come from the rebuild (what `manage.py rebuild_funnel_state` runs).
    start = time.perf_counter()
    services.funnel_state_rebuild()
    rebuild = time.perf_counter() - start
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return total, rebuild


def best_of(fn, times=3):
    best = None
    for _ in range(times):
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return best


REPORT_PARAMS = {"start": "2023-01-01", "end": "2025-12-31", "mode": "cohort",
                 "group_by": "channel"}


PERIOD_PARAMS = {"start": "2024-10-01", "end": "2024-12-31", "mode": "period",
                 "group_by": "channel"}


def time_report(client, params=REPORT_PARAMS):
    """(report API s, floor s, history-based report s); asserts that the report equals the
    one computed from the history."""
    from django.db import connection

    from funnel import reports
    from funnel.models import StageTransition
    from funnel.views import report_query
    from tests.funnel.history_report import history_report

    def api():
        response = client.get("/api/v1/funnel/report/", params)
        assert response.status_code == 200, response.content[:300]

    query = report_query(params)
    transitions = StageTransition._meta.db_table

    def floor():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT to_stage_id, count(*) FROM {transitions} "
                           "GROUP BY to_stage_id")
            cursor.fetchall()

    start = time.perf_counter()
    reference = history_report(query)
    history = time.perf_counter() - start
    assert reports.funnel_report(query) == reference, "the report differs from the history's"
    api()  # warm caches
    return best_of(api), best_of(floor), history


def time_ingest(client, n):
    """n valid moves (each lead at a non-terminal stage → its next stage). The outbox
    dispatch each request's commit queues is a worker's task: it is queued on the broker, not
    run in the request (as in bench/accounts.py), and the queue is emptied afterwards."""
    from abmcrm.celery import app
    from funnel import selectors
    from funnel.models import Lead, StageTransition

    dg = selectors.side_path("demand_gen")
    order = {s.pk: i for i, s in enumerate(dg)}
    leads = list(Lead.objects.filter(stage_id__in=[s.pk for s in dg[:-1]])
                 .order_by("id").values_list("id", "stage_id", "stage_changed_at")[:n])
    items = [{"lead": str(pk), "to_stage": dg[order[stage] + 1].slug,
              "occurred_at": (at + timedelta(days=1)).isoformat(),
              "external_id": f"bench-{pk}"} for pk, stage, at in leads]
    # The floor: bare bulk_create of the same rows, in the same batches, then removed.
    rows = [StageTransition(lead_id=pk, from_stage_id=stage,
                            to_stage_id=dg[order[stage] + 1].pk,
                            occurred_at=at + timedelta(days=1), external_id=f"bench-{pk}")
            for pk, stage, at in leads]
    start = time.perf_counter()
    for i in range(0, len(rows), 10_000):
        StageTransition.objects.bulk_create(rows[i:i + 10_000])
    bare = time.perf_counter() - start
    StageTransition.objects.filter(external_id__startswith="bench-").delete()
    app.conf.task_always_eager = False
    try:
        start = time.perf_counter()
        created = 0
        for i in range(0, len(items), 10_000):
            response = client.post("/api/v1/funnel/transitions/",
                                   json.dumps(items[i:i + 10_000]),
                                   content_type="application/json")
            assert response.status_code == 200, response.content[:300]
            body = response.json()
            assert not body["errors"], body["errors"][:3]
            created += body["created"]
        api = time.perf_counter() - start
    finally:
        app.conf.task_always_eager = True
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge("celery")
    assert created == len(items)
    return len(items), api, bare


def run(scale, with_5m):
    from django.db import connection
    from django.test import Client

    from tests.factories import AdminFactory

    assert connection.vendor == "postgresql", "run this benchmark on PostgreSQL"
    n_accounts, n_leads = int(100_000 * scale), int(300_000 * scale)
    admin = AdminFactory(username="bench-admin")
    client = Client(SERVER_NAME="localhost")
    client.force_login(admin)

    rows = []
    start = time.perf_counter()
    total_1, rebuild_1 = load(n_accounts, n_leads, 1)
    load_1 = time.perf_counter() - start
    api_1, floor_1, history_1 = time_report(client)
    period_1, period_floor_1, period_history_1 = time_report(client, PERIOD_PARAMS)
    n_ingest = max(2_000, int(50_000 * scale))
    n, ingest_api, ingest_bare = time_ingest(client, n_ingest)
    rows += [
        ("entities", f"{n_accounts + n_leads:,}", f"{n_accounts:,} accounts, {n_leads:,} leads"),
        ("transitions (1x)", f"{total_1:,}", f"loaded in {load_1:.0f} s"),
        ("rebuild from history (1x)", f"{rebuild_1:.3f}", "s, rebuild_funnel_state"),
        ("report API (1x)", f"{api_1:.3f}", "s, cohort, all time, group_by=channel; "
         "equal to the history's"),
        ("count scan floor (1x)", f"{floor_1:.3f}", "s, SELECT to_stage_id, count(*) … GROUP BY"),
        ("report API ÷ floor (1x)", f"{api_1 / floor_1:.2f}", "aim ≤ 3"),
        ("history-based report (1x)", f"{history_1:.3f}",
         f"s, the report from history alone (before): {history_1 / floor_1:.1f}× the floor"),
        ("period report API (1x)", f"{period_1:.3f}",
         f"s, a quarter, group_by=channel: {period_1 / period_floor_1:.2f}× the floor "
         f"(history-based: {period_history_1:.3f} s)"),
        ("ingest API", f"{n / ingest_api:,.0f}", f"transitions/s ({n:,} in 10k requests)"),
        ("ingest bulk_create floor", f"{n / ingest_bare:,.0f}", "transitions/s"),
        ("ingest API ÷ bulk_create", f"{ingest_bare / ingest_api:.2f}", "aim ≥ 0.25"),
    ]
    if with_5m:
        start = time.perf_counter()
        total_5, rebuild_5 = load(n_accounts, n_leads, 4)
        load_5 = time.perf_counter() - start
        api_5, floor_5, history_5 = time_report(client)
        rows += [
            ("transitions (5x)", f"{total_5:,}", f"loaded in {load_5:.0f} s"),
            ("rebuild from history (5x)", f"{rebuild_5:.3f}", "s"),
            ("report API (5x)", f"{api_5:.3f}", "s; equal to the history's"),
            ("count scan floor (5x)", f"{floor_5:.3f}", "s"),
            ("report API ÷ floor (5x)", f"{api_5 / floor_5:.2f}", "aim ≤ 3"),
            ("history-based report (5x)", f"{history_5:.3f}",
             f"s (before): {history_5 / floor_5:.1f}× the floor"),
            ("report 5x ÷ 1x", f"{api_5 / api_1:.2f}",
             f"transitions ×{total_5 / total_1:.1f}, entities the same"),
        ]
    report(f"Dual funnel benchmark (scale {scale})", rows)


if __name__ == "__main__":
    main()
