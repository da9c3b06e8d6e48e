"""Benchmark of scoring and tiering on PostgreSQL.

    DATABASE_URL=postgres://… CELERY_BROKER_URL=redis://… .venv/bin/python bench/tiering.py
    … bench/tiering.py --scale 0.1      # 10,000 accounts, 100,000 events, 30,000 signals

Builds synthetic data in a throw-away database (test_<name>, created and dropped here):
100,000 accounts, 1,000,000 engagement events and 300,000 intent signals at scale 1. Prints:
- full recompute time ÷ the single raw SQL aggregate query computing the same three scores
  (the floor), for a first run (every account written, tiers assigned) and a steady-state run;
- peak memory (max RSS) of the recompute process, and against a bare Django process;
- incremental path: seconds from one bulk POST of 1,000 events until a real worker has
  rescored and retiered the affected accounts, against the in-process recompute of them;
- ingest throughput of the events bulk endpoint ÷ bare bulk_create of the same rows.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "abmcrm.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

CHILD = r"""
import json, os, sys, time
sys.path.insert(0, os.environ["BENCH_ROOT"])
import django
django.setup()
from tiers import services
started = time.perf_counter()
result = services.tiers_recompute() if os.environ.get("BENCH_RUN") == "recompute" else None
elapsed = time.perf_counter() - started
# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so it would include the parent.
hwm = next(int(line.split()[1]) for line in open("/proc/self/status")
           if line.startswith("VmHWM"))
print(json.dumps({"seconds": elapsed, "max_rss_mb": hwm / 1024,
                  "result": result.as_dict() if result else None}))
