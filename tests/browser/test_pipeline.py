"""The pipeline page in a real browser, on a desktop and on a phone: a rep moves a deal on the
board and sees the forecast change; the page and the account page's Opportunities panel fit
390 px without scrolling sideways. Screenshots go to var/screenshots/."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from pipeline import services
from pipeline.models import OpportunityStage
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
SIZES = [pytest.param(1440, 900, id="desktop"), pytest.param(390, 844, id="phone")]


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def _fits(page, width):
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width, height", SIZES)
def test_a_rep_moves_a_deal_and_sees_the_forecast_change(page, login, rep, other_rep, width,
                                                         height):
    page.set_viewport_size({"width": width, "height": height})
    account = factories.AccountFactory(name="Initech", owner=rep)
    contact = factories.ContactFactory(account=account, first_name="Bill",
                                       last_name="Lumbergh")
    month = timezone.localdate().replace(day=1) + timedelta(days=40)
    close = month.replace(day=10)
    opened = timezone.now() - timedelta(days=14)
    stage = OpportunityStage.objects.get
    deal = services.opportunity_create(
        by=None, account=account, name="Initech renewal", stage=stage(slug="proposal"),
        amount=Decimal("1000"), opened_at=opened, close_date=close, owner=rep,
        contacts=[(contact, "decision_maker")])
    services.opportunity_create(by=None, account=account, name="Someone else's deal",
                                stage=stage(slug="negotiation"), amount=Decimal("400"),
                                opened_at=opened, close_date=close, owner=other_rep)

    login("rep1")
    page.goto("/pipeline/")
    row = page.locator(f'table.forecast-table tr[data-month="{close:%Y-%m}"]')
    assert row.locator("td.weighted").inner_text() == "500\u00a0USD"  # 50% of 1,000: the rep's own
    assert page.locator(".pipeline-deal").count() == 1
    assert "Someone else's deal" not in page.inner_text("#board")
    _fits(page, width)
    _shot(page, f"pipeline-board-{width}x{height}.png")

    card = page.locator(f'.pipeline-deal[data-deal="{deal.pk}"]')
    card.locator("select[name=stage]").select_option("negotiation")
    card.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "moved to Negotiation" in page.inner_text(".messages")
    assert page.locator('.pipeline-column[data-stage="negotiation"] .pipeline-deal').count() == 1
    row = page.locator(f'table.forecast-table tr[data-month="{close:%Y-%m}"]')
    assert row.locator("td.weighted").inner_text() == "750\u00a0USD"  # 75% now
    chart = page.locator(f'.forecast-chart g[data-month="{close:%Y-%m}"]')
    assert chart.get_attribute("data-weighted") == "750.00"
    _fits(page, width)
    _shot(page, f"pipeline-moved-{width}x{height}.png")

    # Everyone's deals: the other rep's deal shows, without a move form.
    page.select_option("#pipeline-filters select[name=owner]", "")
    page.click("#pipeline-filters button[type=submit]")
    page.wait_for_load_state()
    assert "Someone else's deal" in page.inner_text("#board")
    assert page.locator("#board form.pipeline-move").count() == 1
    _fits(page, width)

    page.goto(f"/accounts/{account.pk}/")
    panel = page.locator("#opportunities")
    assert "Initech renewal" in panel.inner_text() and "Bill Lumbergh" in panel.inner_text()
    # The panel fits (its table scrolls inside it); the rest of the account page is the
    # other apps' and the pages' phone layout's.
    assert panel.evaluate("e => e.getBoundingClientRect().right") <= width
    _shot(page, f"account-opportunities-{width}x{height}.png")


@pytest.mark.parametrize("width, height", SIZES)
def test_a_marketer_picks_an_attribution_model_and_downloads_it(page, login, marketer, width,
                                                                height):
    from tests.pipeline.helpers import event

    page.set_viewport_size({"width": width, "height": height})
    first = factories.CampaignFactory(name="Webinar", code="webinar")
    last = factories.CampaignFactory(name="Field event", code="field")
    account = factories.AccountFactory()
    event(account, timezone.now() - timedelta(days=9), "webinar")
    event(account, timezone.now() - timedelta(days=3), "field")
    services.opportunity_create(by=None, account=account, amount=Decimal("600"),
                                opened_at=timezone.now() - timedelta(days=2),
                                stage=OpportunityStage.objects.get(slug="proposal"))
    login("marketer1")
    page.goto("/pipeline/")
    page.select_option("#attribution-form select[name=model]", "first")
    page.click("#attribution-form button[type=submit]")
    page.wait_for_load_state()
    table = page.inner_text("table.attribution-table")
    assert "model=first" in page.url
    rows = {line.split("\t")[0]: line for line in table.splitlines()}
    assert "600\u00a0USD" in rows[first.name] and last.name not in rows  # first touch: all of it
    _fits(page, width)
    _shot(page, f"pipeline-attribution-{width}x{height}.png")
    with page.expect_download() as info:
        page.click("#attribution-csv")
    content = Path(info.value.path()).read_text(encoding="utf-8")
    assert content.splitlines()[0].startswith("campaign_id,campaign,code")
    assert "Webinar,webinar,outbound,1.0,600.00,0.00" in content
