import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest

from funnel import ingesters, services
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_marketer_changes_period_and_grouping_and_downloads_csv(page, login, marketer):
    today = date.today()
    recent = today - timedelta(days=10)
    account = factories.AccountFactory(domain="browser.example.com")
    ingesters.transitions_record(items=[
        {"account": account.domain, "to_stage": "target", "channel": "events",
         "occurred_at": f"{recent.isoformat()}T10:00:00Z"},
        {"account": account.domain, "to_stage": "engaged",
         "occurred_at": f"{recent.isoformat()}T12:00:00Z"},
    ], user=marketer)
    services.lead_create(email="web@leads.example.org", channel="website")

    login("marketer1")
    page.goto("/funnel/")
    assert page.locator(".funnel-chart svg").count() == 1
    assert "Dual funnel" in page.inner_text("h1")

    # A period that ended before anything happened: nothing entered.
    page.fill("input[name=start]", (today - timedelta(days=400)).isoformat())
    page.fill("input[name=end]", (today - timedelta(days=300)).isoformat())
    page.click("#report-form button[type=submit]")
    page.wait_for_load_state()
    assert "Target account: 0" in page.inner_text("table.funnel-table")

    # The last month, grouped by channel: a row per channel.
    page.fill("input[name=start]", (today - timedelta(days=30)).isoformat())
    page.fill("input[name=end]", today.isoformat())
    page.select_option("select[name=group_by]", "channel")
    page.click("#report-form button[type=submit]")
    page.wait_for_load_state()
    assert "group_by=channel" in page.url
    table = page.inner_text("table.funnel-table")
    assert "Events" in table and "Website" in table

    with page.expect_download() as info:
        page.click("#csv-download")
    content = open(info.value.path(), encoding="utf-8").read()
    rows = list(csv.DictReader(io.StringIO(content)))
    engaged = [r for r in rows if r["group_key"] == "events" and r["stage"] == "engaged"]
    assert engaged[0]["reached"] == "1"
    assert {r["group"] for r in rows} == {"Events", "Website"}


# Each stage name's box and each bar's box, as the browser lays them out: a name that touches
# a bar overlaps it.
OVERLAPS = """() => {
  const boxes = (sel) => [...document.querySelectorAll(sel)].map(
      (el) => [el.textContent, el.getBoundingClientRect()]);
  const bars = boxes('.funnel-chart svg rect[opacity]');  // the bars, not the shared band
  const hits = [];
  for (const [name, t] of boxes('.funnel-chart svg text.stage')) {
    for (const [, b] of bars) {
      if (t.left < b.right && b.left < t.right && t.top < b.bottom && b.top < t.bottom) {
        hits.push(name);
      }
    }
  }
  return hits;
}"""


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_period_mode_chart_and_roi_follow_the_period(page, login, marketer, size):
    from django.utils import timezone

    from tests.browser.conftest import screenshot
    from tests.pipeline.helpers import deal, event

    campaign = factories.CampaignFactory(name="Summit", fixed_cost=500, code="summit")
    account = factories.AccountFactory(domain="roi.example.com")
    now = timezone.now()
    ingesters.transitions_record(items=[
        {"account": account.domain, "to_stage": stage, "occurred_at":
         (now - timedelta(days=days)).isoformat()}
        for stage, days in (("target", 50), ("engaged", 45), ("qualified", 40))
    ], user=marketer)
    event(account, now - timedelta(days=40), "summit")
    deal(account, "proposal", now - timedelta(days=30), amount=Decimal(800))

    login("marketer1")
    today = date.today()
    recent = f"start={(today - timedelta(days=60)).isoformat()}&end={today.isoformat()}"
    page.goto(f"/funnel/?{recent}&mode=period")
    chart = page.inner_text(".funnel-chart")
    assert "moved on" in chart and "to next" not in chart
    assert page.evaluate(OVERLAPS) == []
    row = page.locator(f'#campaign-roi [data-campaign="{campaign.pk}"]')
    assert "800" in row.inner_text()  # the deal opened in the period is attributed
    screenshot(page, "funnel-period")

    # An earlier period: the same campaign, no deal attributed then.
    old = (f"start={(today - timedelta(days=400)).isoformat()}"
           f"&end={(today - timedelta(days=300)).isoformat()}")
    page.goto(f"/funnel/?{old}&mode=period")
    row = page.locator(f'#campaign-roi [data-campaign="{campaign.pk}"]')
    assert "800" not in row.inner_text()
