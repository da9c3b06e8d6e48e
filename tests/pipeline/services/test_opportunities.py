import random
from decimal import Decimal

import pytest

from abmcrm.core.exceptions import InvalidInput
from funnel import ingesters as funnel_ingesters
from funnel.models import AccountFunnel, StageTransition
from pipeline import services
from pipeline.models import Opportunity, OpportunityContact, OpportunityStageChange
from tests import factories
from tests.pipeline.helpers import bulk, day, deal, stage

pytestmark = pytest.mark.django_db


def item(account, external_id, **fields):
    return {"external_id": external_id, "account": account.domain, **fields}


def counts():
    return (Opportunity.objects.count(), OpportunityStageChange.objects.count(),
            OpportunityContact.objects.count())


class TestCreate:
    def test_defaults(self):
        account = factories.AccountFactory(name="Initech")
        d = services.opportunity_create(by=None, account=account, product="Widgets")
        assert d.name == "Initech – Widgets" and d.stage.slug == "prospecting"
        assert d.currency == "USD" and d.status == "open" and d.closed_at is None
        assert d.stage_changed_at == d.opened_at and d.version == 1

    def test_a_closed_deal_gets_its_closed_at_and_one_change(self):
        account = factories.AccountFactory()
        d = deal(account, "won", 1, amount=Decimal("10"), closed_at=day(4))
        assert d.status == "won" and d.closed_at == day(4) and d.stage_changed_at == day(4)
        change = OpportunityStageChange.objects.get(opportunity=d)
        assert change.from_stage is None and change.to_stage.slug == "won" and change.at == day(4)

    @pytest.mark.parametrize("fields, field", [
        ({"stage": "won"}, "amount"),
        ({"stage": "won", "amount": Decimal("5"), "closed_at": day(1, hour=1)}, "closed_at"),
        ({"stage": "proposal", "closed_at": day(3)}, "closed_at"),
    ])
    def test_refusals_write_nothing(self, fields, field):
        account = factories.AccountFactory()
        slug = fields.pop("stage")
        with pytest.raises(InvalidInput) as info:
            deal(account, slug, 1, **fields)
        assert field in info.value.detail
        assert counts() == (0, 0, 0)

    def test_an_external_id_in_use_is_refused(self):
        account = factories.AccountFactory()
        deal(account, external_id="crm-1")
        with pytest.raises(InvalidInput) as info:
            deal(account, external_id="crm-1")
        assert "external_id" in info.value.detail


