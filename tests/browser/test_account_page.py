import pytest
from django.core.management import call_command

from tiers.models import Account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_rep_reads_a_tier_1_account_and_marketer_overrides_it(page, login):
    call_command("load_demo", verbosity=0, stdout=open("/dev/null", "w"))
    account = Account.objects.filter(tier__number=1, owner__username="rep").first()
    assert account is not None, "the demo gives the rep tier-1 accounts"

    login("rep", "rep-demo")
    page.goto("/accounts/?tier=1")
    page.get_by_role("link", name=account.name).click()
    page.wait_for_load_state()
    section = page.locator("#tiering")
    assert "Tier 1" in section.locator("[data-testid=tier]").inner_text()
    assert int(page.inner_text("[data-testid=fit-score]")) >= 70
    assert page.locator("[data-testid=surging-topics] .badge").count() >= 1
    assert page.locator("[data-testid=recent-engagement] tbody tr").count() >= 1
    assert "✓" in section.inner_text()
    assert page.locator("[data-testid=override-form]").count() == 0

    page.click("button:has-text('Log out')")
    login("marketer", "marketer-demo")
    page.goto(f"/accounts/{account.pk}/")
    form = page.locator("[data-testid=override-form]")
    form.locator("select[name=tier]").select_option("3")
    form.locator("input[name=reason]").fill("Paused: reorganisation")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "Tier overridden and locked." in page.inner_text("main")
    assert "Tier 3" in page.inner_text("[data-testid=tier]")
    assert "Paused: reorganisation" in page.inner_text("#tiering")
    page.click("button:has-text('Unlock')")
    page.wait_for_load_state()
    assert "Tier 1" in page.inner_text("[data-testid=tier]")
