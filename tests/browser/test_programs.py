"""A rep orders two programs for a tier-1 account by ticking boxes; a marketer approves one
and rejects the other; the rep sees both outcomes."""

import pytest

from programs.models import ProgramOrder
from tests.factories import (
    AccountFactory,
    BudgetFactory,
    MarketerFactory,
    ProgramItemFactory,
    RepFactory,
    tier,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_rep_orders_marketer_decides_rep_sees_outcomes(page, login):
    rep = RepFactory(username="rita")
    MarketerFactory(username="mark")
    account = AccountFactory(name="Northwind Traders", owner=rep, tier=tier(1))
    content = ProgramItemFactory(menu_tiers=[1], name="Custom thought-leadership report",
                                 kind="custom_content", unit_cost=2500, lead_time_days=21)
    page_item = ProgramItemFactory(menu_tiers=[1], name="Personalised landing page",
                                   kind="landing_page", unit_cost=1200)
    ProgramItemFactory(menu_tiers=[2], name="Tier two only")
    BudgetFactory(limit=10_000, name="Q budget")

    # The rep opens the account, follows the link to its programs and ticks two.
    login("rita")
    page.goto(f"/accounts/{account.pk}/")
    page.click("text=Order programs")
    page.wait_for_load_state()
    assert "Tier 1" in page.inner_text("h1")
    assert "Tier two only" not in page.inner_text("main")
    page.check(f"#item-{content.pk}")
    page.check(f"#item-{page_item.pk}")
    page.fill("#note", "Board meeting next month")
    page.click("button:has-text('Order selected programs')")
    page.wait_for_load_state()
    placed = page.locator("#placed")
    assert "Custom thought-leadership report" in placed.inner_text()
    assert placed.inner_text().count("Requested") == 2
    first = ProgramOrder.objects.get(item=content)
    second = ProgramOrder.objects.get(item=page_item)

    # The marketer approves one and rejects the other.
    page.click("button:has-text('Log out')")
    login("mark")
    page.click("header >> text=Approvals")
    page.wait_for_load_state()
    assert "Northwind Traders" in page.inner_text("table.pending")
    page.check(f"#order-{first.pk}")
    page.click("button:has-text('Approve selected')")
    page.wait_for_load_state()
    assert "1 order approved" in page.inner_text(".messages")
    page.check(f"#order-{second.pk}")
    page.fill("#reason", "One landing page per account per year")
    page.click("button:has-text('Reject selected')")
    page.wait_for_load_state()
    assert "1 order rejected" in page.inner_text(".messages")
    assert "Nothing waits for approval" in page.inner_text("table.pending")

    # The rep sees both outcomes on the account page.
    page.click("button:has-text('Log out')")
    login("rita")
    page.goto(f"/accounts/{account.pk}/")
    orders = page.locator("#orders")
    row_first = orders.locator(f"tr[data-order='{first.pk}']")
    row_second = orders.locator(f"tr[data-order='{second.pk}']")
    assert "Approved" in row_first.locator("td.status").inner_text()
    assert "Rejected" in row_second.locator("td.status").inner_text()
    assert "One landing page per account per year" in row_second.inner_text()
