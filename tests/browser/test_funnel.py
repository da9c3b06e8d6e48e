import csv
import io
from datetime import date, timedelta

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
