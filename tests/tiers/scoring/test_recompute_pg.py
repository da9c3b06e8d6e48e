"""On PostgreSQL with a real worker: the incremental path (bulk ingest → worker) and a full
recompute give identical scores and tiers; concurrent recomputes announce once."""

import random
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from abmcrm.core import outbox
from abmcrm.core.models import OutboxEvent
from tests.conftest import fire_together, wait_for
from tests.factories import AccountFactory
from tests.tiers.scoring_helpers import event, icp, monday, signal
from tiers import services, signals
from tiers.models import Account

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="the equivalence and the race are checked on PostgreSQL"),
]

FIELDS = ("fit_score", "intent_score", "engagement_score", "surging_topics",
          "has_recent_intent", "has_recent_engagement", "tier_id", "tier_rule_id")


def snapshot():
    return {row[0]: row[1:] for row in Account.objects.order_by("pk").values_list("pk",
                                                                                 *FIELDS)}


@pytest.mark.worker
def test_incremental_and_full_recompute_agree(api, abm_admin, celery_worker_process):
    rng = random.Random(7)
    icp(("industry", {"values": ["software"]}, 2), ("employees", {"min_value": 100}, 1))
    accounts = [AccountFactory(industry=rng.choice(["software", "retail"]),
                               employees=rng.choice([50, 500]),
                               estimated_acv=rng.choice([10_000, 20_000, 90_000]))
                for _ in range(40)]
    today = timezone.localdate()
    now = timezone.now()
    signals_ = [{"account": a.pk, "topic": rng.choice(["abm", "crm", "cdp"]),
                 "score": rng.randint(0, 100), "source": rng.choice(["g2", "bombora"]),
                 "week": str(monday(today) - timedelta(weeks=rng.randint(0, 16)))}
                for a in accounts for _ in range(6)]
    events = [{"account": a.domain, "occurred_at": (now - timedelta(
                   days=rng.randint(0, 100), hours=rng.randint(0, 23))).isoformat(),
               "kind": rng.choice(["demo_request", "meeting", "web_visit", "ad_click",
                                   "pricing_page_visit", "content_download"]),
               "external_id": f"E{i}"}
              for i, a in enumerate(accounts * 5)]
    client = api.as_user(abm_admin)
    assert client.post("/api/v1/intent-signals/bulk/", signals_, format="json").json()[
        "created"] > 0
    body = client.post("/api/v1/engagement-events/bulk/", events, format="json").json()
    assert body["created"] == len(events)

    def incremental_done():
        """every account rescored by the worker after both ingests"""
        return Account.objects.filter(scored_at__isnull=True).count() == 0 and \
            Account.objects.filter(scored_at__lt=now).count() == 0
    wait_for(incremental_done, timeout=30)
    # Let both queued tasks finish: the scores stop changing.
    previous, current = None, snapshot()
    while current != previous:
        time.sleep(0.5)
        previous, current = current, snapshot()
    incremental = current
    assert any(row[6] for row in incremental.values()), "some accounts got a tier"
    services.tiers_recompute()
    assert snapshot() == incremental


def test_concurrent_recomputes_announce_and_move_once():
    icp(("industry", {"values": ["software"]}, 1))
    account = AccountFactory(estimated_acv=90_000)
    event(account, "demo_request", timezone.now())
    signal(account, "abm", 90, 0)
    received, moves = [], []
    signals.account_engaged.connect(lambda sender, account, **kw: received.append(account.pk),
                                    weak=False, dispatch_uid="race-test")
    signals.tier_changed.connect(lambda sender, account, **kw: moves.append(account.pk),
                                 weak=False, dispatch_uid="race-test-tier")
    try:
        results = fire_together([services.tiers_recompute] * 4)
    finally:
        signals.account_engaged.disconnect(dispatch_uid="race-test")
        signals.tier_changed.disconnect(dispatch_uid="race-test-tier")
    errors = [result for result in results if isinstance(result, Exception)]
    assert not errors
    assert received == [account.pk]
    assert moves == [account.pk]
    assert account.tier_assignments.count() == 1