class TestBulkUpsert:
    def test_create_then_a_resend_changes_nothing(self, marketer):
        account = factories.AccountFactory()
        champion = factories.ContactFactory(account=account, email="c@x.example.com",
                                            buying_role="champion")
        items = [
            item(account, "o-1", stage="Proposal", amount="1200", opened_at=day(1).isoformat(),
                 owner=marketer.username, product="Platform",
                 contacts=[{"contact": "c@x.example.com"}]),
            item(account, "o-2", stage="won", amount="300", opened_at=day(2).isoformat(),
                 closed_at=day(9).isoformat()),
            item(account, "o-3", stage="lost", opened_at=day(3).isoformat(),
                 closed_at=day(4).isoformat(), lost_reason="No budget"),
        ]
        first = bulk(items, marketer)
        assert (first.created, first.updated, first.unchanged, first.errors) == (3, 0, 0, [])
        o1 = Opportunity.objects.get(external_id="o-1")
        assert o1.owner == marketer and o1.stage.slug == "proposal"
        assert list(o1.committee.values_list("contact", "role")) == [(champion.pk, "champion")]
        before = counts()
        transitions = StageTransition.objects.count()
        again = bulk(items, marketer)
        assert (again.created, again.updated, again.unchanged, again.errors) == (0, 0, 3, [])
        assert counts() == before and StageTransition.objects.count() == transitions
        assert Opportunity.objects.get(external_id="o-1").version == 1

    def test_changed_rows_are_updated_and_stage_changes_appended(self, marketer):
        account = factories.AccountFactory()
        bulk([item(account, "o-1", stage="proposal", amount="100",
                   opened_at=day(1).isoformat())], marketer)
        result = bulk([item(account, "o-1", stage="won", amount="150",
                            closed_at=day(6).isoformat())], marketer)
        assert (result.created, result.updated, result.errors) == (0, 1, [])
        d = Opportunity.objects.get(external_id="o-1")
        assert (d.status, d.amount, d.closed_at, d.version) == ("won", Decimal("150.00"),
                                                                 day(6), 2)
        changes = list(OpportunityStageChange.objects.filter(opportunity=d).order_by("at")
                       .values_list("to_stage__slug", "at", "amount"))
        assert changes == [("proposal", day(1), Decimal("100.00")),
                           ("won", day(6), Decimal("150.00"))]
        # Leaving won in a sync needs the same explicit reopen as a move.
        refused = bulk([item(account, "o-1", stage="negotiation")], marketer)
        assert refused.errors[0]["errors"]["stage"]
        reopened = bulk([item(account, "o-1", stage="negotiation", reopen=True)], marketer)
        assert reopened.updated == 1 and not reopened.errors
        assert bulk([item(account, "o-1", stage="negotiation", reopen=True)],
                    marketer).unchanged == 1

    def test_bad_items_are_reported_and_write_nothing_of_themselves(self, marketer):
        account, other = factories.AccountFactory(), factories.AccountFactory()
        factories.ContactFactory(account=other, email="theirs@other.example.com")
        factories.CampaignFactory(name="Spring")
        good = item(account, "ok-1", amount="10", campaign="Spring", opened_at=day(1).isoformat())
        items = [
            good,
            {**item(account, "bad-account"), "account": "nowhere.example.com"},  # 1
            {**item(account, "bad-account-2"), "account": ""},  # 2
            item(account, "bad-stage", stage="closed-ish"),  # 3
            item(account, "bad-owner", owner="nobody-here"),  # 4
            item(account, "bad-campaign", campaign="Autumn"),  # 5
            item(account, "bad-amount", amount="-5"),  # 6
            item(account, "bad-dates", stage="lost", opened_at=day(5).isoformat(),
                 closed_at=day(2).isoformat()),  # 7
            item(account, "bad-won", stage="won"),  # 8
            {**good},  # 9: duplicate external_id in one request
            item(account, "bad-contact", contacts="theirs@other.example.com:champion"),  # 10
            item(account, "bad-role", contacts=[{"contact": "x@y.example.com",
                                                 "role": "mascot"}]),  # 11
            "not an object",  # 12
            {"account": account.domain},  # 13: no external_id
        ]
        result = bulk(items, marketer)
        errors = {e["index"]: e["errors"] for e in result.errors}
        assert result.created == 1 and sorted(errors) == list(range(1, 14))
        assert "account" in errors[1] and "account" in errors[2]
        assert "stage" in errors[3] and "owner" in errors[4]
        assert "campaign" in errors[5] and "amount" in errors[6] and "closed_at" in errors[7]
        assert "amount" in errors[8] and "external_id" in errors[9]
        assert "not a contact of" in str(errors[10]["contacts"])
        assert "contacts" in errors[11] and "external_id" in errors[13]
        assert counts() == (1, 1, 0)
        assert not AccountFunnel.objects.filter(account=other).exists()

    def test_over_ten_thousand_items_are_refused_whole(self, marketer):
        with pytest.raises(InvalidInput):
            bulk([{}] * 10_001, marketer)


class TestUpdate:
    def test_plain_fields_and_a_stage_change(self, marketer):
        account = factories.AccountFactory()
        d = deal(account, "prospecting", 1, amount=Decimal("100"))
        d = services.opportunity_update(opportunity=d, by=marketer, product="Suite",
                                        stage=stage("proposal"))
        assert d.product == "Suite" and d.stage.slug == "proposal" and d.version == 2
        assert OpportunityStageChange.objects.filter(opportunity=d).count() == 2

    def test_nothing_given_changes_nothing(self, marketer):
        d = deal(factories.AccountFactory(), "prospecting", 1)
        d = services.opportunity_update(opportunity=d, by=marketer, product="")
        assert d.version == 1

    def test_a_new_account_needs_its_own_committee(self, marketer):
        account, other = factories.AccountFactory(), factories.AccountFactory()
        contact = factories.ContactFactory(account=account)
        d = deal(account, "prospecting", 1, contacts=[(contact, "champion")])
        d = Opportunity.objects.prefetch_related("committee").get(pk=d.pk)
        with pytest.raises(InvalidInput) as info:
            services.opportunity_update(opportunity=d, by=marketer, account=other)
        assert "contacts" in info.value.detail
        d = Opportunity.objects.prefetch_related("committee").get(pk=d.pk)
        d = services.opportunity_update(opportunity=d, by=marketer, account=other, contacts=[])
        assert d.account == other and not d.committee.exists()

    def test_an_open_deal_has_no_closed_at(self, marketer):
        d = deal(factories.AccountFactory(), "prospecting", 1)
        with pytest.raises(InvalidInput) as info:
            services.opportunity_update(opportunity=d, by=marketer, closed_at=day(3))
        assert "closed_at" in info.value.detail


