"""A rep follows and cancels their orders in the pages, at desktop and phone size: on My
orders, on the account page and on the order page; an overdue order is flagged for them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from programs.models import ProgramOrder
from programs.services import order_transition
from tests.browser.conftest import SIZES, overflow, screenshot
from tests.factories import AccountFactory, ContactFactory, ProgramItemFactory, ProgramOrderFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
S = ProgramOrder.Status


def cancel(page, row, reason=""):
    row.locator("summary", has_text="Cancel").click()
    if reason:
        row.locator("input[name=reason]").fill(reason)
    row.get_by_role("button", name="Cancel this order").click()
    page.wait_for_load_state()


@pytest.mark.parametrize("size", SIZES)
def test_rep_cancels_from_my_orders_the_account_page_and_the_order_page(
        page, login, rep, marketer, size):
    account = AccountFactory(name="Globex", owner=rep)
    contact = ContactFactory(account=account, first_name="Hank", last_name="Scorpio")
    gift = ProgramItemFactory(name="Popcorn tin", needs_contact=True, unit_cost=1250)
    first, second, third = (ProgramOrderFactory(account=account, item=gift, contact=contact,
                                                requested_by=rep) for _ in range(3))
    late = ProgramOrderFactory(account=account, item=ProgramItemFactory(name="Ice cream"),
                               requested_by=rep)
    order_transition(order=late, to=S.APPROVED, by=marketer)
    ProgramOrder.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(days=2))
    shipped = ProgramOrderFactory(account=account, requested_by=rep, status=S.FULFILLED)

    login("rep1")
    page.goto("/orders/")
    screenshot(page, "my-orders-cancel")
    assert overflow(page) <= 0
    # The overdue order is flagged for the rep too; a fulfilled one offers no Cancel.
    assert "overdue" in page.locator(f"tr[data-order='{late.pk}']").inner_text()
    assert page.locator(f"tr[data-order='{shipped.pk}'] summary").count() == 0
    assert "1,250\xa0USD" in page.locator(f"tr[data-order='{first.pk}']").inner_text()

    cancel(page, page.locator(f"tr[data-order='{first.pk}']"), "Meeting moved to Q4")
    assert f"Order #{first.pk} (Popcorn tin for Globex) cancelled." in page.inner_text(
        ".messages")
    assert page.url.endswith("/orders/")
    row = page.locator(f"tr[data-order='{first.pk}']")
    assert "Cancelled" in row.inner_text() and "Meeting moved to Q4" in row.inner_text()

    # On the account page.
    page.goto(f"/accounts/{account.pk}/")
    cancel(page, page.locator(f"#orders tr[data-order='{second.pk}']"))
    assert "cancelled" in page.inner_text(".messages")
    assert "/accounts/" in page.url
    assert "Cancelled" in page.locator(f"#orders tr[data-order='{second.pk}']").inner_text()

    # On the order page, reached from My orders.
    page.goto("/orders/")
    page.locator(f"tr[data-order='{third.pk}'] a", has_text=f"#{third.pk}").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/orders/{third.pk}/")
    assert "Hank Scorpio" in page.inner_text("main") and overflow(page) <= 0
    screenshot(page, "order-page-cancel")
    cancel(page, page.locator(f"[data-order='{third.pk}']"))
    assert page.url.endswith(f"/orders/{third.pk}/")
    assert page.locator("[data-status]").get_attribute("data-status") == "cancelled"
    assert "Cancelled by rep1" in page.inner_text("ol.history")
    assert page.locator("summary", has_text="Cancel").count() == 0

    statuses = dict(ProgramOrder.objects.values_list("pk", "status"))
    assert [statuses[o.pk] for o in (first, second, third, late, shipped)] == [
        S.CANCELLED, S.CANCELLED, S.CANCELLED, S.APPROVED, S.FULFILLED]
