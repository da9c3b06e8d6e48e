from datetime import UTC, datetime

import pytest
from django.utils import timezone

from tests.factories import AccountFactory, ContactFactory, tier
from tests.tiers.scoring_helpers import event, icp, signal
from tiers import services

pytestmark = pytest.mark.django_db


def test_account_list_names_bad_filters_and_still_lists(client, marketer):
    AccountFactory(name="Acme")
    client.force_login(marketer)
    html = client.get("/accounts/?employees_min=abc").content.decode()
    assert "This filter was not applied." in html and "Acme" in html


def test_forbidden_page_says_why(client, rep):
    client.force_login(rep)
    response = client.get("/orders/approvals/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "Only marketers and ABM admins approve orders." in html and "Log out" in html


def test_not_found_page_is_friendly(client, rep):
    client.force_login(rep)
    response = client.get("/accounts/999999/")
    assert response.status_code == 404 and "Back to the accounts" in response.content.decode()


def test_anonymous_is_sent_to_login(client):
    response = client.get("/accounts/")
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_account_page_says_when_scores_last_changed(client, rep):
    scored = AccountFactory(scored_at=datetime(2026, 3, 4, 5, 6, tzinfo=UTC))
    never = AccountFactory(scored_at=None)
    client.force_login(rep)
    html = client.get(f"/accounts/{scored.pk}/").content.decode()
    # The locale's date-and-time format, the one every date on the page uses.
    assert ('Scores last changed: <time datetime="2026-03-04T05:06:00+00:00">March 4, 2026, '
            '5:06 a.m.</time></p>') in html  # one period, not "a.m.."
    assert "Scores last changed: never" in client.get(f"/accounts/{never.pk}/").content.decode()


@pytest.fixture
def hot_account(rep):
    icp(("industry", {"values": ["software"]}, 3), ("country", {"values": ["Japan"]}, 1))
    account = AccountFactory(owner=rep, estimated_acv=90_000)
    signal(account, "account-based marketing", 88, 0)
    event(account, "demo_request", timezone.now())
    event(account, "ad_impression", timezone.now())
    services.tiers_recompute()
    return account


def test_rep_sees_tier_scores_explanations_topics_and_engagement(client, rep, hot_account):
    client.force_login(rep)
    html = client.get(f"/accounts/{hot_account.pk}/").content.decode()
    assert "Tier 1 · Just right" in html
    assert "✓ Industry in Software" in html and "✗ Country in Japan" in html
    assert "account-based marketing" in html
    assert "Demo request" in html and "Ad impression" not in html
    assert "Rule #10" in html
    assert "Override and lock" not in html  # reps may not override


def test_marketer_overrides_then_unlocks(client, marketer, hot_account):
    client.force_login(marketer)
    url = f"/accounts/{hot_account.pk}/tier/"
    response = client.post(url, {"action": "override", "tier": "3", "reason": "Budget"},
                           follow=True)
    assert "Tier overridden and locked." in response.content.decode()
    hot_account.refresh_from_db()
    assert hot_account.tier == tier(3) and hot_account.tier_locked
    missing = client.post(url, {"action": "override", "tier": "2", "reason": ""}, follow=True)
    assert "Say why" in missing.content.decode()
    client.post(url, {"action": "unlock"})
    hot_account.refresh_from_db()
    assert hot_account.tier == tier(1) and not hot_account.tier_locked


def test_rep_cannot_post_an_override(client, rep, hot_account):
    client.force_login(rep)
    response = client.post(f"/accounts/{hot_account.pk}/tier/",
                           {"action": "override", "tier": "3", "reason": "x"})
    assert response.status_code == 403
    hot_account.refresh_from_db()
    assert hot_account.tier == tier(1)


def test_account_list_filters_by_tier_and_shows_scores(client, rep):
    AccountFactory(name="Hot One", tier=tier(1), fit_score=91, owner=rep)
    AccountFactory(name="Cold One", owner=rep)
    client.force_login(rep)
    html = client.get("/accounts/?tier=1").content.decode()
    assert "Hot One" in html and "Cold One" not in html and "91 / 0 / 0" in html
    assert "Cold One" in client.get("/accounts/?tier=none").content.decode()


class TestIcpEditor:
    def test_everyone_reads_only_admins_edit(self, client, rep, abm_admin):
        client.force_login(rep)
        assert client.get("/icp/").status_code == 200
        assert client.post("/icp/", {"attribute": "industry", "values": ["software"]}
                           ).status_code == 403
        client.force_login(abm_admin)
        AccountFactory(industry="software")
        response = client.post("/icp/", {"attribute": "industry", "values": ["software"],
                                         "weight": "2"})
        assert response.status_code == 302
        from tiers.models import IcpCriterion

        assert list(IcpCriterion.objects.values_list("values", "weight")) == [(["software"], 2)]

    def test_the_count_answers_as_json_and_refuses_a_bad_range(self, client, marketer):
        AccountFactory(employees=100)
        AccountFactory(employees=900)
        client.force_login(marketer)
        answer = client.get("/icp/count/", {"attribute": "employees", "min_value": "500"})
        assert answer.json() == {"count": 1, "total": 2}
        bad = client.get("/icp/count/", {"attribute": "employees", "min_value": "9",
                                         "max_value": "1"})
        assert bad.status_code == 400 and "max_value" in bad.json()["errors"]

    def test_values_offered_are_those_in_the_data(self, client, abm_admin):
        AccountFactory(industry="software")
        AccountFactory(industry="software")
        AccountFactory(industry="retail")
        client.force_login(abm_admin)
        html = client.get("/icp/").content.decode()
        assert "Software (2)" in html and "Retail (1)" in html and "[]" not in html


def test_an_untiered_account_says_what_each_rule_misses(client, rep):
    account = AccountFactory(fit_score=20, estimated_acv=None)
    client.force_login(rep)
    html = client.get(f"/accounts/{account.pk}/").content.decode()
    reason = html.split('data-testid="tier-reason"')[1].split("</div>")[0]
    assert "Untiered: no active tier rule matches this account." in reason
    assert "needs fit at least" in reason and "has fit 20" in reason


def test_the_placing_rule_is_said_once(client, rep, hot_account):
    hot_account.refresh_from_db()
    assert hot_account.tier_rule is not None
    client.force_login(rep)
    html = client.get(f"/accounts/{hot_account.pk}/").content.decode()
    rule = hot_account.tier_rule
    reason = html.split('data-testid="tier-reason"')[1].split("</div>")[0]
    assert reason.count(f"“{rule.name}”") == 1 and "Placed by rule" in reason
    # The scores line is the assignment's reason, shown in the history only.
    assert html.split('data-testid="tier-history"')[0].count(f"“{rule.name}”") == 1


@pytest.mark.parametrize("rows", [1, 60])
def test_account_list_page_runs_a_fixed_number_of_queries(client, marketer, rows,
                                                          django_assert_max_num_queries):
    for _ in range(rows):
        AccountFactory(owner=marketer, tier=tier(1))
    client.force_login(marketer)
    with django_assert_max_num_queries(8):
        response = client.get("/accounts/")
    assert response.content.decode().count("data-account=") == min(rows, 50)


@pytest.mark.parametrize("criteria", [1, 12])
def test_icp_editor_runs_a_fixed_number_of_queries(client, abm_admin, criteria,
                                                   django_assert_max_num_queries):
    icp(*[("industry", {"values": [f"industry {n}"]}, 1) for n in range(criteria)])
    AccountFactory()
    client.force_login(abm_admin)
    with django_assert_max_num_queries(40):
        response = client.get("/icp/")
    assert response.content.decode().count("data-criterion=") == criteria


def test_account_page_shows_the_buying_committee(client, marketer):
    from tiers.scoring import refresh_committees

    account = AccountFactory(tier=tier(1))
    ContactFactory(account=account, buying_role="decision_maker", title="CFO",
                   job_function="finance", seniority="c_level")
    refresh_committees([account.pk])
    client.force_login(marketer)
    page = client.get(f"/accounts/{account.pk}/").content.decode()
    assert 'data-testid="coverage">25%' in page
    assert "a champion, an influencer" in page
    assert "Finance · C-level" in page


def test_ordering_page_says_what_is_missing(client, rep):
    from tiers.scoring import refresh_committees

    account = AccountFactory(tier=tier(3), owner=rep)
    refresh_committees([account.pk])
    client.force_login(rep)
    page = client.get(f"/accounts/{account.pk}/programs/").content.decode()
    assert "missing: a decision maker" in page


def test_account_list_page_filters_by_missing_role(client, marketer):
    from tiers.scoring import refresh_committees

    lacking = AccountFactory(tier=tier(3), owner=marketer, name="Lacking")
    covered = AccountFactory(tier=tier(3), owner=marketer, name="Covered")
    ContactFactory(account=covered, buying_role="decision_maker")
    refresh_committees([lacking.pk, covered.pk])
    client.force_login(marketer)
    page = client.get("/accounts/?missing_role=decision_maker&coverage_max=50").content.decode()
    assert "Lacking" in page and "Covered" not in page


def test_a_committee_not_computed_yet_says_so(client, marketer):
    """Tiered without a committee recompute (a loader, the admin): the page says the
    committee is not computed yet, not "0 %" next to "every required role is covered"."""
    from tiers.scoring import refresh_committees

    account = AccountFactory(tier=tier(1))
    assert account.coverage is None and account.missing_roles == []
    client.force_login(marketer)
    page = client.get(f"/accounts/{account.pk}/").content.decode()
    assert 'data-testid="coverage">—<' in page and "Not computed yet" in page
    assert "Every required role is covered." not in page and "0%" not in page
    assert "not computed yet" in client.get(f"/accounts/{account.pk}/programs/").content.decode()
    refresh_committees([account.pk])
    page = client.get(f"/accounts/{account.pk}/").content.decode()
    assert 'data-testid="coverage">0%' in page and "Not computed yet" not in page
    assert "a decision maker, a champion, an influencer" in page