class TestTheAccountFollowsItsDeals:
    def test_a_first_deal_enters_an_account_at_opportunity_with_its_amount(self):
        account = factories.AccountFactory()
        deal(account, "proposal", 5, amount=Decimal("500"))
        state = AccountFunnel.objects.get(account=account)
        assert state.stage.slug == "opportunity" and state.entered_at == day(5)
        transition = StageTransition.objects.get(account=account)
        assert transition.amount == Decimal("500.00") and transition.occurred_at == day(5)

    def test_an_earlier_stage_moves_on_a_later_one_keeps_history_in_order(self):
        engaged, sql = factories.AccountFactory(), factories.AccountFactory()
        funnel_ingesters.transitions_record(items=[
            {"account": engaged.domain, "to_stage": "engaged", "occurred_at": day(3).isoformat()},
            {"account": sql.domain, "to_stage": "sql", "occurred_at": day(10).isoformat()},
        ], user=None)
        deal(engaged, "proposal", 5, amount=Decimal("1"))
        deal(sql, "proposal", 5, amount=Decimal("2"))  # before sql's last move (day 10)
        assert list(StageTransition.objects.filter(account=engaged).order_by("occurred_at")
                    .values_list("to_stage__slug", "occurred_at")) == [
            ("engaged", day(3)), ("opportunity", day(5))]
        assert list(StageTransition.objects.filter(account=sql).order_by("occurred_at")
                    .values_list("to_stage__slug", "occurred_at")) == [
            ("sql", day(10)), ("opportunity", day(10))]

    def test_later_deals_never_move_an_account_back(self):
        account = factories.AccountFactory()
        first = deal(account, "proposal", 1, amount=Decimal("100"))
        services.opportunity_move(opportunity=first, stage=stage("won"), at=day(5), by=None)
        before = StageTransition.objects.filter(account=account).count()
        renewal = deal(account, "prospecting", 20, amount=Decimal("80"))
        services.opportunity_move(opportunity=renewal, stage=stage("won"), at=day(30), by=None)
        assert StageTransition.objects.filter(account=account).count() == before == 2
        assert AccountFunnel.objects.get(account=account).stage.slug == "won"

    def test_loading_years_of_deals_into_a_fresh_install(self, marketer):
        """Deals of three years, sent in no particular order: each account enters at its
        first deal, is won at its first win, and its history is in order."""
        rng = random.Random(7)
        accounts = [factories.AccountFactory() for _ in range(5)]
        items, first_open, first_win = [], {}, {}
        for n in range(60):
            account = rng.choice(accounts)
            opened = rng.randint(-500, 600)
            won = rng.random() < 0.5
            closed = opened + rng.randint(0, 40)
            items.append(item(account, f"y-{n}", amount=str(rng.randint(1, 9) * 100),
                              stage="won" if won else "proposal",
                              opened_at=day(opened).isoformat(),
                              **({"closed_at": day(closed).isoformat()} if won else {})))
            first_open[account.pk] = min(first_open.get(account.pk, opened), opened)
            if won:
                first_win[account.pk] = min(first_win.get(account.pk, closed), closed)
        rng.shuffle(items)
        result = bulk(items, marketer)
        assert result.created == 60 and not result.errors
        for account in accounts:
            moves = list(StageTransition.objects.filter(account=account)
                         .order_by("id").values_list("to_stage__slug", "occurred_at"))
            if account.pk not in first_open:
                assert moves == []
                continue
            assert moves[0] == ("opportunity", day(first_open[account.pk]))
            if account.pk in first_win:
                assert moves[1] == ("won", day(max(first_win[account.pk],
                                                   first_open[account.pk])))
            times = [at for _, at in moves]
            assert times == sorted(times)
