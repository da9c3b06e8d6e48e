from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from abmcrm.core.exceptions import Conflict, InvalidInput, NotAllowed
from programs import services
from programs.models import Budget, OrderEvent, ProgramItem, ProgramOrder
from programs.selectors import menu_lines, period_start
from tests.factories import (
    AccountFactory,
    BudgetFactory,
    ContactFactory,
    ProgramItemFactory,
    ProgramOrderFactory,
    tier,
)

pytestmark = pytest.mark.django_db
S = ProgramOrder.Status


def submit(account, items, rep, **kwargs):
    return services.order_submit(account=account, items=items, requested_by=rep, **kwargs)


class TestOrderSubmit:
    def test_creates_one_requested_order_per_item_with_history(self, account, rep):
        a, b = ProgramItemFactory(menu_tiers=[1], unit_cost=120), ProgramItemFactory(
            menu_tiers=[1], unit_cost=80)
        orders = submit(account, [a.pk, b.pk], rep, note="big renewal")
        assert [(o.item, o.status, o.cost, o.tier.number) for o in orders] == [
            (a, S.REQUESTED, 120, 1), (b, S.REQUESTED, 80, 1)]
        assert all(o.note == "big renewal" and o.requested_by == rep for o in orders)
        events = OrderEvent.objects.filter(order__in=orders)
        assert {(e.from_status, e.to_status, e.by) for e in events} == {("", "requested", rep)}

    def test_rejects_item_not_on_tier_menu_and_writes_nothing(self, account, rep):
        on_menu = ProgramItemFactory(menu_tiers=[1])
        tier2 = ProgramItemFactory(menu_tiers=[2], name="Tier-2 ads")
        with pytest.raises(InvalidInput) as error:
            submit(account, [on_menu.pk, tier2.pk], rep)
        assert error.value.detail["items"] == [{
            "item": tier2.pk, "name": "Tier-2 ads", "code": "not_on_menu",
            "reason": "“Tier-2 ads” is not on Tier 1's menu"}]
        assert not ProgramOrder.objects.exists() and not OrderEvent.objects.exists()

    def test_rejects_inactive_and_out_of_window_items(self, account, rep):
        off = ProgramItemFactory(menu_tiers=[1], is_active=False)
        later = ProgramItemFactory(menu_tiers=[1],
                                   active_from=timezone.localdate() + timedelta(days=1))
        over = ProgramItemFactory(menu_tiers=[1],
                                  active_until=timezone.localdate() - timedelta(days=1))
        with pytest.raises(InvalidInput) as error:
            submit(account, [off.pk, later.pk, over.pk], rep)
        assert [e["code"] for e in error.value.detail["items"]] == ["inactive"] * 3
        assert not ProgramOrder.objects.exists()

    def test_unknown_and_duplicate_items(self, account, rep):
        item = ProgramItemFactory(menu_tiers=[1])
        with pytest.raises(InvalidInput) as error:
            submit(account, [item.pk, 999999], rep)
        assert error.value.code == "unknown_items"
        with pytest.raises(InvalidInput) as error:
            submit(account, [item.pk, item.pk], rep)
        assert error.value.code == "duplicate_items"
        with pytest.raises(InvalidInput):
            submit(account, [], rep)
        assert not ProgramOrder.objects.exists()

    def test_recipient_needed_and_must_belong_to_the_account(self, account, rep):
        gift = ProgramItemFactory(menu_tiers=[1], needs_contact=True)
        with pytest.raises(InvalidInput) as error:
            submit(account, [gift.pk], rep)
        assert error.value.detail["items"][0]["code"] == "needs_contact"
        stranger = ContactFactory()
        with pytest.raises(InvalidInput) as error:
            submit(account, [gift.pk], rep, contact=stranger)
        assert "contact" in error.value.detail
        contact = ContactFactory(account=account)
        [order] = submit(account, [gift.pk], rep, contact=contact)
        assert order.contact == contact

    def test_account_without_tier_has_no_menu(self, rep):
        account = AccountFactory(owner=rep)
        item = ProgramItemFactory(menu_tiers=[1])
        with pytest.raises(InvalidInput) as error:
            submit(account, [item.pk], rep)
        assert "no tier" in error.value.detail["items"][0]["reason"]

    def test_rep_orders_only_for_own_accounts_unless_setting(self, rep, other_rep, marketer):
        theirs = AccountFactory(owner=other_rep, tier=tier(1))
        item = ProgramItemFactory(menu_tiers=[1])
        with pytest.raises(InvalidInput) as error:
            submit(theirs, [item.pk], rep)
        assert error.value.code == "account_not_allowed"
        with override_settings(ABMCRM_REPS_ORDER_ANY_ACCOUNT=True):
            assert len(submit(theirs, [item.pk], rep)) == 1
        assert len(submit(theirs, [ProgramItemFactory(menu_tiers=[1]).pk], marketer)) == 1

    def test_user_without_role_may_not_order(self, nobody, account):
        with pytest.raises(NotAllowed):
            submit(account, [ProgramItemFactory(menu_tiers=[1]).pk], nobody)


