"""Outbound webhooks on PostgreSQL and Redis, with the receiver (tests/webhook_receiver.py) in
this process.

1. Delivery throughput: N events (one per account, so every queue can be in flight), the
   receiver answering after 50 ms, one real Celery worker (prefork, concurrency 8) doing the
   whole path: the outbox dispatch (fan-out into N deliveries), then the signed POSTs.
   Deliveries per second between the 10th and the 90th percentile of the delivery times ÷
   the ceiling 8 ÷ 0.05 s = 160/s (aim ≥ 0.7).
2. Outbox write overhead: a full recompute that changes the tier of 10,000 accounts, with
   one active subscription (its 10,000 `account.tier_changed` events written in the
   recompute's transactions) ÷ the same recompute with the outbox switched off (aim ≤ 1.2).
   Also shown: the same with the outbox but no subscription, and the fan-out of the 10,000
   events into deliveries (in the worker, after the commit, not part of the recompute).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> \
    CELERY_BROKER_URL=redis://127.0.0.1:6379/<n> .venv/bin/python bench/webhooks.py
    (--scale 0.2 for a quick run; the throw-away database test_<db> is created and dropped)
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

from abmcrm.celery import app  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--only", choices=["throughput", "overhead"],
                        help="run one of the two measures")
    args = parser.parse_args()
    if not os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"):
        sys.exit("Set CELERY_BROKER_URL=redis://… (the benchmark measures the Redis broker).")

    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import setup_databases, teardown_databases

    from tests.webhook_receiver import Receiver

    settings.DEBUG = False
    db = setup_databases(verbosity=0, interactive=False)
    app.conf.task_always_eager = False
    receiver = Receiver(delay=0.05).start()
    try:
        if args.only != "overhead":
            n = max(200, int(args.events * args.scale))
            rate, cpu = throughput(receiver, n, args.concurrency)
            ceiling = args.concurrency / 0.05
            print(f"\nWebhook deliveries: {n} events on {n} accounts, one worker, prefork × "
                  f"{args.concurrency}, Redis broker, receiver answering after 50 ms")
            print(f"  delivered/s                                   {rate:8.1f} /s")
            print(f"  ceiling {args.concurrency} ÷ 0.05 s                             "
                  f"{ceiling:8.1f} /s")
            print(f"  ratio (aim ≥ 0.7)                             {rate / ceiling:8.2f}")
            print(f"  worker CPU per delivery (all processes)       {cpu * 1000:8.2f} ms",
                  flush=True)
        if args.only != "throughput":
            overhead = recompute_overhead(receiver,
                                          max(1000, int(args.accounts * args.scale)))
            print_overhead(overhead)
    finally:
        receiver.stop()
        teardown_databases(db, verbosity=0)


def print_overhead(overhead):
    accounts = overhead["accounts"]
    print(f"\nOutbox overhead: full recompute changing {accounts:,} tiers (best of 3 each)")
    print(f"  outbox off (floor)                            {overhead['off']:8.2f} s")
    print(f"  outbox on, no subscription                    {overhead['none']:8.2f} s")
    print(f"  outbox on, one active subscription            {overhead['one']:8.2f} s")
    print(f"  ratio one subscription ÷ outbox off (aim ≤ 1.2) "
          f"{overhead['one'] / overhead['off']:6.2f}")
    print(f"  ratio one subscription ÷ no subscription      "
          f"{overhead['one'] / overhead['none']:8.2f}")
    print(f"  fan-out of the {accounts:,} events into deliveries (after commit) "
          f"{overhead['fanout']:6.2f} s")


class Worker:
    def __init__(self, concurrency, log):
        from django.db import connection

        self.concurrency, self.log = concurrency, log
        self.db_name = connection.settings_dict["NAME"]

    def __enter__(self):
        import subprocess

        env = {**os.environ, "ABMCRM_TEST_DB_NAME": self.db_name, "PYTHONPATH": str(ROOT)}
        self.handle = open(self.log, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "abmcrm", "worker", "--pool", "prefork",
             "--concurrency", str(self.concurrency), "--loglevel", "WARNING",
             "--without-gossip", "--without-mingle", "--without-heartbeat",
             "--hostname", f"benchwh{os.getpid()}@%h"],
            cwd=ROOT, env=env, stdout=self.handle, stderr=subprocess.STDOUT)
        return self

    def cpu_seconds(self):
        """CPU time (user + system) of the worker and every process under it so far."""
        tick = os.sysconf("SC_CLK_TCK")
        stats = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    # After the "(name)" field: state, ppid, …; utime and stime are 14th, 15th.
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                stats[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
        tree, total = {self.process.pid}, 0
        while True:
            grown = {pid for pid, (ppid, _) in stats.items() if ppid in tree} - tree
            if not grown:
                break
            tree |= grown
        for pid in tree:
            total += stats.get(pid, (0, 0))[1]
        return total / tick

    def __exit__(self, *exc):
        import subprocess

        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.handle.close()


def purge():
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("celery")


def wait_until(done, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return
        time.sleep(0.25)
    raise SystemExit(f"timed out waiting for {what}")


def middle_rate(times):
    times = sorted(times)
    lo, hi = int(len(times) * 0.1), int(len(times) * 0.9)
    return (hi - lo) / (times[hi] - times[lo])


def throughput(receiver, n, concurrency):
    from django.db import transaction

    from abmcrm.core import outbox
    from webhooks.models import WebhookDelivery, WebhookSubscription

    purge()
    subscription = WebhookSubscription.objects.create(
        url=receiver.url, secret="bench-secret-0123456789", events=[outbox.ACCOUNT_ENGAGED])
    with transaction.atomic():  # the commit queues the outbox dispatch (on Redis)
        outbox.emit_many(outbox.ACCOUNT_ENGAGED, [(pk, {"n": pk}) for pk in range(1, n + 1)])
    delivered = WebhookDelivery.objects.filter(subscription=subscription, status="delivered")
    with Worker(concurrency, "/tmp/abmcrm-bench-webhooks-worker.log") as worker:
        # The worker's start (imports, forking the pool) is not the deliveries' work.
        wait_until(lambda: WebhookDelivery.objects.filter(subscription=subscription).exists(),
                   timeout=120, what="the fan-out")
        started = worker.cpu_seconds()
        wait_until(lambda: delivered.count() == n, timeout=120 + n / 20,
                   what=f"{n} deliveries")
        cpu = worker.cpu_seconds() - started
    times = [at.timestamp() for at in delivered.values_list("delivered_at", flat=True)]
    assert receiver.count() >= n
    subscription.delete()
    return middle_rate(times), cpu / n


def build_accounts(count):
    from tiers.models import Account, Tier, TierRule

    TierRule.objects.update(is_active=False)
    TierRule.objects.create(name="Bench: everyone", tier=Tier.objects.get(number=1),
                            priority=1)
    Account.objects.bulk_create([
        Account(name=f"Bench {i}", domain=f"bench-{i}.example.com", industry="software",
                country="United States", estimated_acv=50_000)
        for i in range(count)], batch_size=1000)  # PostgreSQL binds at most 65,535 values


def untier():
    from abmcrm.core.models import OutboxEvent
    from tiers.models import Account, TierAssignment

    Account.objects.update(tier=None, tier_rule=None)
    TierAssignment.objects.all().delete()
    OutboxEvent.objects.all().delete()


def timed_recompute(count):
    from tiers import services

    untier()
    started = time.perf_counter()
    result = services.tiers_recompute()
    elapsed = time.perf_counter() - started
    assert result.tier_changes == count, result.as_dict()
    return elapsed


def recompute_overhead(receiver, count):
    from abmcrm.core import outbox
    from webhooks.models import WebhookSubscription

    purge()
    build_accounts(count)
    timed_recompute(count)  # warm-up: scores written, accounts enter the funnel
    real = outbox.emit_many

    def off(*args, **kwargs):
        return 0

    times = {"off": [], "none": [], "one": []}

    def measure(kind):
        outbox.emit_many = off if kind == "off" else real
        subscription = None
        if kind == "one":
            subscription = WebhookSubscription.objects.create(
                url=receiver.url, secret="bench-secret-0123456789",
                events=[outbox.ACCOUNT_TIER_CHANGED])
        times[kind].append(timed_recompute(count))
        outbox.emit_many = real
        if subscription is not None:
            subscription.delete()

    # Best of three, each round in another order: a later run in a round profits from the
    # caches the earlier ones warmed, and the machine's noise is large.
    for order in (("off", "none", "one"), ("one", "off", "none"), ("none", "one", "off")):
        for kind in order:
            measure(kind)
    purge()  # the dispatch tasks the commits queued: no worker runs them here
    # The fan-out of the last run's events, as the worker's dispatch task runs it.
    WebhookSubscription.objects.create(
        url=receiver.url, secret="bench-secret-0123456789",
        events=[outbox.ACCOUNT_TIER_CHANGED])
    untier()
    timed_recompute(count)
    purge()
    started = time.perf_counter()
    outbox.dispatch()
    fanout = time.perf_counter() - started
    purge()
    return {"accounts": count, "fanout": fanout, **{k: min(v) for k, v in times.items()}}


if __name__ == "__main__":
    main()
