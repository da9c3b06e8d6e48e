"""Plays in the browser, at phone and desktop size: a marketer writes a play on /plays/, the
play fires for an account, its owner finds the suggested program pre-ticked (and why) on the
ordering page and orders it; the rep sets their notifications."""

import pytest
from playwright.sync_api import expect

from plays import consumer
from plays.models import NotificationPreference, Play
from programs.models import ProgramOrder
from tests.browser.conftest import SIZES, open_menu, overflow, screenshot
from tests.factories import AccountFactory, ProgramItemFactory, tier
from tests.plays.conftest import make_event

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("size", SIZES)
def test_a_play_suggests_and_the_rep_orders(page, login, logout, rep, marketer, size):
    account = AccountFactory(name="Initech", owner=rep, tier=tier(1), fit_score=88)
    gift = ProgramItemFactory(name="Executive gift box", menu_tiers=[1], unit_cost=120)
    ProgramItemFactory(name="Display ads", menu_tiers=[1])

    login("marketer1")
    open_menu(page)
    page.get_by_role("link", name="Plays").click()
    form = page.locator("#play-form")
    form.locator("input[name=name]").fill("Tier 1 welcome")
    form.locator("select[name=event]").select_option("account.tier_changed")
    form.locator("input[name=tier][value='1']").check()
    form.locator("input[name=fit_min]").fill("70")
    form.locator("input[name=suggest]").check()
    form.locator(f"input[name=suggest_items][value='{gift.pk}']").check()
    screenshot(page, "play-new")
    assert overflow(page) <= 0
    form.get_by_role("button", name="Create play").click()
    page.wait_for_load_state()
    expect(page.locator(".messages")).to_contain_text("Play “Tier 1 welcome” created.")
    expect(page.locator("[data-testid=plays]")).to_contain_text("Tier 1 welcome")
    play = Play.objects.get()
    assert play.conditions == {"tier": [1], "fit_min": 70}

    # The account moves to tier 1: the outbox event reaches the play.
    consumer.event_handle(make_event("account.tier_changed", account,
                                     {"new_tier": {"number": 1}}, save=True))
    page.goto(f"/plays/{play.pk}/")
    expect(page.locator("[data-testid=play-log]")).to_contain_text("Initech")
    screenshot(page, "play-log")
    assert overflow(page) <= 0
    logout()

    login("rep1")
    page.goto(f"/accounts/{account.pk}/programs/")
    row = page.locator(f"tr[data-item='{gift.pk}']")
    expect(row.locator("[data-testid=suggested]")).to_have_text(
        "Suggested by play “Tier 1 welcome”, because the account changed tier (tier 1, "
        "fit 88 ≥ 70)")
    expect(row.locator("input[name=items]")).to_be_checked()
    expect(page.locator("tr.menu-item").nth(1).locator("input[name=items]")).not_to_be_checked()
    screenshot(page, "play-suggested-menu")
    assert overflow(page) <= 0
    page.get_by_role("button", name="Order selected programs").click()
    page.wait_for_load_state()
    expect(page.locator("#placed")).to_contain_text("Executive gift box")
    order = ProgramOrder.objects.get()
    assert (order.item, order.requested_by) == (gift, rep)
    # Taken up: no longer suggested.
    page.goto(f"/accounts/{account.pk}/programs/")
    expect(page.locator("[data-testid=suggested]")).to_have_count(0)

    # My notifications, from the menu.
    open_menu(page)
    page.get_by_role("link", name="My notifications").click()
    page.locator("input[name=digest][value=daily]").check()
    page.locator("input[name=immediate_6qa]").check()
    page.locator("#notification-form select[name=language]").select_option("ko")
    screenshot(page, "my-notifications")
    assert overflow(page) <= 0
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    expect(page.locator(".messages")).to_contain_text("preferences are saved")
    preference = NotificationPreference.objects.get(user=rep)
    assert (preference.immediate_6qa, preference.language) == (True, "ko")