class TestPerAccountLimits:
    def test_one_per_quarter(self, account, rep, marketer):
        gift = ProgramItemFactory(menu_tiers=[1], limit_per_account=1,
                                  limit_period=ProgramItem.LimitPeriod.QUARTER)
        [first] = submit(account, [gift.pk], rep)
        with pytest.raises(InvalidInput) as error:
            submit(account, [gift.pk], rep)
        assert error.value.detail["items"][0]["code"] == "limit_reached"
        # A rejected order never happened: it does not count.
        services.order_reject(order=first, by=marketer, reason="wrong contact")
        assert len(submit(account, [gift.pk], rep)) == 1
        # Other accounts have their own limit.
        other = AccountFactory(owner=rep, tier=tier(1))
        assert len(submit(other, [gift.pk], rep)) == 1

    def test_orders_from_the_previous_period_do_not_count(self, account, rep):
        gift = ProgramItemFactory(menu_tiers=[1], limit_per_account=2,
                                  limit_period=ProgramItem.LimitPeriod.MONTH)
        old = ProgramOrderFactory(account=account, item=gift)
        start = period_start(ProgramItem.LimitPeriod.MONTH, timezone.localdate())
        ProgramOrder.objects.filter(pk=old.pk).update(
            created_at=timezone.make_aware(
                timezone.datetime.combine(start - timedelta(days=1), timezone.datetime.min.time())))
        submit(account, [gift.pk], rep)
        submit(account, [gift.pk], rep)  # the second one this month: exactly at the limit
        with pytest.raises(InvalidInput):
            submit(account, [gift.pk], rep)

    def test_period_starts(self):
        day = date(2025, 8, 17)
        P = ProgramItem.LimitPeriod
        assert period_start(P.MONTH, day) == date(2025, 8, 1)
        assert period_start(P.QUARTER, day) == date(2025, 7, 1)
        assert period_start(P.YEAR, day) == date(2025, 1, 1)
        assert period_start(P.EVER, day) is None


class TestAutoApproval:
    def test_cheap_item_is_approved_at_once_by_the_system(self, account, rep):
        budget = BudgetFactory(limit=1000)
        ad = ProgramItemFactory(menu_tiers=[1], unit_cost=50, auto_approve_up_to=50)
        mail_item = ProgramItemFactory(menu_tiers=[1], unit_cost=51, auto_approve_up_to=50)
        auto, manual = submit(account, [ad.pk, mail_item.pk], rep)
        assert auto.status == S.APPROVED and manual.status == S.REQUESTED
        assert auto.events.last().by is None and "Auto-approved" in auto.events.last().note
        budget.refresh_from_db()
        assert budget.committed == 50

    def test_auto_approval_waits_for_a_marketer_when_budget_is_short(self, account, rep):
        BudgetFactory(limit=40)
        ad = ProgramItemFactory(menu_tiers=[1], unit_cost=50, auto_approve_up_to=100)
        [order] = submit(account, [ad.pk], rep)
        order.refresh_from_db()
        assert order.status == S.REQUESTED


