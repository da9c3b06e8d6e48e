import pytest
from django.core.management import call_command

from abmcrm.core.demo import DEMO_USERS
from tiers.models import Account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("username,role,password", [(u, r, p) for u, r, p, _ in DEMO_USERS])
def test_each_demo_user_logs_in_and_sees_accounts(page, login, username, role, password):
    call_command("load_demo", verbosity=0)
    login(username, password)
    assert page.url.endswith("/accounts/") or "/accounts/" in page.url
    assert role in page.inner_text("header")
    rows = page.locator("tbody tr")
    assert rows.count() > 0
    # Open the first account page and see its contacts.
    page.locator("tbody tr a").first.click()
    page.wait_for_load_state()
    name = page.inner_text("h1")
    assert Account.objects.filter(name=name.split(" Tier")[0].split(" untiered")[0].strip())
    assert "Contacts" in page.inner_text("main")


def test_wrong_password_shows_error(page, login, rep):
    login("rep1", "wrong")
    assert "didn't match" in page.inner_text("main")
    assert "/login/" in page.url


def test_pages_load_without_failed_requests(page, login, rep):
    failed = []
    page.on("response", lambda response: response.status >= 400 and failed.append(
        (response.status, response.url)))
    login("rep1")
    page.wait_for_load_state("networkidle")
    # The icon is linked from every page: no stray /favicon.ico 404 in the server's log.
    assert page.locator("link[rel=icon]").count() == 1
    assert failed == []


def test_too_many_failed_log_ins_are_refused_with_a_clear_message(page, login, rep, settings):
    settings.ABMCRM_LOGIN_FAILURES_PER_USERNAME = 3
    for _ in range(3):
        login("rep1", "wrong")
        assert "didn't match" in page.inner_text("main")
    login("rep1")  # the right password, too late
    assert "/login/" in page.url
    message = page.inner_text("#throttled")
    assert message == "Too many failed log-ins. Try again in 15 minutes."
    assert "Log out" not in page.inner_text("header")
