"""Fulfillment throughput through a real Celery worker (prefork pool, Celery's default, at
concurrency 8; `--pool threads` for the thread pool) on Redis, against the fake provider
(tests/fake_provider.py) in this process.

1. Provider answering in 50 ms: orders fulfilled per second ÷ the ceiling 8 ÷ 0.05 s =
   160/s (aim ≥ 0.7).
2. Provider answering at once: fulfillment throughput ÷ the throughput of a no-op task
   (it appends a timestamp to a Redis list) on the same worker (aim ≥ 0.3).

Each phase fills the queue first (approving the orders publishes their send tasks), then
starts the worker; the rate is measured between the 10th and the 90th percentile of the
completion times, so worker start-up and the tail don't count. Orders use the ad_audience
provider, which completes in one call (order approved → fulfilled, the rep e-mailed once).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> \
    CELERY_BROKER_URL=redis://127.0.0.1:6379/<n> .venv/bin/python bench/fulfillment.py
    (--scale 0.25 for a quick run; the throw-away database test_<db> is created and dropped)
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

from abmcrm.celery import app  # noqa: E402

NOOP_KEY = "abmcrm-bench-noop"


@app.task(name="bench.noop", ignore_result=True)
def noop():
    """The floor: a task that only records that it ran."""
    _redis().rpush(NOOP_KEY, time.time())


def _redis():
    import redis

    return redis.Redis.from_url(app.conf.broker_url)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--pool", default="prefork", choices=["threads", "prefork"])
    args = parser.parse_args()
    if not os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"):
        sys.exit("Set CELERY_BROKER_URL=redis://… (the benchmark measures the Redis broker).")
    n = max(100, int(args.orders * args.scale))

    from tests.fake_provider import FakeProvider

    fake = FakeProvider().start()
    os.environ["ABMCRM_TEST_PROVIDER_URL"] = fake.url

    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import setup_databases, teardown_databases

    settings.DEBUG = False
    db = setup_databases(verbosity=0, interactive=False)
    app.conf.task_always_eager = False
    try:
        run(fake, n, args.concurrency, args.pool)
    finally:
        teardown_databases(db, verbosity=0)
        fake.stop()


class Worker:
    pool = "prefork"

    def __init__(self, concurrency, log):
        from django.db import connection

        self.concurrency, self.log = concurrency, log
        self.db_name = connection.settings_dict["NAME"]

    def __enter__(self):
        env = {**os.environ, "ABMCRM_TEST_DB_NAME": self.db_name,
               "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'bench'}"}
        self.handle = open(self.log, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "abmcrm", "worker", "-I", "fulfillment",
             "--pool", self.pool, "--concurrency", str(self.concurrency), "--loglevel",
             "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "--hostname", f"bench{os.getpid()}@%h"],
            cwd=ROOT, env=env, stdout=self.handle, stderr=subprocess.STDOUT,
        )
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.handle.close()


def wait_until(done, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return
        time.sleep(0.25)
    raise SystemExit(f"timed out waiting for {what}")


def middle_rate(times):
    """Completions per second between the 10th and the 90th percentile."""
    times = sorted(times)
    lo, hi = int(len(times) * 0.1), int(len(times) * 0.9)
    return (hi - lo) / (times[hi] - times[lo])


def purge():
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("celery")


def make_orders(n, tag):
    from programs.models import ProgramOrder
    from tests.factories import AccountFactory, ProgramItemFactory, RepFactory
    from tiers.models import Account

    item = ProgramItemFactory(name=f"Audience {tag}", kind="account_based_ad",
                              fulfillment_method="ad_audience", unit_cost=10)
    rep = RepFactory(username=f"bench-rep-{tag}")
    template = AccountFactory.build()
    accounts = Account.objects.bulk_create([
        Account(name=f"Bench {tag} {i}", domain=f"bench-{tag}-{i}.example.com",
                industry=template.industry, country=template.country)
        for i in range(n)
    ], batch_size=1000)
    ProgramOrder.objects.bulk_create([
        ProgramOrder(account=account, item=item, cost=10, requested_by=rep)
        for account in accounts
    ])
    return ProgramOrder.objects.filter(item=item).select_related("item")


def fulfillment_phase(fake, n, concurrency, delay, tag):
    from programs.models import OrderEvent, ProgramOrder
    from programs.services import order_transition
    from tests.factories import MarketerFactory

    fake.delay = delay
    purge()
    orders = make_orders(n, tag)
    marketer = MarketerFactory(username=f"bench-marketer-{tag}")
    started = time.perf_counter()
    for order in orders:  # each approval queues its send task on commit
        order_transition(order=order, to=ProgramOrder.Status.APPROVED, by=marketer)
    approve_rate = n / (time.perf_counter() - started)
    with Worker(concurrency, f"/tmp/abmcrm-bench-worker-{tag}.log"):
        wait_until(lambda: orders.filter(status="fulfilled").count() == n,
                   timeout=60 + n / 10, what=f"{n} orders fulfilled")
    times = [at.timestamp() for at in OrderEvent.objects.filter(
        order__item=orders[0].item, to_status="fulfilled").values_list("at", flat=True)]
    assert len(fake.created()) >= n
    return middle_rate(times), approve_rate


def noop_phase(n, concurrency):
    purge()
    client = _redis()
    client.delete(NOOP_KEY)
    for _ in range(n):
        noop.delay()
    with Worker(concurrency, "/tmp/abmcrm-bench-worker-noop.log"):
        wait_until(lambda: client.llen(NOOP_KEY) == n, timeout=60 + n / 10,
                   what=f"{n} no-op tasks")
    times = [float(t) for t in client.lrange(NOOP_KEY, 0, -1)]
    client.delete(NOOP_KEY)
    return middle_rate(times)


def run(fake, n, concurrency, pool):
    Worker.pool = pool
    ceiling = concurrency / 0.05
    rate_50, approve_rate = fulfillment_phase(fake, n, concurrency, 0.05, "d50")
    rate_0, _ = fulfillment_phase(fake, n, concurrency, 0.0, "d0")
    noop_rate = noop_phase(n, concurrency)
    print(f"\nFulfillment throughput: {n} orders per phase, one worker, {pool} × "
          f"{concurrency}, Redis broker, {app.conf.broker_url.rsplit('@', 1)[-1]}")
    print(f"  approvals (in-process, each queues a task)   {approve_rate:8.1f} /s")
    print(f"  fulfilled/s, provider 50 ms                  {rate_50:8.1f} /s")
    print(f"  ceiling 8 ÷ 0.05 s                           {ceiling:8.1f} /s")
    print(f"  ratio (aim ≥ 0.7)                            {rate_50 / ceiling:8.2f}")
    print(f"  fulfilled/s, provider 0 ms                   {rate_0:8.1f} /s")
    print(f"  no-op tasks/s, same worker                   {noop_rate:8.1f} /s")
    print(f"  ratio (aim ≥ 0.3)                            {rate_0 / noop_rate:8.2f}")


if __name__ == "__main__":
    main()