"""


def child_env(db_name):
    env = dict(os.environ)
    url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + db_name
    env.update(DATABASE_URL=url, BENCH_ROOT=str(ROOT), PYTHONPATH=str(ROOT),
               DJANGO_SETTINGS_MODULE="abmcrm.settings", DJANGO_DEBUG="1")
    return env


def run_child(db_name, what):
    env = child_env(db_name)
    env["BENCH_RUN"] = what
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, cwd=ROOT, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def build(n_accounts, n_events, n_signals):
    from tiers.models import EngagementKind, IcpCriterion, IcpProfile

    now = timezone.now()
    with connection.cursor() as cur:
        cur.execute("""
            INSERT INTO tiers_account (name, domain, industry, country, region, employees,
                annual_revenue, funding_stage, customer_count, maturity, estimated_acv,
                is_customer, renewal_count, fit_score, intent_score, engagement_score,
                surging_topics, has_recent_intent, has_recent_engagement, tier_locked,
                created_at, updated_at)
            SELECT 'Bench ' || g, 'bench' || g || '.example', (ARRAY['software','finance',
                'retail','medical','telecommunications'])[1 + g %% 5],
                (ARRAY['United States','Germany','France','Japan'])[1 + g %% 4],
                (ARRAY['North America','EMEA','EMEA','APAC'])[1 + g %% 4],
                (50 + (g * 7919) %% 5000), (1000000 + (g::bigint * 104729) %% 90000000),
                (ARRAY['seed','series_a','series_b','public'])[1 + g %% 4],
                (g * 31) %% 20000, 'mature', (ARRAY[8000,20000,40000,60000,120000])[1 + g %% 5],
                g %% 17 = 0, g %% 3, 0, 0, 0, '[]'::jsonb, false, false, false, now(), now()
            FROM generate_series(1, %s) g""", [n_accounts])
        cur.execute("SELECT min(id) FROM tiers_account")
        first = cur.fetchone()[0]
        cur.execute("""INSERT INTO tiers_technology (name, slug) VALUES
            ('Salesforce','salesforce'), ('HubSpot','hubspot'), ('SAP ERP','sap-erp')""")
        cur.execute("""INSERT INTO tiers_account_technologies (account_id, technology_id)
            SELECT a.id, t.id FROM tiers_account a JOIN tiers_technology t
            ON (a.id + t.id) % 3 = 0""")
        cur.execute("""
            INSERT INTO tiers_intentsignal (account_id, topic, score, source, week, created_at,
                                            updated_at)
            SELECT %(first)s + (g %% %(n)s), (ARRAY['abm','crm','cdp','intent','sales',
                'analytics','automation','demand'])[1 + ((g / %(n)s) * 3 + g) %% 8],
                (g * 2654435761 %% 101)::int, 'bombora',
                date_trunc('week', %(now)s::date)::date
                    - (((g / %(n)s) * 5 + g %% 5) * 7),
                now(), now()
            FROM generate_series(0, %(s)s - 1) g""",
                    {"first": first, "n": n_accounts, "s": n_signals, "now": now.date()})
        kinds = list(EngagementKind.objects.order_by("pk").values_list("pk", flat=True))
        cur.execute("""
            INSERT INTO tiers_engagementevent (account_id, kind_id, occurred_at, source,
                dedupe_key, created_at)
            SELECT %(first)s + (g * 7 %% %(n)s), (%(kinds)s::bigint[])[1 + (g * 13) %% %(k)s],
                %(now)s::timestamptz - ((g::bigint * 48271 %% 10368000) || ' seconds')::interval,
                'bench', 'b:' || g, now()
            FROM generate_series(1, %(e)s) g""",
                    {"first": first, "n": n_accounts, "e": n_events, "now": now,
                     "kinds": kinds, "k": len(kinds)})
        cur.execute("ANALYZE")
    profile = IcpProfile.objects.create(name="Bench ICP", is_active=True)
    for attribute, limits, weight in [
        ("industry", {"values": ["software", "finance", "medical"]}, 3),
        ("employees", {"min_value": 200}, 2),
        ("annual_revenue", {"min_value": 5_000_000}, 2),
        ("technology", {"values": ["Salesforce", "HubSpot"]}, 2),
        ("region", {"values": ["North America", "EMEA"]}, 1),
    ]:
        IcpCriterion.objects.create(profile=profile, attribute=attribute, weight=weight,
                                    **limits)
    return first


def floor_query():
    """The three scores in one raw SQL aggregate query (what the recompute computes)."""
    from tiers import scoring
    from tiers.models import Account

    windows = scoring.Windows.at(timezone.now())
    _, criteria = scoring.active_criteria()
    fit_sql, fit_params = (Account.objects.annotate(points=scoring.fit_points_expression(
        criteria)).order_by().values("id", "points").query.sql_with_params())
    sql = f"""
        WITH f AS ({fit_sql}),
        e AS (
            SELECT ev.account_id,
                   SUM(k.weight * power(0.5, GREATEST(0, %s - EXTRACT(EPOCH FROM
                       ev.occurred_at)::double precision) / %s)) AS raw,
                   MAX(CASE WHEN ev.occurred_at >= %s THEN ev.occurred_at END) AS last
            FROM tiers_engagementevent ev JOIN tiers_engagementkind k ON k.id = ev.kind_id
            WHERE ev.occurred_at >= %s AND k.weight > 0 GROUP BY ev.account_id),
        t AS (
            SELECT account_id, topic, AVG(score) FILTER (WHERE week >= %s) AS recent,
                   AVG(score) FILTER (WHERE week < %s) AS base
            FROM tiers_intentsignal WHERE week >= %s AND week <= %s
            GROUP BY account_id, topic),
        i AS (
            SELECT account_id, MAX(recent) AS intent,
                   array_agg(topic ORDER BY recent DESC, topic)
                       FILTER (WHERE recent >= %s AND recent > COALESCE(base, 0)) AS surging
            FROM t WHERE recent IS NOT NULL GROUP BY account_id)
        SELECT f.id, round(100.0 * f.points / NULLIF(%s, 0)), LEAST(100, round(i.intent)),
               i.surging, LEAST(100, round(e.raw)), e.last IS NOT NULL
        FROM f LEFT JOIN e ON e.account_id = f.id LEFT JOIN i ON i.account_id = f.id"""
    params = [*fit_params, windows.now.timestamp(), windows.half_life_seconds,
              windows.engagement_recent_start, windows.engagement_start,
              windows.intent_recent_start, windows.intent_recent_start,
              windows.intent_baseline_start, windows.intent_end, windows.threshold,
              sum(c.weight for c in criteria)]
    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    return time.perf_counter() - started, len(rows)


def incremental(db_name, first, n_accounts):
    """One bulk POST of 1,000 events; seconds until a real worker has rescored and retiered
    the affected accounts."""
    from rest_framework.test import APIClient

    from tests import factories
    from tiers.models import Account

    admin = factories.AdminFactory(username="bench-admin")
    client = APIClient()
    client.force_authenticate(admin)
    log = Path(f"/tmp/bench-tiering-worker-{os.getpid()}.log")
    from abmcrm.celery import app

    with app.connection_for_write() as conn:  # no stale tasks from earlier runs
        conn.default_channel.queue_purge("celery")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "abmcrm", "worker", "--pool", "threads",
         "--concurrency", "2", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
         "--without-heartbeat", "--hostname", f"bench{os.getpid()}@%h"],
        cwd=ROOT, env=child_env(db_name), stdout=open(log, "wb"), stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while b"ready." not in log.read_bytes():
            if time.monotonic() > deadline or worker.poll() is not None:
                raise RuntimeError(log.read_text()[-2000:])
            time.sleep(0.2)
        ids = [first + (i * 97) % n_accounts for i in range(1000)]
        now = timezone.now()
        items = [{"account": pk, "kind": "demo_request", "external_id": f"inc-{i}",
                  "occurred_at": (now - timedelta(minutes=i)).isoformat()}
                 for i, pk in enumerate(ids)]
        started = time.perf_counter()
        response = client.post("/api/v1/engagement-events/bulk/", items, format="json")
        assert response.status_code == 200 and response.json()["created"] == 1000, \
            response.content[:500]
        posted = time.perf_counter() - started
        # Done when the task has succeeded (tiers are placed after the scores, in the same
        # task) and every affected account shows its new engagement.
        while b"succeeded" not in log.read_bytes() or Account.objects.filter(
                pk__in=ids, has_recent_engagement=True).count() < len(set(ids)):
            if time.perf_counter() - started > 120:
                raise RuntimeError("worker did not finish: " + log.read_text()[-2000:])
            time.sleep(0.02)
        seconds = time.perf_counter() - started
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(timeout=30)
    from tiers import services

    started = time.perf_counter()
    services.tiers_recompute(account_ids=ids)
    in_process = time.perf_counter() - started
    return seconds, posted, in_process


def ingest(first, n_accounts, rows=10_000):
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    from tiers.models import EngagementEvent, EngagementKind
    from tiers.services import engagement_dedupe_key

    admin = get_user_model().objects.get(username="bench-admin")
    client = APIClient()
    client.force_authenticate(admin)
    now = timezone.now()
    items = [{"account": first + (i * 31) % n_accounts, "kind": "content_download",
              "occurred_at": (now - timedelta(seconds=i)).isoformat(), "source": "bench",
              "external_id": f"ingest-{i}"} for i in range(rows)]
    started = time.perf_counter()
    response = client.post("/api/v1/engagement-events/bulk/", items, format="json")
    endpoint = time.perf_counter() - started
    assert response.json()["created"] == rows
    kind = EngagementKind.objects.get(key="content_download")
    objects = [EngagementEvent(account_id=first + (i * 31) % n_accounts, kind=kind,
                               occurred_at=now - timedelta(seconds=i), source="bench",
                               external_id=f"bare-{i}",
                               dedupe_key=engagement_dedupe_key(
                                   account_id=0, kind_key="", occurred_at=now, contact_id=None,
                                   source="", external_id=f"bare-{i}"))
               for i in range(rows)]
    started = time.perf_counter()
    EngagementEvent.objects.bulk_create(objects, batch_size=1000)
    bare = time.perf_counter() - started
    return endpoint, bare


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--keep", action="store_true", help="Keep the bench database.")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run on PostgreSQL: set DATABASE_URL=postgres://…")
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        print("note: CELERY_BROKER_URL unset; the worker uses the filesystem broker")
    n_accounts = int(100_000 * args.scale)
    n_events = int(1_000_000 * args.scale)
    n_signals = int(300_000 * args.scale)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    from abmcrm.celery import app

    app.conf.task_always_eager = False
    db_name = connection.creation.create_test_db(verbosity=0, autoclobber=True,
                                                 keepdb=False)
    try:
        print(f"data: {n_accounts:,} accounts, {n_events:,} engagement events, "
              f"{n_signals:,} intent signals (scale {args.scale})")
        started = time.perf_counter()
        first = build(n_accounts, n_events, n_signals)
        print(f"built in {time.perf_counter() - started:.1f} s")
        connection.close()

        floor, rows = floor_query()
        floor2, _ = floor_query()
        floor = min(floor, floor2)
        bare = run_child(db_name, "nothing")
        run1 = run_child(db_name, "recompute")
        run2 = run_child(db_name, "recompute")
        print(f"floor: raw SQL aggregate of the three scores over {rows:,} accounts: "
              f"{floor:.2f} s")
        print(f"full recompute, first run (all written; {run1['result']['tier_changes']:,} "
              f"tier changes): {run1['seconds']:.2f} s = {run1['seconds'] / floor:.2f} × floor "
              f"(aim ≤ 3)")
        print(f"full recompute, steady state ({run2['result']['scores_changed']:,} changed): "
              f"{run2['seconds']:.2f} s = {run2['seconds'] / floor:.2f} × floor (aim ≤ 3)")
        peak = max(run1["max_rss_mb"], run2["max_rss_mb"])
        print(f"peak memory of the recompute process: {peak:.0f} MB = {peak / 300:.2f} × the "
              f"300 MB aim; {peak / bare['max_rss_mb']:.2f} × a bare Django process "
              f"({bare['max_rss_mb']:.0f} MB)")
        seconds, posted, in_process = incremental(db_name, first, n_accounts)
        print(f"incremental: bulk POST of 1,000 events → worker rescored and retiered them in "
              f"{seconds:.2f} s = {seconds / 5:.2f} × the 5 s aim (POST {posted:.2f} s; "
              f"in-process recompute of those accounts {in_process:.2f} s = floor, "
              f"{seconds / in_process:.2f} ×)")
        endpoint, bare_create = ingest(first, n_accounts)
        print(f"ingest: events bulk endpoint {10_000 / endpoint:,.0f} rows/s vs bare "
              f"bulk_create {10_000 / bare_create:,.0f} rows/s = "
              f"{bare_create / endpoint:.2f} (aim ≥ 0.25)")
    finally:
        connection.close()
        if not args.keep:
            connection.creation.destroy_test_db(db_name, verbosity=0)
    print(f"bench process peak memory: "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
