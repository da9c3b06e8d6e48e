"""Playwright (sync API) driving Debian's Chromium against pytest-django's live server."""

import os
import shutil

import pytest

# Playwright's sync API runs an event loop in the test thread; the ORM calls made by the test
# itself (fixtures, assertions) are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser(_serialized_db_contents):
    if not shutil.which(CHROMIUM):
        pytest.fail("Debian's chromium is missing: `apt-get install chromium` (.ci/run does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        # From here on the test runs in Playwright's context, whose connection object is not
        # the one Django gave the serialized database contents to. This session fixture is
        # set up before the first browser test's database fixture, which restores the
        # reference rows a previous transactional test flushed: it needs them here.
        from django.db import connections

        if _serialized_db_contents is not None:
            connections["default"]._test_serialized_contents = _serialized_db_contents
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def login(page):
    """login(username, password='pass-word-1') logs the browser in through the real form."""

    def do_login(username, password="pass-word-1"):
        page.goto("/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        return page

    return do_login
