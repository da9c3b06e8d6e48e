"""The per-deal touch table (`DealTouch`): kept by every write path equal to a fresh rebuild,
and read by attribution with the same results as the per-request computation."""

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abmcrm.core import ingest
from funnel import ingesters as funnel_ingesters
from funnel import services as funnel_services
from funnel.models import Lead
from pipeline import attribution, services
from pipeline.models import DealTouch, DealTouchPending, DealTouchState, Opportunity
from pipeline.services import deal_touches
from pipeline.sql.deal_touches import WEIGHTS
from programs import services as programs_services
from programs.models import Campaign, ProgramOrder
from tests import factories
from tests.conftest import fire_together
from tests.pipeline.helpers import bulk, stage
from tests.programs.fulfillment.helpers import broker_unreachable
from tiers.models import EngagementKind

pytestmark = pytest.mark.django_db

SERIAL = itertools.count()
NOW = timezone.now().replace(microsecond=0)
BASE = NOW - timedelta(days=90)


def at(n):
    return BASE + timedelta(days=n, hours=n % 5)


def touch(account, campaign, *days):
    """Engagement events carrying the campaign's code on these days: touches of the
    account's deals."""
    ingest.bulk_ingest(kind="engagement_events", user=None, items=[{
        "account": account.domain, "kind": "demo_t", "occurred_at": at(day).isoformat(),
        "source": campaign.code} for day in days])


def snapshot():
    return sorted((row.opportunity_id, row.campaign_id, row.opened_at,
                   *(round(getattr(row, name), 9) for name in WEIGHTS))
                  for row in DealTouch.objects.all())


def assert_maintained():
    """The table as the writes left it is the table a rebuild computes."""
    kept = snapshot()
    deal_touches.deal_touches_rebuild()
    assert snapshot() == kept


def both_ways(model, start, end):
    """attribution() read from the table, and computed per request."""
    query = attribution.AttributionQuery(start=start, end=end, model=model)
    assert deal_touches.readable()
    from_table = attribution.attribution(query)
    DealTouchState.objects.all().delete()
    per_request = attribution.attribution(query)
    deal_touches.deal_touches_rebuild()
    return from_table, per_request


@pytest.fixture
def world(marketer):
    EngagementKind.objects.update_or_create(key="demo_t", defaults={"name": "Demo",
                                                                    "weight": 40})
    accounts = [factories.AccountFactory(domain=f"dt{n}.example.com", tier=factories.tier(1))
                for n in range(3)]
    campaigns = [factories.CampaignFactory(name=f"C{n}", code=f"dt{n}") for n in range(3)]
    items = [factories.ProgramItemFactory(campaign=c, menu_tiers=[1], limit_per_account=None)
             for c in campaigns]
    deal_touches.deal_touches_rebuild()  # empty, but built: from now on the writes keep it
    return {"accounts": accounts, "campaigns": campaigns, "items": items, "by": marketer}


OPS = ("event", "event_not_a_campaign", "transition", "engaged", "lead", "lead_moved",
       "deal", "deal_with_campaign", "deal_now", "deal_reopened_elsewhere", "deal_moved_won",
       "deal_deleted", "order", "order_rejected", "campaign_recoded")
op = st.tuples(st.sampled_from(OPS), st.integers(0, 2), st.integers(0, 2),
               st.integers(0, 80), st.integers(0, 20))


