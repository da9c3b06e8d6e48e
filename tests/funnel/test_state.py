"""The state rows' first-reached columns (`reached_<slot>_at`): kept by every move, rebuilt
from the history by `manage.py rebuild_funnel_state`."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from funnel import services
from funnel.models import AccountFunnel, Lead, Stage, StageTransition
from funnel.reports import ReportQuery
from funnel.sql import state as state_sql
from tests import factories
from tests.funnel.helpers import (
    assert_state_rows_follow_history,
    day,
    first_times_on_rows,
    jan,
    record,
    report,
)
from tests.funnel.history_report import history_report
from tiers import signals

pytestmark = pytest.mark.django_db


def move(entity, stage, n, **extra):
    key = "account" if hasattr(entity, "domain") else "lead"
    ref = entity.domain if key == "account" else entity.email
    return {key: ref, "to_stage": stage, "occurred_at": day(n).isoformat(), **extra}


def rows_of(entity):
    kind = "account" if hasattr(entity, "domain") else "lead"
    return first_times_on_rows()[(kind, entity.pk)]


class TestKeptByMoves:
    def test_the_built_in_stages_have_their_slot(self):
        assert dict(Stage.objects.values_list("slug", "slot")) == {
            "target": "target", "engaged": "engaged", "qualified": "qualified",
            "inquiry": "inquiry", "mql": "mql", "sql": "sql", "opportunity": "opportunity",
            "won": "won", "lost": None}

    def test_a_skipped_stage_stays_empty_and_the_first_time_stays(self):
        account = factories.AccountFactory()
        record([move(account, "target", 1), move(account, "sql", 3)])
        record([move(account, "engaged", 5), move(account, "sql", 7)])  # back, then again
        assert rows_of(account) == {"target": day(1), "sql": day(3), "engaged": day(5)}
        assert_state_rows_follow_history()

    def test_reopened_keeps_the_first_times(self):
        account = factories.AccountFactory()
        record([move(account, "target", 1), move(account, "opportunity", 2, amount="5"),
                move(account, "lost", 3), move(account, "engaged", 4, reopen=True),
                move(account, "opportunity", 6, amount="7"), move(account, "won", 8,
                                                                  amount="9")])
        record([move(account, "qualified", 9, reopen=True)])
        record([move(account, "opportunity", 10, amount="1"),
                move(account, "won", 11, amount="20")])
        assert rows_of(account) == {"target": day(1), "opportunity": day(2),
                                    "engaged": day(4), "won": day(8), "qualified": day(9),
                                    "won_amount": Decimal("29")}
        assert_state_rows_follow_history()

    def test_a_refused_out_of_order_move_changes_nothing(self):
        account = factories.AccountFactory()
        record([move(account, "target", 5)])
        from funnel import ingesters
        batch = ingesters.transitions_record(items=[move(account, "engaged", 4)], user=None)
        assert batch.errors and rows_of(account) == {"target": day(5)}
        assert_state_rows_follow_history()

    def test_a_lead_enters_inquiry_with_its_column(self):
        lead = services.lead_create(email="l@leads.example.org", created_at=day(2))
        record([move(lead, "sql", 3), move(lead, "lost", 4)])
        assert rows_of(lead) == {"inquiry": day(2), "sql": day(3)}
        created, *_ = services.lead_bulk_upsert(rows=[(0, {"email": "m@leads.example.org",
                                                           "created_at": day(6)})])
        assert created == 1
        assert rows_of(Lead.objects.get(email="m@leads.example.org")) == {"inquiry": day(6)}
        assert_state_rows_follow_history()

    def test_automatic_moves_from_tiers(self):
        entering, engaged = factories.AccountFactory(), factories.AccountFactory()
        tier = factories.tier(1)
        signals.tiers_changed_ids.send(sender=type(entering), by=None, changes=[
            (a.pk, None, tier.pk, None) for a in (entering, engaged)])
        signals.accounts_engaged_ids.send(sender=type(engaged), engaged=[(engaged.pk,
                                                                           day(400))])
        state = AccountFunnel.objects.get(account=entering)
        assert rows_of(entering) == {"target": state.entered_at}
        assert set(rows_of(engaged)) == {"target", "engaged"}
        assert_state_rows_follow_history()

    def test_automatic_moves_of_existing_states(self):
        accounts = [factories.AccountFactory() for _ in range(3)]
        record([move(accounts[0], "target", 1), move(accounts[1], "qualified", 1)])
        services.accounts_move(moves=[(a.pk, day(3)) for a in accounts], to_stage="engaged",
                               only_from={None, "target"})
        assert rows_of(accounts[0]) == {"target": day(1), "engaged": day(3)}
        assert rows_of(accounts[1]) == {"qualified": day(1)}  # further down: not moved
        assert rows_of(accounts[2]) == {"engaged": day(3)}
        assert_state_rows_follow_history()

    def test_deals_move_accounts(self):
        from tests.pipeline.helpers import deal
        from tests.pipeline.helpers import move as deal_move

        fresh, known = factories.AccountFactory(), factories.AccountFactory()
        record([move(known, "target", 1), move(known, "sql", 10)])
        won = deal(fresh, "proposal", 5, amount=Decimal("500"))
        deal(known, "proposal", 5, amount=Decimal("2"))  # before its last move: at day 10
        deal_move(won, "won", 12)
        assert rows_of(fresh) == {"opportunity": day(5), "won": day(12),
                                  "won_amount": Decimal("500")}
        lone = factories.AccountFactory()
        deal(lone, "won", 3, amount=Decimal("70"), closed_at=day(4))
        assert rows_of(lone) == {"opportunity": day(3), "won": day(4),
                                 "won_amount": Decimal("70")}
        assert rows_of(known) == {"target": day(1), "sql": day(10), "opportunity": day(10)}
        assert_state_rows_follow_history()


class TestAddedStages:
    def test_a_stage_added_by_an_admin_is_reported_from_the_history(self):
        review = Stage.objects.create(slug="review", name="Review", side="shared",
                                      position=45)
        assert review.slot is None
        a, b = factories.AccountFactory(), factories.AccountFactory()
        record([move(a, "target", 1), move(a, "review", 3), move(a, "won", 9, amount="4"),
                move(b, "target", 2), move(b, "opportunity", 4, amount="1"),
                move(b, "lost", 5), move(b, "review", 6, reopen=True)])
        for mode in ("cohort", "period"):
            query = ReportQuery(start=jan(1), end=jan(31), mode=mode, group_by="channel")
            rep = report(jan(1), jan(31), mode=mode, group_by="channel")
            assert rep == history_report(query)
        rows = {r["stage"]: r for r in report(jan(1), jan(31))["sides"]["abm"]}
        assert rows["review"]["reached"] == 2 and rows["opportunity"]["reached"] == 2
        assert rows["sql"]["reached"] == 2


class TestRebuild:
    def _corrupt(self):
        a, b = factories.AccountFactory(), factories.AccountFactory()
        lead = services.lead_create(email="r@leads.example.org", created_at=day(1))
        record([move(a, "target", 1), move(a, "engaged", 2), move(b, "sql", 3),
                move(lead, "mql", 4)])
        AccountFunnel.objects.filter(account=a).update(reached_engaged_at=None,
                                                       reached_won_at=day(9))
        AccountFunnel.objects.filter(account=b).update(reached_sql_at=day(1), won_amount=5)
        Lead.objects.filter(pk=lead.pk).update(reached_mql_at=None)
        factories.AccountFactory()
        AccountFunnel.objects.create(account=factories.AccountFactory(),
                                     reached_target_at=day(1))  # no history at all

    def test_the_command_rebuilds_from_history_and_is_idempotent(self):
        self._corrupt()
        out = StringIO()
        call_command("rebuild_funnel_state", stdout=out)
        assert "3 account state rows and 1 lead" in out.getvalue()
        assert_state_rows_follow_history()
        out = StringIO()
        call_command("rebuild_funnel_state", stdout=out)
        assert "0 account state rows and 0 lead" in out.getvalue()

    def test_rebuild_keeps_other_columns(self):
        self._corrupt()
        before = list(AccountFunnel.objects.order_by("pk").values_list(
            "stage", "previous_stage", "version", "entered_at", "stage_changed_at"))
        state_sql.rebuild_all(list(Stage.objects.all()))
        assert before == list(AccountFunnel.objects.order_by("pk").values_list(
            "stage", "previous_stage", "version", "entered_at", "stage_changed_at"))
        assert StageTransition.objects.count() == 5
