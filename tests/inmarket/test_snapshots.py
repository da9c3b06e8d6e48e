"""Snapshots: what the recompute writes each week, the rebuild from the raw rows (the same
rows, again and again), and no leakage of what happened after a snapshot's time."""

import random
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from inmarket import services
from inmarket.models import AccountSnapshot
from tests import factories
from tiers import services as tiers_services
from tiers.models import IntentSignal

from .helpers import deal, event, icp, monday, signal, snapshot_rows, transition

pytestmark = pytest.mark.django_db


def _history(now):
    """Three accounts with a year of varied history, all dated before `now`."""
    icp()
    contact_titles = ["CFO", "VP Sales", "Engineer"]
    accounts = []
    rng = random.Random(7)
    for i in range(3):
        account = factories.AccountFactory(employees=[500, 50, 2000][i])
        contact = factories.ContactFactory(account=account, title=contact_titles[i])
        for days in rng.sample(range(1, 200), 25):
            kind = rng.choice(["pricing_page_visit", "demo_request", "web_visit", "meeting",
                               "content_download"])
            event(account, kind, now - timedelta(days=days, hours=rng.randint(0, 23)),
                  contact=contact if rng.random() < 0.5 else None)
        for weeks_back in range(1, 30):
            signal(account, "crm", rng.randint(20, 95), monday(now) - timedelta(weeks=weeks_back))
        transition(account, "target", now - timedelta(days=150))
        transition(account, "engaged", now - timedelta(days=60), previous="target")
        deal(account, now - timedelta(days=120), closed_at=now - timedelta(days=100), won=True)
        deal(account, now - timedelta(days=20))
        accounts.append(account)
    return accounts


class TestRecomputeWrites:
    def test_the_recompute_writes_the_weeks_snapshot_of_every_account(self):
        now = timezone.now()
        accounts = _history(now)
        tiers_services.tiers_recompute(now=now)
        rows = AccountSnapshot.objects.filter(week=services.week_of(now))
        assert rows.count() == 3
        row = rows.get(account=accounts[0])
        assert row.as_of == now
        assert row.fit_score == accounts[0].__class__.objects.get(pk=accounts[0].pk).fit_score
        assert row.fit_criteria_met == 2
        assert row.open_deals == 1 and row.won_deals == 1
        assert row.funnel_stage == "engaged"
        assert row.engagement_90d >= row.engagement_30d >= row.engagement_7d
        assert row.intent_topics == 1

    def test_a_later_recompute_in_the_week_replaces_the_row(self):
        now = timezone.now()
        accounts = _history(now)
        tiers_services.tiers_recompute(now=now - timedelta(minutes=5))
        event(accounts[0], "demo_request", now - timedelta(minutes=1))
        tiers_services.tiers_recompute(now=now)
        row = AccountSnapshot.objects.get(account=accounts[0], week=services.week_of(now))
        assert row.as_of == now and row.purchase_30d >= 1
        assert AccountSnapshot.objects.filter(account=accounts[0]).count() == 1


class TestRebuild:
    def test_rebuild_equals_the_snapshots_the_recompute_wrote(self):
        now = timezone.now()
        _history(now)
        # The recompute ran in each of three past weeks (at different times of the week).
        for weeks_back, hours in ((3, 30), (2, 100), (1, 5)):
            when = timezone.make_aware(timezone.datetime.combine(
                monday(now) - timedelta(weeks=weeks_back), timezone.datetime.min.time())) \
                + timedelta(hours=hours)
            tiers_services.tiers_recompute(now=when)
        written = snapshot_rows()
        assert len(written) == 9
        services.snapshots_rebuild(weeks=3, now=now)
        assert snapshot_rows() == written

    def test_rebuild_from_nothing_equals_a_recompute_at_the_end_of_each_week(self):
        now = timezone.now()
        _history(now)
        weeks = [monday(now) - timedelta(weeks=n) for n in (2, 1)]
        for week in weeks:
            tiers_services.tiers_recompute(now=services.week_end(week))
        written = snapshot_rows()
        AccountSnapshot.objects.all().delete()
        call_command("rebuild_snapshots", "--weeks", "2", stdout=open("/dev/null", "w"))
        assert snapshot_rows() == written

    def test_rebuild_is_idempotent(self):
        now = timezone.now()
        _history(now)
        first = services.snapshots_rebuild(weeks=6, now=now)
        rows = snapshot_rows()
        assert first["rows"] == 18 and len(rows) == 18
        services.snapshots_rebuild(weeks=6, now=now)
        assert snapshot_rows() == rows

    def test_past_weeks_see_their_own_past(self):
        now = timezone.now()
        accounts = _history(now)
        services.snapshots_rebuild(weeks=30, now=now)
        old = AccountSnapshot.objects.get(account=accounts[0],
                                          week=monday(now) - timedelta(weeks=30))
        recent = AccountSnapshot.objects.get(account=accounts[0],
                                             week=monday(now) - timedelta(weeks=1))
        # 30 weeks ago: before the deals and the funnel.
        assert (old.open_deals, old.won_deals, old.funnel_stage) == (0, 0, "")
        assert (recent.open_deals, recent.won_deals, recent.funnel_stage) == (1, 1, "engaged")


class TestNoLeakage:
    def test_what_happens_after_a_snapshot_does_not_change_it(self):
        now = timezone.now()
        accounts = _history(now)
        services.snapshots_rebuild(weeks=20, now=now)
        week = monday(now) - timedelta(weeks=12)
        before = snapshot_rows(week=week)
        as_of = AccountSnapshot.objects.filter(week=week).first().as_of
        # The future: events, intent, deals, funnel moves dated after the snapshot, added in
        # shuffled order; and the history's own rows re-inserted in another order.
        rng = random.Random(3)
        future = []
        for account in accounts:
            for _ in range(10):
                future.append(lambda a=account: event(
                    a, rng.choice(["demo_request", "meeting", "pricing_request"]),
                    as_of + timedelta(minutes=rng.randint(1, 60 * 24 * 60))))
            future.append(lambda a=account: deal(a, as_of + timedelta(hours=1)))
            future.append(lambda a=account: transition(a, "qualified",
                                                       as_of + timedelta(hours=2)))
            future.append(lambda a=account: signal(a, "erp", 99, week + timedelta(weeks=1)))
        rng.shuffle(future)
        for add in future:
            add()
        signals = list(IntentSignal.objects.all())
        rng.shuffle(signals)
        IntentSignal.objects.all().delete()
        for item in signals:
            item.pk = None
            item.save()
        services.snapshots_rebuild(weeks=20, now=now)
        assert snapshot_rows(week=week) == before