def apply(world, name, a, c, day, pick):
    account, campaign = world["accounts"][a], world["campaigns"][c]
    deals = list(Opportunity.objects.order_by("pk"))
    deal = deals[pick % len(deals)] if deals else None
    if name.startswith("event"):
        source = campaign.code if name == "event" else "newsletter"
        ingest.bulk_ingest(kind="engagement_events", user=None, items=[{
            "account": account.domain, "kind": "demo_t", "occurred_at": at(day).isoformat(),
            "source": source}])
    elif name in ("transition", "engaged"):
        item = {"account": account.domain, "occurred_at": at(day).isoformat(),
                "to_stage": "engaged" if name == "engaged" else "target"}
        if name == "transition":
            item["campaign"] = campaign.code
        funnel_ingesters.transitions_record(items=[item], user=None)  # may be refused
    elif name == "lead":
        funnel_services.lead_create(email=f"p{next(SERIAL)}@{account.domain}",
                                    created_at=at(day), campaign=campaign)
    elif name == "lead_moved":
        lead = Lead.objects.order_by("pk").first()
        if lead is not None:
            funnel_services.lead_update(lead=lead, account=account)
    elif name.startswith("deal") and name not in ("deal_moved_won", "deal_deleted",
                                                    "deal_reopened_elsewhere"):
        item = {"external_id": f"dt-{Opportunity.objects.count()}-{pick}",
                "account": account.domain, "stage": "proposal", "amount": f"{100 + pick}.25"}
        if name != "deal_now":
            item["opened_at"] = at(day).isoformat()
        if name == "deal_with_campaign":
            item["campaign"] = campaign.code
        bulk([item])
    elif name == "deal_reopened_elsewhere" and deal is not None:
        # Another account, opening and campaign: both accounts' deals change.
        bulk([{"external_id": deal.external_id, "account": account.domain,
               "stage": deal.stage.slug, "opened_at": at(day).isoformat(),
               "campaign": campaign.code}])
    elif name == "deal_moved_won" and deal is not None and deal.status == "open":
        # The account's funnel follows (a transition with the deal's campaign: a touch).
        deal.refresh_from_db()
        services.opportunity_move(opportunity=deal, stage=stage("won"), by=None,
                                  at=max(NOW, deal.stage_changed_at))
    elif name == "deal_deleted" and deal is not None:
        services.opportunity_delete(opportunity=deal)
    elif name == "order":
        programs_services.order_submit(account=account, items=[world["items"][c].pk],
                                       requested_by=world["by"], auto_approve=False)
    elif name == "order_rejected":
        order = ProgramOrder.objects.filter(status="requested").order_by("pk").first()
        if order is not None:
            programs_services.order_reject(order=order, by=world["by"], reason="no")
    elif name == "campaign_recoded":
        campaign.code = "newsletter" if campaign.code != "newsletter" else f"dt{c}"
        if not Campaign.objects.filter(code=campaign.code).exclude(pk=campaign.pk).exists():
            campaign.save()


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(op, min_size=1, max_size=14))
def test_the_writes_keep_the_table_equal_to_a_rebuild(world, ops):
    for step in ops:
        apply(world, *step)
    # Before the task a bulk load queued has run, attribution computes the queued deals of
    # its period itself.
    before_task = attribution.attribution(attribution.AttributionQuery(
        start=BASE.date(), end=NOW.date(), model="w_shaped"))
    deal_touches.deal_touches_refresh_pending()  # what the task does after the commit
    assert not DealTouchPending.objects.exists()
    assert_maintained()
    for model in attribution.MODELS:
        from_table, per_request = both_ways(model, BASE.date(), NOW.date())
        assert from_table == per_request, (model, ops, from_table["campaigns"],
                                           per_request["campaigns"])
        if model == "w_shaped":
            assert before_task == per_request, (ops, before_task["campaigns"])
    # Back to an empty book for the next example (the campaigns' codes as they were).
    Opportunity.objects.all().delete()
    Lead.objects.all().delete()
    for n, campaign in enumerate(world["campaigns"]):
        Campaign.objects.filter(pk=campaign.pk).update(code=f"dt{n}")
        campaign.code = f"dt{n}"


def test_rebuild_command_is_idempotent_and_reports_progress(world, capsys):
    account, campaign = world["accounts"][0], world["campaigns"][0]
    touch(account, campaign, 1)
    bulk([{"external_id": "r-1", "account": account.domain, "stage": "proposal",
           "amount": "10", "opened_at": at(2).isoformat()}])
    DealTouch.objects.all().delete()
    DealTouchState.objects.all().delete()
    assert not deal_touches.readable()
    call_command("rebuild_deal_touches", "--chunk", "1")
    first = snapshot()
    call_command("rebuild_deal_touches")
    out = capsys.readouterr().out
    assert "1 / 1 accounts with deals" in out and "1 rows" in out
    assert snapshot() == first and len(first) == 1
    assert first[0][3:] == (1.0, 1.0, 1.0, 1.0, 1.0, 1.0)