class TestTransitionsByActor:
    def test_every_path_through_the_state_machine(self, marketer):
        budget = BudgetFactory(limit=10_000)
        order = ProgramOrderFactory(cost=100)
        services.order_approve(order=order, by=marketer)
        services.order_transition(order=order, to=S.IN_PROGRESS, by=marketer)
        services.order_transition(order=order, to=S.FAILED, by=marketer)
        services.order_transition(order=order, to=S.APPROVED, by=marketer)
        services.order_transition(order=order, to=S.FULFILLED, by=marketer)
        budget.refresh_from_db()
        assert (budget.committed, budget.spent) == (0, 100)
        assert list(order.events.values_list("to_status", flat=True)) == [
            "approved", "in_progress", "failed", "approved", "fulfilled"]
        for final in (S.FULFILLED, S.REJECTED, S.CANCELLED):
            assert ProgramOrder.TRANSITIONS[final] == set()

    def test_rep_cannot_approve_or_reject(self, rep):
        order = ProgramOrderFactory(requested_by=rep)
        with pytest.raises(NotAllowed):
            services.order_approve(order=order, by=rep)
        with pytest.raises(NotAllowed):
            services.order_reject(order=order, by=rep, reason="no")
        assert ProgramOrder.objects.get(pk=order.pk).status == S.REQUESTED

    def test_reject_needs_a_reason(self, marketer):
        order = ProgramOrderFactory()
        with pytest.raises(InvalidInput):
            services.order_reject(order=order, by=marketer, reason="  ")
        services.order_reject(order=order, by=marketer, reason="Over budget this quarter")
        order.refresh_from_db()
        assert order.status == S.REJECTED and order.reason == "Over budget this quarter"

    def test_requesting_rep_cancels_until_fulfillment_starts(self, rep, other_rep, marketer):
        BudgetFactory(limit=10_000)
        requested = ProgramOrderFactory(requested_by=rep)
        with pytest.raises(NotAllowed):
            services.order_cancel(order=requested, by=other_rep)
        services.order_cancel(order=requested, by=rep, reason="deal closed")
        approved = ProgramOrderFactory(requested_by=rep)
        services.order_approve(order=approved, by=marketer)
        services.order_cancel(order=approved, by=rep)
        started = ProgramOrderFactory(requested_by=rep)
        services.order_approve(order=started, by=marketer)
        services.order_transition(order=started, to=S.IN_PROGRESS, by=marketer)
        with pytest.raises(Conflict):
            services.order_cancel(order=started, by=rep)
        assert ProgramOrder.objects.get(pk=started.pk).status == S.IN_PROGRESS

    def test_marketer_cancels_any_approved_order_releasing_the_budget(self, marketer):
        budget = BudgetFactory(limit=500)
        order = ProgramOrderFactory(cost=200)
        services.order_approve(order=order, by=marketer)
        services.order_cancel(order=order, by=marketer, reason="event postponed")
        budget.refresh_from_db()
        assert budget.committed == 0

    def test_approving_a_cancelled_order_is_a_conflict(self, rep, marketer):
        budget = BudgetFactory(limit=500)
        order = ProgramOrderFactory(requested_by=rep)
        services.order_cancel(order=order, by=rep)
        with pytest.raises(Conflict):
            services.order_approve(order=order, by=marketer)
        budget.refresh_from_db()
        assert budget.committed == 0 and order.events.count() == 1


class TestBudgets:
    def test_exactly_at_limit_then_refused_naming_the_budget(self, marketer):
        BudgetFactory(limit=1000, name="Everything")
        tier_budget = BudgetFactory(limit=Decimal("300"), scope=Budget.Scope.TIER,
                                    tier=tier(1), name="Tier 1 Q3")
        account = AccountFactory(tier=tier(1))
        orders = [ProgramOrderFactory(account=account, tier=tier(1), cost=c)
                  for c in (Decimal("200"), Decimal("100"), Decimal("0.01"))]
        services.order_approve(order=orders[0], by=marketer)
        services.order_approve(order=orders[1], by=marketer)
        with pytest.raises(Conflict, match="Tier 1 Q3"):
            services.order_approve(order=orders[2], by=marketer)
        tier_budget.refresh_from_db()
        everything = Budget.objects.get(name="Everything")
        # Nothing half-written: the "all" budget checked first was rolled back too.
        assert tier_budget.committed == 300 and everything.committed == 300

    def test_budgets_of_other_periods_scopes_do_not_apply(self, marketer):
        BudgetFactory(limit=0, start_date=date(2000, 1, 1), end_date=date(2000, 12, 31))
        other_item = ProgramItemFactory()
        BudgetFactory(limit=0, scope=Budget.Scope.ITEM, item=other_item)
        order = ProgramOrderFactory(cost=100)
        services.order_approve(order=order, by=marketer)
        assert order.status == S.APPROVED and order.budgets.count() == 0

    def test_limit_cannot_drop_below_committed(self, marketer):
        budget = BudgetFactory(limit=500)
        services.order_approve(order=ProgramOrderFactory(cost=300), by=marketer)
        with pytest.raises(Conflict):
            services.budget_update(budget=budget, limit=Decimal("299.99"))
        assert services.budget_update(budget=budget, limit=Decimal("300")).limit == 300


