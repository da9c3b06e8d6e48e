"""A Korean user: a browser that asks for Korean gets Korean navigation, dates and numbers
without choosing anything; the language picker in the navigation switches the language (and
keeps it). At desktop and phone size, with screenshots under var/screenshots/."""

import datetime

import pytest
from django.utils import timezone

from tests import factories
from tests.browser.conftest import SIZES, open_menu, overflow, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def data():
    rep = factories.RepFactory(username="rep1")
    account = factories.AccountFactory(
        owner=rep, tier=factories.tier(1), name="Hanbit Logistics", employees=12500,
        estimated_acv=1234567,
        scored_at=timezone.make_aware(datetime.datetime(2026, 3, 5, 14, 30)))
    return rep, account


def _page(browser, live_server, size, locale):
    context = browser.new_context(base_url=live_server.url, viewport=SIZES[size], locale=locale)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.abm_size = size
    return context, page


def _login(page, username):
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pass-word-1")
    page.click("button[type=submit]")
    page.wait_for_load_state()


@pytest.mark.parametrize("size", SIZES)
def test_a_korean_browser_reads_korean(browser, live_server, data, size):
    _rep, account = data
    context, page = _page(browser, live_server, size, "ko-KR")
    try:
        page.goto("/login/")
        assert page.locator("html").get_attribute("lang") == "ko"
        assert "abmcrm 로그인" in page.inner_text("h1")
        screenshot(page, "ko-login")
        _login(page, "rep1")

        page.goto("/accounts/")
        open_menu(page)
        nav = page.locator("header nav").inner_text()
        assert "어카운트" in nav and "주문" in nav
        assert page.locator("form.language [type=submit]").get_attribute("value") == "변경"
        row = page.locator("table.accounts tbody tr").first.inner_text()
        assert "12,500" in row and "1,234,567" in row and "티어 1" in row
        assert overflow(page) <= 0
        screenshot(page, "ko-account-list")

        page.goto(f"/accounts/{account.pk}/")
        assert "2026년 3월 5일 2:30 오후" in page.inner_text("main")
        assert "점수 최종 변경:" in page.inner_text("main")
        assert overflow(page) <= 0
        screenshot(page, "ko-account-page")
    finally:
        context.close()


@pytest.mark.parametrize("size", SIZES)
def test_the_picker_switches_the_language(browser, live_server, data, size):
    context, page = _page(browser, live_server, size, "en-US")
    try:
        _login(page, "rep1")
        page.goto("/accounts/")
        assert page.locator("html").get_attribute("lang") == "en"
        open_menu(page)
        picker = page.locator("form.language")
        assert picker.is_visible()
        picker.locator("select[name=language]").select_option("ko")
        picker.locator("[type=submit]").click()
        page.wait_for_load_state()
        assert page.url.endswith("/accounts/")  # back where the reader was
        assert page.locator("html").get_attribute("lang") == "ko"
        open_menu(page)
        assert "어카운트" in page.locator("header nav").inner_text()
        assert overflow(page) <= 0
        screenshot(page, "ko-picker")

        page.goto("/orders/")  # the choice is kept from page to page
        assert page.locator("html").get_attribute("lang") == "ko"
        open_menu(page)
        page.locator("form.language select[name=language]").select_option("zh-hant")
        page.locator("form.language [type=submit]").click()
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == "zh-hant"
        open_menu(page)
        assert "帳戶" in page.locator("header nav").inner_text()
        screenshot(page, "zh-hant-orders")
    finally:
        context.close()
