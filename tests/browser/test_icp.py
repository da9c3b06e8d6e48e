"""The ABM admin builds an ICP criterion without typing JSON: picks an attribute, ticks values
present in the data (or types a minimum), sees the number of matching accounts change live,
adds it, and adds a suggestion with one click. At desktop and phone size."""

import pytest

from tests.browser.conftest import SIZES, overflow, screenshot
from tests.factories import AccountFactory
from tiers.models import IcpCriterion

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("size", SIZES)
def test_admin_builds_a_criterion_and_sees_the_matching_count(page, login, abm_admin, size):
    for n, (industry, employees) in enumerate([("software", 40), ("software", 800),
                                               ("finance", 3000), ("retail", 120)]):
        AccountFactory(industry=industry, employees=employees, is_customer=n < 2,
                       renewal_count=2 if n < 2 else 0)

    login("admin1")
    page.goto("/icp/")
    assert overflow(page) <= 0
    # The values offered are those present in the data, as people write them.
    values = page.locator("#values label")
    assert [text.strip() for text in values.all_inner_texts()] == [
        "Finance (1)", "Retail (1)", "Software (2)"]
    page.check("#values input[value=software]")
    page.wait_for_function(
        "document.getElementById('match-count').textContent.includes('2 of 4')")
    page.check("#values input[value=finance]")
    page.wait_for_function(
        "document.getElementById('match-count').textContent.includes('3 of 4')")
    page.fill("#weight", "3")
    screenshot(page, "icp-builder")
    page.click("#add-criterion")
    page.wait_for_load_state()
    assert "Criterion “Industry in Finance, Software” added." in page.inner_text(".messages")
    row = page.locator("#criteria tr", has_text="Industry in Finance, Software")
    assert "3 / 4" in row.inner_text().replace("\xa0", " ")

    # A number: the attribute picker brings the range inputs; the count follows the minimum.
    page.select_option("#attribute", "employees")
    page.wait_for_selector("#min_value")
    page.fill("#min_value", "500")
    page.wait_for_function(
        "document.getElementById('match-count').textContent.includes('2 of 4')")
    page.click("#add-criterion")
    page.wait_for_load_state()
    assert page.locator("#criteria tr", has_text="Employees ≥ 500").count() == 1

    # A suggestion, one click away.
    suggestion = page.locator("#suggestions tr", has_text="Industry in Software")
    suggestion.get_by_role("button", name="Add").click()
    page.wait_for_load_state()
    assert "added from the suggestions" in page.inner_text(".messages")
    assert list(IcpCriterion.objects.order_by("pk").values_list("attribute", "values",
                                                                "weight")) == [
        ("industry", ["finance", "software"], 3), ("employees", [], 1),
        ("industry", ["software"], 1)]
    assert overflow(page) <= 0