class TestMenu:
    def test_lines_in_menu_order_with_reasons(self, account, rep):
        first = ProgramItemFactory(menu_tiers=[1], name="Landing page", unit_cost=300)
        gift = ProgramItemFactory(menu_tiers=[1], name="Gift", needs_contact=True,
                                  limit_per_account=1)
        ProgramItemFactory(menu_tiers=[1], name="Retired", is_active=False)
        ProgramItemFactory(menu_tiers=[2], name="Tier 2 only")
        BudgetFactory(limit=250, name="Tiny")
        lines = menu_lines(account=account)
        assert [line.item.name for line in lines] == ["Landing page", "Gift"]
        assert lines[0].reason_code == "budget_exhausted" and "Tiny" in lines[0].reason
        assert lines[1].reason_code == "needs_contact"
        assert lines[1].budget_remaining == 250
        ContactFactory(account=account)
        ProgramOrderFactory(account=account, item=gift)
        lines = menu_lines(account=account)
        assert lines[1].reason_code == "limit_reached" and not lines[1].can_order
        assert first.pk == lines[0].item.pk


class TestNotifications:
    @pytest.mark.parametrize("to", [S.APPROVED, S.REJECTED, S.CANCELLED])
    def test_requesting_rep_is_mailed_after_commit(self, rep, marketer, to,
                                                   django_capture_on_commit_callbacks):
        order = ProgramOrderFactory(requested_by=rep)
        with django_capture_on_commit_callbacks(execute=True):
            if to == S.APPROVED:
                services.order_approve(order=order, by=marketer)
            elif to == S.REJECTED:
                services.order_reject(order=order, by=marketer, reason="Not this quarter")
            else:
                services.order_cancel(order=order, by=marketer)
        [message] = mail.outbox
        assert message.to == [rep.email]
        assert order.item.name in message.subject and to.label.split()[0] in message.subject

    @pytest.mark.parametrize("to", [S.FULFILLED, S.FAILED])
    def test_fulfillment_outcomes_are_mailed_too(self, rep, marketer, to,
                                                django_capture_on_commit_callbacks):
        order = ProgramOrderFactory(requested_by=rep)
        services.order_approve(order=order, by=marketer)
        with django_capture_on_commit_callbacks(execute=True):
            services.order_transition(order=order, to=to, by=None)
        assert [m.to for m in mail.outbox] == [[rep.email]]

    def test_no_mail_for_a_refused_transition(self, rep, marketer,
                                              django_capture_on_commit_callbacks):
        BudgetFactory(limit=10)
        order = ProgramOrderFactory(requested_by=rep, cost=100)
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            with pytest.raises(Conflict):
                services.order_approve(order=order, by=marketer)
        assert callbacks == [] and mail.outbox == []

    def test_a_second_delivery_of_the_mail_task_sends_nothing(self, rep, marketer,
                                                              django_capture_on_commit_callbacks):
        from programs.models import OrderEvent
        from programs.tasks import notify_order_status

        order = ProgramOrderFactory(requested_by=rep)
        with django_capture_on_commit_callbacks(execute=True):
            services.order_approve(order=order, by=marketer)
        event = OrderEvent.objects.get(order=order, to_status=S.APPROVED)
        assert event.notified_at is not None
        notify_order_status.delay(event.pk)  # redelivered
        assert len(mail.outbox) == 1


