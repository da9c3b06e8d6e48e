import pytest

from plays import runner
from plays.models import Alert, PlayOrder, PlayRun, PlaySuggestion
from programs.models import ProgramOrder
from tests.factories import (
    BudgetFactory,
    ContactFactory,
    MarketerFactory,
    PlayFactory,
    ProgramItemFactory,
)
from tests.plays.conftest import make_event

pytestmark = pytest.mark.django_db

TIER_1 = {"new_tier": {"id": 1, "number": 1, "name": "Strategic"}, "old_tier": None}


def fire(play, account, data=TIER_1, type="account.tier_changed"):
    return runner.play_fire(play=play, event=make_event(type, account, data), account=account)


class TestMatch:
    @pytest.mark.parametrize("conditions, fires", [
        ({}, True), ({"tier": [1]}, True), ({"tier": [2, 3]}, False),
        ({"fit_min": 82}, True), ({"fit_min": 83}, False),
        ({"topics": ["crm software", "erp"]}, True), ({"topics": ["erp"]}, False),
        ({"buying_stage": ["decision"]}, False),
    ])
    def test_conditions(self, account, conditions, fires):
        play = PlayFactory(conditions=conditions)
        matched, why = runner.match(play, make_event("account.tier_changed", account, TIER_1),
                                    account)
        assert matched is fires, why

    def test_the_event_decides_over_the_account(self, account):
        """The tier the event moved to, the topics that started surging and the stage reached
        count, not the account's row (which a later change may have moved on)."""
        play = PlayFactory(conditions={"tier": [2]})
        event = make_event("account.tier_changed", account, {"new_tier": {"number": 2}})
        assert runner.match(play, event, account)[0]
        play = PlayFactory(event="account.surging", conditions={"topics": ["erp"]})
        event = make_event("account.surging", account, {"topics": ["ERP"],
                                                        "surging_topics": ["erp", "crm"]})
        assert runner.match(play, event, account)[0]
        play = PlayFactory(event="account.buying_stage_changed",
                           conditions={"buying_stage": ["decision"]})
        event = make_event("account.buying_stage_changed", account,
                           {"old_stage": "consideration", "new_stage": "decision"})
        matched, why = runner.match(play, event, account)
        assert matched and "buying stage decision" in why

    def test_reason_says_why(self, account):
        play = PlayFactory(conditions={"tier": [1], "fit_min": 70})
        assert runner.match(play, make_event("account.tier_changed", account, TIER_1),
                            account)[1] == "the account changed tier (tier 1, fit 82 ≥ 70)"


class TestSuggest:
    def test_suggests_items_on_the_menu(self, account, items):
        play = PlayFactory(actions=[{"type": "suggest", "items": [i.pk for i in items]}])
        run = fire(play, account)
        assert run.results[0]["items"] == [items[0].pk, items[1].pk]
        # The webinar is on tier 2's menu only: left out, and the log says why.
        assert "Webinar" in run.results[0]["note"]
        assert set(PlaySuggestion.objects.values_list("item__name", flat=True)) == {
            "Gift box", "Custom ad"}

    def test_no_owner_no_suggestion(self, account, items):
        account.owner = None
        account.save()
        run = fire(PlayFactory(actions=[{"type": "suggest", "items": [items[0].pk]}]), account)
        assert run.results[0]["done"] is False and not PlaySuggestion.objects.exists()


class TestOnce:
    def test_a_play_fires_once_per_event(self, account):
        play = PlayFactory()
        event = make_event("account.tier_changed", account, TIER_1)
        assert runner.play_fire(play=play, event=event, account=account) is not None
        assert runner.play_fire(play=play, event=event, account=account) is None
        assert PlayRun.objects.count() == 1 and Alert.objects.count() == 1

    def test_no_match_leaves_no_log(self, account):
        assert fire(PlayFactory(conditions={"tier": [3]}), account) is None
        assert not PlayRun.objects.exists()


class TestNotify:
    def test_notify_writes_an_immediate_alert_for_the_owner(self, account, owner):
        run = fire(PlayFactory(name="Hot", actions=[{"type": "notify"}]), account)
        alert = Alert.objects.get()
        assert (alert.user, alert.immediate, alert.play_id) == (owner, True, run.play_id)
        assert alert.data["play_name"] == "Hot"


class TestOrder:
    def order_play(self, item, **action):
        return PlayFactory(created_by=MarketerFactory(), actions=[
            {"type": "order", "items": [item.pk], "max_per_account": 1, "period": "quarter",
             **action}])

    def test_orders_are_requested_never_approved(self, account, owner):
        item = ProgramItemFactory(menu_tiers=[1], auto_approve_up_to=1000, unit_cost=10)
        run = fire(self.order_play(item), account)
        order = ProgramOrder.objects.get()
        # The item would be auto-approved for a rep's order; a play's waits for a person.
        assert order.status == ProgramOrder.Status.REQUESTED
        assert order.requested_by == owner and "Ordered by play" in order.note
        assert run.results[0]["orders"] == [order.pk]
        assert PlayOrder.objects.get().order == order

    def test_cap_per_account_and_period(self, account):
        item = ProgramItemFactory(menu_tiers=[1])
        play = self.order_play(item)
        fire(play, account)
        second = fire(play, account)
        assert ProgramOrder.objects.count() == 1
        assert second.results[0]["note"] == (
            "already ordered 1 time(s) this quarter for this account (the play's cap)")
        assert second.results[0]["done"] is False

    def test_only_items_on_the_accounts_menu(self, account, items):
        run = fire(self.order_play(items[2]), account)  # the webinar: tier 2's menu only
        assert not ProgramOrder.objects.exists()
        assert "not on Tier 1's menu" in run.results[0]["note"]

    def test_never_over_a_budget(self, account):
        item = ProgramItemFactory(menu_tiers=[1], unit_cost=60)
        BudgetFactory(limit=100, committed=50)
        run = fire(self.order_play(item), account)
        assert not ProgramOrder.objects.exists()
        assert "budget" in run.results[0]["note"]

    def test_a_recipient_is_chosen_for_items_sent_to_a_person(self, account):
        item = ProgramItemFactory(menu_tiers=[1], needs_contact=True)
        run = fire(self.order_play(item), account)
        assert not ProgramOrder.objects.exists() and "recipient" in run.results[0]["note"]
        contact = ContactFactory(account=account)
        fire(self.order_play(item), account)
        assert ProgramOrder.objects.get().contact == contact

    def test_the_other_actions_still_run_when_ordering_is_refused(self, account, items):
        play = PlayFactory(actions=[{"type": "order", "items": [items[2].pk],
                                     "max_per_account": 1, "period": "month"},
                                    {"type": "notify"}])
        run = fire(play, account)
        assert [r["done"] for r in run.results] == [False, True]
