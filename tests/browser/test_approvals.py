"""The marketer approves some orders and rejects others, each with its own reason, after a
mistake that keeps the ticks; select-all ticks the page. At desktop and phone size."""

import pytest

from programs.models import ProgramOrder
from tests.browser.conftest import SIZES, overflow, screenshot
from tests.factories import BudgetFactory, ProgramOrderFactory, tier

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
S = ProgramOrder.Status


@pytest.mark.parametrize("size", SIZES)
def test_marketer_rejects_with_reasons_per_order_after_a_mistake(page, login, marketer, rep,
                                                                  size):
    BudgetFactory(limit=10_000, name="Quarter")
    a, b, c, d = (ProgramOrderFactory(cost=100, tier=tier(1), requested_by=rep)
                  for _ in range(4))
    login("marketer1")
    page.goto("/orders/approvals/")
    assert overflow(page) <= 0

    # A mistake: three ticked, a reason for one only, Reject.
    for order in (a, b, c):
        page.check(f"#order-{order.pk}")
    page.fill(f"#reason-{a.pk}", "Duplicate of an earlier order")
    page.click("button:has-text('Reject selected')")
    page.wait_for_load_state()
    assert "Missing for" in page.inner_text(".messages")
    screenshot(page, "approvals-mistake")
    # Nothing was decided, the ticks and the typed reason are kept, the rows without one
    # say so.
    assert [page.is_checked(f"#order-{o.pk}") for o in (a, b, c, d)] == [True, True, True,
                                                                           False]
    assert page.input_value(f"#reason-{a.pk}") == "Duplicate of an earlier order"
    for order in (b, c):
        assert "A reason is required" in page.locator(f"tr[data-order='{order.pk}']").inner_text()
    assert set(ProgramOrder.objects.values_list("status", flat=True)) == {S.REQUESTED}

    # Corrected: c is not to be rejected after all; b gets its own reason.
    page.uncheck(f"#order-{c.pk}")
    page.fill(f"#reason-{b.pk}", "Tier 3 budget only")
    page.click("button:has-text('Reject selected')")
    page.wait_for_load_state()
    assert "2 orders rejected" in page.inner_text(".messages")

    # Select all ticks what is left (c and d); approve them.
    page.check("#select-all")
    assert page.is_checked(f"#order-{c.pk}") and page.is_checked(f"#order-{d.pk}")
    page.click("button:has-text('Approve selected')")
    page.wait_for_load_state()
    assert "2 orders approved" in page.inner_text(".messages")
    assert "Nothing waits for approval" in page.inner_text("table.pending")

    orders = {o.pk: o for o in ProgramOrder.objects.all()}
    assert (orders[a.pk].status, orders[a.pk].reason) == (S.REJECTED,
                                                          "Duplicate of an earlier order")
    assert (orders[b.pk].status, orders[b.pk].reason) == (S.REJECTED, "Tier 3 budget only")
    assert orders[c.pk].status == orders[d.pk].status == S.APPROVED