class TestRecipients:
    def test_each_item_gets_its_own_recipient(self, account, rep):
        tin = ProgramItemFactory(menu_tiers=[1], needs_contact=True)
        book = ProgramItemFactory(menu_tiers=[1], needs_contact=True)
        ads = ProgramItemFactory(menu_tiers=[1], kind="account_based_ad")
        bill, peter = ContactFactory(account=account), ContactFactory(account=account)
        orders = submit(account, [tin.pk, book.pk, ads.pk], rep,
                        contacts={tin.pk: bill, book: peter})
        assert [o.contact for o in orders] == [bill, peter, None]

    def test_one_contact_goes_to_the_items_that_need_one_only(self, account, rep):
        tin = ProgramItemFactory(menu_tiers=[1], needs_contact=True)
        ads = ProgramItemFactory(menu_tiers=[1], kind="account_based_ad")
        bill = ContactFactory(account=account)
        orders = submit(account, [tin.pk, ads.pk], rep, contact=bill)
        assert [o.contact for o in orders] == [bill, None]

    def test_an_item_without_its_recipient_is_refused(self, account, rep):
        tin = ProgramItemFactory(menu_tiers=[1], needs_contact=True, name="Tin")
        book = ProgramItemFactory(menu_tiers=[1], needs_contact=True, name="Book")
        with pytest.raises(InvalidInput) as error:
            submit(account, [tin.pk, book.pk], rep,
                   contacts={tin.pk: ContactFactory(account=account)})
        assert [(e["item"], e["code"]) for e in error.value.detail["items"]] == [
            (book.pk, "needs_contact")]
        assert not ProgramOrder.objects.exists()

    def test_recipients_of_another_account_or_item_are_refused(self, account, rep):
        tin = ProgramItemFactory(menu_tiers=[1], needs_contact=True)
        stranger = ContactFactory()
        with pytest.raises(InvalidInput) as error:
            submit(account, [tin.pk], rep, contacts={tin.pk: stranger})
        assert error.value.code == "contact_of_other_account"
        with pytest.raises(InvalidInput) as error:
            submit(account, [tin.pk], rep,
                   contacts={tin.pk: ContactFactory(account=account), 999: stranger})
        assert error.value.code == "contacts_for_other_items"
        assert not ProgramOrder.objects.exists()


class TestBulkDecideReasons:
    def test_each_rejected_order_gets_its_own_reason_or_the_shared_one(self, marketer):
        a, b, c = (ProgramOrderFactory() for _ in range(3))
        done, failed = services.orders_bulk_decide(
            order_ids=[a.pk, b.pk, c.pk], decision="reject", by=marketer,
            reason="Not this quarter", reasons={a.pk: "Duplicate", b.pk: "  "})
        assert failed == [] and len(done) == 3
        reasons = dict(ProgramOrder.objects.values_list("pk", "reason"))
        assert reasons == {a.pk: "Duplicate", b.pk: "Not this quarter",
                           c.pk: "Not this quarter"}

    def test_a_missing_reason_decides_nothing_and_names_the_orders(self, marketer):
        a, b = ProgramOrderFactory(), ProgramOrderFactory()
        with pytest.raises(InvalidInput) as error:
            services.orders_bulk_decide(order_ids=[a.pk, b.pk], decision="reject",
                                        by=marketer, reasons={a.pk: "Duplicate"})
        assert error.value.detail["reasons"] == {
            str(b.pk): ["A reason is required to reject this order."]}
        assert set(ProgramOrder.objects.values_list("status", flat=True)) == {S.REQUESTED}


class TestMayCancelNow:
    @pytest.mark.parametrize("status,rep_may,marketer_may", [
        (S.REQUESTED, True, True), (S.APPROVED, True, True), (S.IN_PROGRESS, False, False),
        (S.FULFILLED, False, False), (S.CANCELLED, False, False)])
    def test_by_status_and_role(self, rep, other_rep, marketer, status, rep_may, marketer_may):
        order = ProgramOrderFactory(requested_by=rep, status=status)
        assert services.may_cancel_now(rep, order) is rep_may
        assert services.may_cancel_now(marketer, order) is marketer_may
        assert services.may_cancel_now(other_rep, order) is False