def test_a_changed_setting_falls_back_to_the_per_request_computation(world, settings):
    account, campaign = world["accounts"][0], world["campaigns"][0]
    touch(account, campaign, 1)
    bulk([{"external_id": "s-1", "account": account.domain, "stage": "proposal",
           "amount": "10", "opened_at": at(11).isoformat()}])
    query = attribution.AttributionQuery(start=BASE.date(), end=NOW.date(), model="first")
    assert attribution.attribution(query)["campaigns"][0]["attributed_pipeline"] == \
        Decimal("10.00")
    settings.ABMCRM_ATTRIBUTION_LOOKBACK_DAYS = 5  # the touch is 10 days before the deal
    assert not deal_touches.readable()
    assert attribution.attribution(query)["campaigns"] == []
    deal_touches.deal_touches_rebuild()
    assert deal_touches.readable() and attribution.attribution(query)["campaigns"] == []
    assert not DealTouch.objects.exists()


def test_a_bulk_load_refreshed_a_few_deals_a_statement_equals_a_rebuild(world, monkeypatch):
    """New deals' rows are computed from the openings they were written with, a statement
    per `DEAL_CHUNK` deals, each reading only the touches of its own deals' period."""
    monkeypatch.setattr(deal_touches, "DEAL_CHUNK", 2)
    for n, (account, campaign) in enumerate(zip(world["accounts"], world["campaigns"],
                                                strict=True)):
        ingest.bulk_ingest(kind="engagement_events", user=None, items=[{
            "account": account.domain, "kind": "demo_t", "occurred_at": at(day).isoformat(),
            "source": campaign.code} for day in (n, 20 + n, 60 + n)])
    items = [{"external_id": f"c-{n}", "account": world["accounts"][n % 3].domain,
              "stage": "proposal", "amount": "10", "opened_at": at(5 + 13 * n).isoformat()}
             for n in range(7)]
    items[3]["campaign"] = world["campaigns"][1].code  # also a touch of later deals
    bulk(items)
    # Queued for the task after the commit, not computed in the load's transaction.
    assert DealTouchPending.objects.count() == 7 and not DealTouch.objects.exists()
    assert deal_touches.deal_touches_refresh_pending(chunk=3) == 7  # three transactions
    assert DealTouch.objects.exists() and not DealTouchPending.objects.exists()
    assert_maintained()


def test_a_bulk_loads_commit_queues_the_task_that_computes_its_deals(
        world, django_capture_on_commit_callbacks):
    account, campaign = world["accounts"][0], world["campaigns"][0]
    touch(account, campaign, 1)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        bulk([{"external_id": f"q-{n}", "account": account.domain, "stage": "proposal",
               "amount": "10", "opened_at": at(10 + n).isoformat()} for n in range(3)])
    assert DealTouchPending.objects.count() == 3 and not DealTouch.objects.exists()
    # The commit's callbacks: the task, run here eagerly as a worker would after it.
    for callback in callbacks:
        callback()
    assert not DealTouchPending.objects.exists()
    assert DealTouch.objects.filter(campaign=campaign).count() == 3
    assert_maintained()


def test_a_bulk_load_with_the_broker_down_answers_and_the_sweeper_queues_its_deals_later(
        world, marketer, client, django_capture_on_commit_callbacks):
    account, campaign = world["accounts"][0], world["campaigns"][0]
    touch(account, campaign, 1)
    client.force_login(marketer)
    with broker_unreachable(), django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/opportunities/bulk/", [
            {"external_id": "down-1", "account": account.domain, "stage": "proposal",
             "amount": "10", "opened_at": at(4).isoformat()}], content_type="application/json")
    # The load answered and kept its deal; its rows wait in the queue.
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 1
    assert DealTouchPending.objects.count() == 1 and not DealTouch.objects.exists()
    # The broker is back: the sweeper queues the task (run eagerly here).
    DealTouchPending.objects.update(queued_at=NOW - timedelta(hours=1))
    assert deal_touches.deal_touches_pending_redrive() == {"deal_touches": 1}
    assert not DealTouchPending.objects.exists()
    query = attribution.AttributionQuery(start=BASE.date(), end=NOW.date(), model="first")
    assert attribution.attribution(query)["campaigns"][0]["attributed_pipeline"] == \
        Decimal("10.00")


def test_a_single_write_computes_its_deals_rows_in_its_transaction(world):
    account, campaign = world["accounts"][0], world["campaigns"][0]
    touch(account, campaign, 1)
    deal = services.opportunity_create(by=None, account=account, name="One",
                                       stage=stage("proposal"), amount=Decimal("10"),
                                       opened_at=at(3))
    assert not DealTouchPending.objects.exists()
    assert list(DealTouch.objects.values_list("opportunity_id", "first")) == [(deal.pk, 1.0)]


