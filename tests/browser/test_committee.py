"""The buying committee as a rep sees it: the account page's panel (coverage, missing roles,
contacts with their persona and fit), the ordering page's "missing: a decision maker", and
the account list's committee filters, on a laptop and on a phone."""

import pytest

from tests.factories import AccountFactory, ContactFactory, RepFactory, tier
from tests.tiers.scoring_helpers import icp
from tiers.models import IcpPersona
from tiers.scoring import refresh_committees

from .conftest import SIZES, open_menu, overflow, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def committee():
    """A rep's Tier 1 account with a champion and one influencer (Tier 1 needs a decision
    maker, a champion and two influencers), and one whose committee is complete."""
    rep = RepFactory(username="rep1")
    IcpPersona.objects.create(profile=icp(), job_function="marketing", seniority="c_level",
                              weight=80)
    lacking = AccountFactory(name="Lacking Industries Worldwide Holdings", tier=tier(1),
                             tier_locked=True, owner=rep, domain="lacking.example.com")
    ContactFactory(account=lacking, first_name="Carla", last_name="Champion",
                   title="Chief Marketing Officer", buying_role="champion",
                   job_function="marketing", seniority="c_level",
                   email="carla.champion.with.a.long.address@lacking.example.com")
    ContactFactory(account=lacking, first_name="Ivo", last_name="Influencer",
                   title="Senior Marketing Operations Manager", buying_role="influencer",
                   job_function="operations", seniority="manager",
                   persona_overridden=True)
    covered = AccountFactory(name="Covered Corp", tier=tier(1), tier_locked=True, owner=rep)
    for role, count in (("decision_maker", 1), ("champion", 1), ("influencer", 2)):
        for _ in range(count):
            ContactFactory(account=covered, buying_role=role)
    refresh_committees([lacking.pk, covered.pk])
    return lacking, covered


@pytest.mark.parametrize("size", list(SIZES))
def test_rep_sees_the_committee_and_what_is_missing(page, login, committee, size):
    lacking, covered = committee
    login("rep1")

    page.goto(f"/accounts/{lacking.pk}/")
    panel = page.locator("[data-testid=committee]")
    assert panel.locator("[data-testid=coverage]").inner_text() == "50%"
    assert "a decision maker, an influencer" in panel.locator(
        "[data-testid=missing-roles]").inner_text()
    assert "1 × decision maker, 1 × champion, 2 × influencer" in panel.inner_text()
    contacts = page.locator("[data-testid=contacts] tbody tr")
    assert contacts.count() == 2
    carla = contacts.filter(has_text="Carla")
    assert carla.locator("td[data-label=Persona]").inner_text() == "Marketing · C-level"
    assert carla.locator("td[data-label=Fit]").inner_text() == "80"
    ivo = contacts.filter(has_text="Ivo")
    assert ivo.locator("td[data-label=Persona]").inner_text() == (
        "Operations · Manager (set by hand)")
    assert ivo.locator("td[data-label=Fit]").inner_text() == "0"
    assert page.evaluate("document.documentElement.scrollWidth") <= SIZES[size]["width"]
    assert overflow(page) == 0
    screenshot(page, "committee-account")

    page.goto(f"/accounts/{lacking.pk}/programs/")
    said = page.locator("[data-testid=committee]").inner_text()
    assert "50% covered" in said and "missing: a decision maker" in said
    assert overflow(page) == 0
    screenshot(page, "committee-ordering")

    page.goto("/accounts/")
    open_menu(page)
    form = page.locator("form").filter(has=page.locator("input[name=coverage_max]"))
    form.locator("input[name=coverage_max]").fill("60")
    form.locator("select[name=missing_role]").select_option("decision_maker")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "coverage_max=60" in page.url and "missing_role=decision_maker" in page.url
    table = page.locator("table.accounts")
    assert lacking.name in table.inner_text() and covered.name not in table.inner_text()
    assert "missing: a decision maker" in table.inner_text()
    assert page.locator("input[name=coverage_max]").input_value() == "60"
    assert overflow(page) == 0
    screenshot(page, "committee-account-list")
