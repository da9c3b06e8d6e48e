import csv
import io

import pytest
from django.utils.formats import date_format

from tests import factories
from tests.funnel.helpers import build_hand_funnel

pytestmark = pytest.mark.django_db

PARAMS = {"start": "2025-01-01", "end": "2025-01-31"}


@pytest.fixture
def hand():
    return build_hand_funnel()


@pytest.mark.parametrize("role", ["marketer", "abm_admin"])
def test_marketers_and_admins_see_the_dashboard(client, request, role, hand):
    factories.CampaignFactory(name="Summit", fixed_cost=500)
    client.force_login(request.getfixturevalue(role))
    response = client.get("/funnel/", {**PARAMS, "group_by": "channel"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<svg" in html and "ABM (accounts)" in html and "Demand gen (leads)" in html
    assert 'class="count">4</text>' in html  # 4 target accounts entered in January
    assert "Events" in html and "Content syndication" in html  # one table row per channel
    assert "Summit" in html and "500\xa0USD" in html
    assert 'href="/funnel/"' in html  # the nav link
    # People's labels, not codes: the stage where the work starts, by name.
    assert "Worked (from “Engaged account”)" in html and "(from abm" not in html


@pytest.mark.parametrize("role", ["rep", "nobody"])
def test_reps_and_strangers_may_not(client, request, role):
    client.force_login(request.getfixturevalue(role))
    assert client.get("/funnel/").status_code == 403
    assert client.get("/funnel/table.csv").status_code == 403
    assert 'href="/funnel/"' not in client.get("/accounts/").content.decode()


def test_anonymous_is_sent_to_login(client):
    response = client.get("/funnel/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_bad_parameters_show_errors_not_500(client, marketer):
    client.force_login(marketer)
    response = client.get("/funnel/", {"start": "2025-02-01", "end": "2025-01-01",
                                       "mode": "period", "group_by": "channel"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "The end is before the start." in html
    # The form keeps what was typed, to be corrected, not the default period it fell back to.
    assert 'name="start" value="2025-02-01"' in html and 'name="end" value="2025-01-01"' in html
    assert '<option value="period" selected>' in html
    assert '<option value="channel" selected>' in html
    query = response.context["query"]
    assert (f"Showing the default period ({date_format(query.start)} – "
            f"{date_format(query.end)})") in html
    # The CSV link downloads what the page shows, so it works.
    csv_url = response.context["csv_query"]
    assert f"start={query.start.isoformat()}" in csv_url
    assert client.get(f"/funnel/table.csv?{csv_url}").status_code == 200


def test_good_parameters_fill_the_form_and_the_csv_link(client, marketer):
    client.force_login(marketer)
    response = client.get("/funnel/", {**PARAMS, "group_by": "tier"})
    html = response.content.decode()
    assert 'name="start" value="2025-01-01"' in html and 'name="end" value="2025-01-31"' in html
    assert '<option value="tier" selected>' in html and "Showing the default" not in html
    assert response.context["csv_query"] == "start=2025-01-01&end=2025-01-31&group_by=tier"


def test_csv_download(client, marketer, hand):
    client.force_login(marketer)
    response = client.get("/funnel/table.csv", {**PARAMS, "group_by": "channel"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    events_target = [r for r in rows if r["group_key"] == "events" and r["side"] == "abm"
                     and r["stage"] == "target"]
    assert events_target[0]["reached"] == "2"
    assert {r["group"] for r in rows} == {"Events", "Outbound", "Website",
                                          "Content syndication"}
    # Totals sit on the won row of each side only, so a spreadsheet sum is right.
    events_abm = [r for r in rows if r["group_key"] == "events" and r["side"] == "abm"]
    assert [bool(r["won_revenue"]) for r in events_abm[:-1]] == [False] * (len(events_abm) - 1)


def test_csv_with_bad_parameters_is_refused(client, marketer):
    client.force_login(marketer)
    response = client.get("/funnel/table.csv", {"start": "2026-12-01", "end": "2026-01-01"})
    assert response.status_code == 400
    assert "The end is before the start." in response.content.decode()


def test_dashboard_query_count(client, marketer, hand, django_assert_max_num_queries):
    factories.CampaignFactory()
    client.force_login(marketer)
    with django_assert_max_num_queries(14):
        client.get("/funnel/", {**PARAMS, "group_by": "tier"})


@pytest.mark.parametrize("name", ["=cmd|'/c calc'!A1", "+1+cmd|' /C calc'!A0",
                                  "-2+3+cmd|'/c calc'!A1", "@SUM(1+1)*cmd|'/c calc'!A1",
                                  "\t=1+1", "\r=1+1"])
def test_csv_cells_cannot_start_a_formula(client, marketer, name):
    """A campaign named like a formula is written as text (OWASP: a leading quote)."""
    from tests.funnel.helpers import day, record

    campaign = factories.CampaignFactory(name=name, code="evil")
    account = factories.AccountFactory(domain="victim.example.com")
    record([{"account": account.domain, "to_stage": "target", "occurred_at": day(3),
             "campaign": campaign.code}])
    client.force_login(marketer)
    response = client.get("/funnel/table.csv", {**PARAMS, "group_by": "campaign"})
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    groups = {row["group"] for row in rows}
    assert "'" + name in groups and name not in groups
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
               for row in rows for cell in row.values() if cell)