def test_attribution_computes_the_queued_deals_of_its_period_only(world):
    account, campaign = world["accounts"][0], world["campaigns"][0]
    touch(account, campaign, 1, 40)
    bulk([{"external_id": "in", "account": account.domain, "stage": "proposal",
           "amount": "25", "opened_at": at(45).isoformat()},
          {"external_id": "before", "account": account.domain, "stage": "proposal",
           "amount": "40", "opened_at": at(5).isoformat()}])
    query = attribution.AttributionQuery(start=at(30).date(), end=NOW.date(), model="linear")
    result = attribution.attribution(query)
    assert result["campaigns"][0]["attributed_pipeline"] == Decimal("25.00")
    assert result["unattributed"]["deals"] == 0
    # The deal opened before the period is still queued, for the task.
    assert list(DealTouchPending.objects.values_list(
        "opportunity__external_id", flat=True)) == ["before"]


def test_the_queued_deal_of_a_deleted_deal_leaves_the_queue(world):
    account = world["accounts"][0]
    bulk([{"external_id": f"g-{n}", "account": account.domain, "stage": "proposal",
           "amount": "10", "opened_at": at(5).isoformat()} for n in range(2)])
    Opportunity.objects.filter(external_id="g-0").delete()
    assert deal_touches.deal_touches_refresh_pending() == 2
    assert not DealTouchPending.objects.exists()


def test_deals_queued_while_the_table_needs_a_rebuild_wait_for_it(world, settings):
    account, campaign = world["accounts"][0], world["campaigns"][0]
    touch(account, campaign, 1)
    bulk([{"external_id": "g-2", "account": account.domain, "stage": "proposal",
           "amount": "10", "opened_at": at(5).isoformat()}])
    settings.ABMCRM_ATTRIBUTION_LOOKBACK_DAYS = 6  # the table needs a rebuild now
    # Neither the task nor the sweeper drops them (settings put back before a rebuild, or
    # a worker started with other settings than the web, would find them missing).
    assert deal_touches.deal_touches_refresh_pending() == 0
    DealTouchPending.objects.update(queued_at=NOW - timedelta(hours=1))
    assert deal_touches.deal_touches_pending_redrive() == {"deal_touches": 0}
    assert DealTouchPending.objects.count() == 1
    deal_touches.deal_touches_rebuild()  # computes every deal, then empties the queue
    assert not DealTouchPending.objects.exists()
    assert DealTouch.objects.filter(campaign=campaign).count() == 1
    assert_maintained()


def test_the_sweeper_queues_the_task_for_deals_left_waiting(world, settings):
    account = world["accounts"][0]
    bulk([{"external_id": "w-1", "account": account.domain, "stage": "proposal",
           "amount": "10", "opened_at": at(5).isoformat()}])
    assert deal_touches.deal_touches_pending_redrive() == {"deal_touches": 0}  # just queued
    DealTouchPending.objects.update(queued_at=NOW - timedelta(hours=1))
    # Run eagerly, as a worker would: the deal's rows are computed, the queue is empty.
    assert deal_touches.deal_touches_pending_redrive() == {"deal_touches": 1}
    assert not DealTouchPending.objects.exists()
    assert deal_touches.deal_touches_pending_redrive() == {"deal_touches": 0}


def test_nothing_is_maintained_before_the_first_build(world):
    DealTouchState.objects.all().delete()
    account = world["accounts"][0]
    bulk([{"external_id": "n-1", "account": account.domain, "stage": "proposal",
           "amount": "10", "opened_at": at(2).isoformat()}])
    assert not DealTouch.objects.exists() and not deal_touches.readable()
    assert not DealTouchPending.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="SQLite serialises writers: no real concurrent transactions")