@pytest.mark.parametrize("overlap", [True, False])
def test_concurrent_recomputes_write_one_surging_event(settings, overlap):
    """A topic that starts surging is announced once (`account.surging` in the outbox), however
    many recomputes find it at once: the write that records it is a compare-and-set on the
    surging topics the recompute read. A topic that starts surging later is announced
    again, once."""
    settings.ABMCRM_RECOMPUTE_OVERLAP_WRITES = overlap
    icp(("industry", {"values": ["software"]}, 1))
    accounts = [AccountFactory(estimated_acv=90_000) for _ in range(5)]
    for account in accounts:
        signal(account, "abm", 90, 0)

    def surging():
        return sorted((event.account_id, tuple(event.data["topics"])) for event in
                      OutboxEvent.objects.filter(type=outbox.ACCOUNT_SURGING))

    results = fire_together([services.tiers_recompute] * 4)
    assert not [result for result in results if isinstance(result, Exception)]
    assert surging() == [(account.pk, ("abm",)) for account in accounts]
    # One account's second topic starts surging, also found by four recomputes at once.
    signal(accounts[0], "crm", 95, 0)
    results = fire_together([services.tiers_recompute] * 4)
    assert not [result for result in results if isinstance(result, Exception)]
    assert surging() == sorted([(account.pk, ("abm",)) for account in accounts]
                               + [(accounts[0].pk, ("crm",))])
    accounts[0].refresh_from_db()
    assert sorted(accounts[0].surging_topics) == ["abm", "crm"]


def test_overlapped_chunk_writes_match_one_connection(settings):
    """A full recompute writes its chunks on a second connection while it reads the next:
    the same scores, tiers, history and funnel entries, progress and result as one connection
    writing chunk after chunk; the second connection is closed at the end."""
    from funnel.models import AccountFunnel, StageTransition
    from tiers.models import TierAssignment

    rng = random.Random(11)
    icp(("industry", {"values": ["software"]}, 2), ("employees", {"min_value": 100}, 1))
    now = timezone.now()
    for _ in range(30):
        account = AccountFactory(industry=rng.choice(["software", "retail"]),
                                 employees=rng.choice([50, 500]),
                                 estimated_acv=rng.choice([10_000, 20_000, 90_000]))
        for weeks_ago in range(3):
            event(account, rng.choice(["demo_request", "meeting", "web_visit"]),
                  now - timedelta(days=rng.randint(0, 60)))
            signal(account, rng.choice(["abm", "crm"]), rng.randint(0, 100), weeks_ago)
    settings.ABMCRM_RECOMPUTE_CHUNK_SIZE = 4

    def run(overlap):
        settings.ABMCRM_RECOMPUTE_OVERLAP_WRITES = overlap
        progress, writers = [], set()
        signals.accounts_engaged_ids.connect(
            lambda sender, **kw: writers.add(threading.current_thread().name),
            weak=False, dispatch_uid="overlap-test")
        try:
            result = services.tiers_recompute(progress=lambda done, total: progress.append(done))
        finally:
            signals.accounts_engaged_ids.disconnect(dispatch_uid="overlap-test")
        state = (snapshot(),
                 sorted(TierAssignment.objects.values_list("account_id", "old_tier_id",
                                                           "new_tier_id", "rule_id")),
                 # (not their times: an entry into `target` is dated when it is made)
                 sorted(AccountFunnel.objects.values_list("account_id", "stage_id",
                                                          "version")),
                 sorted(StageTransition.objects.values_list("account_id", "from_stage_id",
                                                            "to_stage_id")))
        return result.as_dict(), progress, writers, state

    backends_before = _other_backends()
    sequential = run(overlap=False)
    StageTransition.objects.all().delete()
    AccountFunnel.objects.all().delete()
    TierAssignment.objects.all().delete()
    Account.objects.update(fit_score=0, intent_score=0, engagement_score=0, surging_topics=[],
                           has_recent_intent=False, has_recent_engagement=False, tier=None,
                           tier_rule=None, scored_at=None)
    overlapped = run(overlap=True)
    assert sequential[0]["newly_engaged"] > 0 and sequential[0]["tier_changes"] > 0
    assert overlapped[0] == sequential[0]
    assert overlapped[1] == sequential[1] == [0, 4, 8, 12, 16, 20, 24, 28, 30]
    assert sequential[2] == {threading.current_thread().name}
    assert threading.current_thread().name not in overlapped[2]
    assert overlapped[3] == sequential[3]
    # Only the connections the recomputes opened: one an earlier test's live server or worker
    # left may still be closing on a loaded machine.
    assert _other_backends() - backends_before == set()


def _other_backends():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid()")
        return {pid for (pid,) in cursor.fetchall()}
