import pytest

from programs.models import OrderEvent, ProgramOrder
from programs.services import order_transition
from tests.factories import AccountFactory, ContactFactory, ProgramItemFactory, ProgramOrderFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
S = ProgramOrder.Status


def test_marketer_claims_and_fulfils_then_the_rep_sees_it(page, login, rep, marketer):
    account = AccountFactory(name="Globex", owner=rep)
    contact = ContactFactory(account=account, first_name="Hank", last_name="Scorpio")
    item = ProgramItemFactory(name="Popcorn tin", needs_contact=True)
    order = ProgramOrderFactory(account=account, item=item, contact=contact, requested_by=rep)
    other = ProgramOrderFactory(item=item)
    for each in (order, other):
        order_transition(order=each, to=S.APPROVED, by=marketer)

    login("marketer1")
    page.click("text=Fulfillment")
    page.wait_for_url("**/fulfillment/")
    row = page.locator(f"tr[data-order='{order.pk}']")
    assert "Globex" in row.inner_text() and "Hank Scorpio" in row.inner_text()
    assert page.locator("[data-count=approved] .stat").inner_text() == "2"

    row.get_by_role("button", name="Claim").click()
    page.wait_for_load_state()
    assert "claimed" in page.inner_text(".messages")
    row = page.locator(f"tr[data-order='{order.pk}']")
    assert row.locator("[data-status]").get_attribute("data-status") == "in_progress"
    assert "marketer1" in row.inner_text()

    row.locator("summary", has_text="Mark fulfilled").click()
    row.locator("input[name=external_reference]").fill("UPS 1Z42")
    row.locator("input[name=note]").fill("Delivered to reception")
    row.get_by_role("button", name="Mark fulfilled").click()
    page.wait_for_load_state()
    assert "marked fulfilled" in page.inner_text(".messages")
    assert page.locator(f"tr[data-order='{order.pk}']").count() == 0
    assert page.locator("[data-count=in_progress] .stat").inner_text() == "0"

    order.refresh_from_db()
    assert (order.status, order.external_reference) == (S.FULFILLED, "UPS 1Z42")
    assert list(OrderEvent.objects.filter(order=order).values_list("to_status", flat=True)) == [
        "approved", "in_progress", "fulfilled"]

    # The rep: no fulfillment queue for them; their account page shows the order fulfilled,
    # with its history.
    page.get_by_role("button", name="Log out").click()
    login("rep1")
    assert page.locator("header a", has_text="Fulfillment").count() == 0
    response = page.goto("/fulfillment/")
    assert response.status == 403
    page.goto(f"/accounts/{account.pk}/")
    assert "Globex" in page.inner_text("h1")
    row = page.locator(f"#orders tr[data-order='{order.pk}']")
    assert row.locator("td.status").inner_text().startswith("Fulfilled")
    history = row.locator("ol.history").inner_text()
    assert "In progress by marketer1" in history and "Fulfilled by marketer1" in history