def test_two_concurrent_writes_of_one_accounts_touches_both_count(world):
    """Each ingest refreshes the account's deal touches in its transaction; without the
    refresh lock each would recompute without the other's event."""
    account = world["accounts"][0]
    bulk([{"external_id": "race-1", "account": account.domain, "stage": "proposal",
           "amount": "90", "opened_at": at(30).isoformat()}])

    def ingest_event(campaign, day):
        return ingest.bulk_ingest(kind="engagement_events", user=None, items=[{
            "account": account.domain, "kind": "demo_t", "occurred_at": at(day).isoformat(),
            "source": campaign.code}])

    results = fire_together([lambda: ingest_event(world["campaigns"][0], 10),
                             lambda: ingest_event(world["campaigns"][1], 20)])
    assert not any(isinstance(r, Exception) for r in results), results
    assert {row.campaign_id: row.linear for row in DealTouch.objects.all()} == {
        world["campaigns"][0].pk: 0.5, world["campaigns"][1].pk: 0.5}
    assert_maintained()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="SQLite serialises writers: no real concurrent transactions")
def test_a_bulk_load_its_task_and_an_event_of_its_account_at_once_leave_the_table_right(
        world):
    """The load's commit runs its task (eagerly here, as a worker would at once); an event
    ingest refreshes the account meanwhile and another refresh of the queue runs too. Each
    takes the refresh lock before it reads, so whichever order they get, every deal ends
    with the rows of every touch."""
    account = world["accounts"][0]

    def load():
        return bulk([{"external_id": f"rl-{n}", "account": account.domain,
                      "stage": "proposal", "amount": "10",
                      "opened_at": at(30 + n).isoformat()} for n in range(20)])

    def ingest_event():
        return ingest.bulk_ingest(kind="engagement_events", user=None, items=[{
            "account": account.domain, "kind": "demo_t", "occurred_at": at(25).isoformat(),
            "source": world["campaigns"][0].code}])

    results = fire_together([load, ingest_event, deal_touches.deal_touches_refresh_pending])
    assert not any(isinstance(r, Exception) for r in results), results
    assert not DealTouchPending.objects.exists()
    assert DealTouch.objects.filter(campaign=world["campaigns"][0]).count() == 20
    assert_maintained()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="PostgreSQL's advisory locks")
def test_a_task_leaves_the_queue_to_the_task_already_working_it(world):
    """The sweeper queues the task again during a long backlog: a delivery that finds
    another working the queue returns at once instead of holding a worker on the lock."""
    import psycopg
    from django.db import connections

    from pipeline.sql import deal_touches as deal_touches_sql

    account = world["accounts"][0]
    bulk([{"external_id": "x-1", "account": account.domain, "stage": "proposal",
           "amount": "10", "opened_at": at(5).isoformat()}])  # (its task ran at the commit)
    DealTouchPending.objects.create(opportunity=Opportunity.objects.get(external_id="x-1"))
    params = connections["default"].get_connection_params()
    other = psycopg.connect(**{k: v for k, v in params.items()
                               if k in ("host", "port", "user", "password", "dbname")},
                            autocommit=True)
    try:
        other.execute("SELECT pg_advisory_lock(%s, %s)",
                      [deal_touches_sql.LOCK_CLASS, deal_touches_sql.QUEUE_LOCK_ID])
        assert deal_touches.deal_touches_refresh_pending(exclusive=True) == 0
        assert DealTouchPending.objects.count() == 1
        other.execute("SELECT pg_advisory_unlock(%s, %s)",
                      [deal_touches_sql.LOCK_CLASS, deal_touches_sql.QUEUE_LOCK_ID])
        assert deal_touches.deal_touches_refresh_pending(exclusive=True) == 1
        assert not DealTouchPending.objects.exists()
    finally:
        other.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="PostgreSQL's snapshots: SQLite has no concurrent transactions")
def test_a_rebuild_waits_for_the_transactions_already_running():
    """A write that read the state before the rebuild said "building" skipped its refresh;
    the rebuild's chunks read it only once it committed, so the rebuild waits for every
    transaction older than itself (and gives up after its timeout)."""
    import psycopg
    from django.db import connections

    from pipeline.sql import deal_touches as deal_touches_sql

    settings_dict = connections["default"].get_connection_params()
    other = psycopg.connect(**{k: v for k, v in settings_dict.items()
                               if k in ("host", "port", "user", "password", "dbname")})
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT pg_current_xact_id()")  # an xid: a writing transaction
        assert not deal_touches_sql.wait_for_older_transactions(timeout=0.5, poll=0.05)
        other.commit()
        assert deal_touches_sql.wait_for_older_transactions(timeout=5, poll=0.05)
    finally:
        other.close()
