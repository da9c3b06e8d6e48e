"""Each ticked item that is sent to a person gets its own recipient, the pickers defaulting to
the last one chosen; the queue shows where each ships. At desktop and phone size."""

import pytest

from programs.models import ProgramOrder
from tests.browser.conftest import SIZES, overflow, screenshot
from tests.factories import AccountFactory, ContactFactory, ProgramItemFactory, ProgramOrderFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("size", SIZES)
def test_rep_picks_a_recipient_per_item_and_the_queue_shows_the_address(
        page, login, logout, rep, marketer, size):
    from tests.factories import tier

    account = AccountFactory(name="Initech", owner=rep, tier=tier(1))
    bill = ContactFactory(account=account, first_name="Bill", last_name="Lumbergh",
                          address_line1="1 Initech Way", city="Austin", postal_code="78701")
    peter = ContactFactory(account=account, first_name="Peter", last_name="Gibbons",
                           address_line1="9 Cubicle Row", city="Dallas", postal_code="75201")
    ProgramOrderFactory(account=account, contact=bill, requested_by=rep)  # the last chosen
    tin = ProgramItemFactory(menu_tiers=[1], name="Popcorn tin", needs_contact=True)
    book = ProgramItemFactory(menu_tiers=[1], name="Signed book", needs_contact=True)
    ads = ProgramItemFactory(menu_tiers=[1], name="Account-based ads", kind="account_based_ad",
                             auto_approve_up_to=1000)

    login("rep1")
    page.goto(f"/accounts/{account.pk}/programs/")
    assert overflow(page) <= 0
    # Only the items sent to a person have a picker, each defaulting to the last recipient.
    assert page.locator(f"#contact-{ads.pk}").count() == 0
    assert page.input_value(f"#contact-{tin.pk}") == str(bill.pk)
    assert page.input_value(f"#contact-{book.pk}") == str(bill.pk)
    for item in (tin, book, ads):
        page.check(f"#item-{item.pk}")
    page.select_option(f"#contact-{book.pk}", str(peter.pk))
    screenshot(page, "programs-recipients")
    page.click("button:has-text('Order selected programs')")
    page.wait_for_load_state()
    assert "3 programs ordered for Initech." in page.inner_text(".messages")
    recipients = dict(ProgramOrder.objects.filter(account=account, item__in=[tin, book, ads])
                      .values_list("item_id", "contact_id"))
    assert recipients == {tin.pk: bill.pk, book.pk: peter.pk, ads.pk: None}

    # The marketer's queue says where each ships (the ads auto-approved: nothing to ship).
    logout()
    login("marketer1")
    from programs.services import order_approve

    for order in ProgramOrder.objects.filter(item__in=[tin, book]):
        order_approve(order=order, by=marketer)
    page.goto("/fulfillment/")
    assert overflow(page) <= 0
    screenshot(page, "fulfillment-queue-addresses")
    tin_row = page.locator("tr", has_text="Popcorn tin").locator("td.recipient")
    book_row = page.locator("tr", has_text="Signed book").locator("td.recipient")
    assert "1 Initech Way" in tin_row.inner_text() and "Austin" in tin_row.inner_text()
    assert "9 Cubicle Row" in book_row.inner_text() and "Dallas" in book_row.inner_text()
    assert "nothing to ship" in page.locator("tr", has_text="Account-based ads").inner_text()
