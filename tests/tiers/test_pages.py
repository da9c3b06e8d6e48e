from datetime import UTC, datetime

import pytest

from tests.factories import AccountFactory

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
    assert "Scores last changed 2026-03-04 05:06." in client.get(
        f"/accounts/{scored.pk}/").content.decode()  # one period, not "a.m.."
    assert "Scores last changed never." in client.get(f"/accounts/{never.pk}/").content.decode()
