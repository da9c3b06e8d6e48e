"""The backtest page in a real browser, on a phone and a laptop: a marketer opens it from the
navigation and reads the metrics, the charts and the features; nothing scrolls sideways.
Screenshots go to var/screenshots/."""

import pytest
from playwright.sync_api import expect

from inmarket import services
from tests.inmarket.helpers import synthetic_history

from .conftest import open_menu, overflow, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_marketer_reads_the_backtest(page, login, marketer, settings, size):
    settings.ABMCRM_INMARKET_HORIZON_DAYS = 28
    settings.ABMCRM_INMARKET_MIN_POSITIVES = 20
    synthetic_history(accounts=200, weeks=20)
    model = services.model_train()
    login("marketer1")
    open_menu(page)
    page.click("nav >> text=In-market model")
    page.wait_for_load_state()
    expect(page.locator("h1")).to_contain_text(f"v{model.version}")
    expect(page.locator("#metric-auc")).to_have_text(str(model.metrics["auc"]))
    expect(page.locator(".backtest-stage-chart g.bar")).to_have_count(5)
    expect(page.locator(".backtest-decile-chart g.bar")).to_have_count(10)
    expect(page.locator("#features tbody tr").first).to_be_visible()
    assert overflow(page) <= 0
    screenshot(page, "inmarket-backtest")
