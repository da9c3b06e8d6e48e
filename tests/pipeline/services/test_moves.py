from decimal import Decimal

import pytest
from django.db import connection

from abmcrm.core.exceptions import Conflict, InvalidInput
from funnel.models import AccountFunnel, StageTransition
from pipeline import services, signals
from pipeline.models import Opportunity, OpportunityStageChange
from tests import factories
from tests.conftest import fire_together
from tests.pipeline.helpers import day, deal, move, stage

pytestmark = pytest.mark.django_db


def history(opportunity):
    return [(c.from_stage.slug if c.from_stage else None, c.to_stage.slug, c.at, c.amount,
             c.is_reopen)
            for c in OpportunityStageChange.objects.filter(opportunity=opportunity)
            .select_related("from_stage", "to_stage").order_by("at", "id")]


class TestOpportunityMove:
    def test_each_move_appends_its_change_and_bumps_the_version(self, marketer):
        account = factories.AccountFactory()
        d = deal(account, "prospecting", 1, amount=Decimal("100"))
        assert d.version == 1 and d.status == "open"
        d = move(d, "proposal", 3, by=marketer, amount=Decimal("250"))
        d = move(d, "won", 9, by=marketer)
        assert d.version == 3 and d.status == "won" and d.closed_at == day(9)
        assert d.amount == Decimal("250.00") and d.stage_changed_at == day(9)
        assert history(d) == [
            (None, "prospecting", day(1), Decimal("100.00"), False),
            ("prospecting", "proposal", day(3), Decimal("250.00"), False),
            ("proposal", "won", day(9), Decimal("250.00"), False),
        ]
        assert OpportunityStageChange.objects.filter(opportunity=d, by=marketer).count() == 2

    def test_refusals(self):
        account = factories.AccountFactory()
        d = deal(account, "proposal", 5)
        cases = [
            (dict(slug="proposal", n=6), "stage"),  # already there
            (dict(slug="won", n=6), "amount"),  # a won deal needs an amount
            (dict(slug="negotiation", n=4), "at"),  # before its last change
            (dict(slug="negotiation", n=6, reopen=True), "reopen"),  # not closed
            (dict(slug="negotiation", n=6, lost_reason="price"), "lost_reason"),
        ]
        for kwargs, field in cases:
            with pytest.raises(InvalidInput) as info:
                move(d, kwargs.pop("slug"), kwargs.pop("n"), **kwargs)
            assert field in info.value.detail, (kwargs, info.value.detail)
        assert history(d) == [(None, "proposal", day(5), None, False)]
        d.refresh_from_db()
        assert d.version == 1

    def test_a_move_before_the_deal_opened_is_refused(self):
        d = deal(factories.AccountFactory(), "proposal", 5, amount=Decimal("10"))
        Opportunity.objects.filter(pk=d.pk).update(stage_changed_at=day(1))
        with pytest.raises(InvalidInput) as info:
            move(d, "won", 3)
        assert "at" in info.value.detail and "opened" in str(info.value.detail["at"])

    def test_closed_deals_move_only_when_reopened_to_an_open_stage(self):
        d = deal(factories.AccountFactory(), "negotiation", 1, amount=Decimal("900"))
        d = move(d, "lost", 3, lost_reason="Went with a competitor")
        assert d.status == "lost" and d.lost_reason == "Went with a competitor"
        with pytest.raises(InvalidInput) as info:
            move(d, "proposal", 4)
        assert "reopen" in str(info.value.detail["stage"])
        with pytest.raises(InvalidInput) as info:
            move(d, "won", 4, reopen=True)
        assert "reopen" in info.value.detail
        d = move(d, "proposal", 4, reopen=True)
        assert d.status == "open" and d.closed_at is None and d.lost_reason == ""
        assert history(d)[-1] == ("lost", "proposal", day(4), Decimal("900.00"), True)

    def test_a_stale_version_is_a_conflict_and_records_nothing(self):
        d = deal(factories.AccountFactory(), "prospecting", 1)
        stale = Opportunity.objects.select_related("stage").get(pk=d.pk)
        move(d, "proposal", 2)
        with pytest.raises(Conflict):
            services.opportunity_move(opportunity=stale, stage=stage("negotiation"), at=day(3),
                                      by=None)
        assert [row[1] for row in history(d)] == ["prospecting", "proposal"]

    def test_the_signal_names_the_change(self):
        d = deal(factories.AccountFactory(), "prospecting", 1)
        seen = []

        def receiver(sender, changes, by, **kwargs):
            seen.extend(changes)

        signals.opportunities_moved.connect(receiver)
        try:
            move(d, "proposal", 2)
        finally:
            signals.opportunities_moved.disconnect(receiver)
        assert seen == [(d.pk, stage("prospecting").pk, stage("proposal").pk, day(2))]

    def test_winning_moves_the_account_to_won_with_the_amount(self):
        account = factories.AccountFactory()
        d = deal(account, "proposal", 3, amount=Decimal("4000"))
        move(d, "won", 10)
        funnel = AccountFunnel.objects.get(account=account)
        assert funnel.stage.slug == "won"
        moves = list(StageTransition.objects.filter(account=account).order_by("occurred_at")
                     .values_list("to_stage__slug", "occurred_at", "amount"))
        assert moves == [("opportunity", day(3), Decimal("4000.00")),
                         ("won", day(10), Decimal("4000.00"))]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="SQLite serialises writers: no real concurrent transactions")
def test_two_concurrent_moves_one_wins(marketer):
    account = factories.AccountFactory()
    d = deal(account, "prospecting", 1, amount=Decimal("50"))

    def attempt(slug):
        # Both read the deal before either moves it, as two requests would.
        read = Opportunity.objects.select_related("stage").get(pk=d.pk)
        target = stage(slug)

        def run():
            return services.opportunity_move(opportunity=read, stage=target, by=marketer)
        return run

    results = fire_together([attempt("proposal"), attempt("negotiation")])
    conflicts = [r for r in results if isinstance(r, Conflict)]
    done = [r for r in results if isinstance(r, Opportunity)]
    assert len(conflicts) == 1 and len(done) == 1, results
    assert OpportunityStageChange.objects.filter(opportunity=d).count() == 2
    d.refresh_from_db()
    assert d.stage.slug == done[0].stage.slug and d.version == 2
