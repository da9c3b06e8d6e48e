"""Playwright (sync API) driving Debian's Chromium against pytest-django's live server."""

import os
import shutil
from pathlib import Path

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


# The two sizes every page is checked at: a laptop, and a phone (iPhone 12-14 CSS pixels).
SIZES = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture
def page(request, browser, live_server):
    """A fresh browser tab; a test parametrized with `size` (a key of SIZES) gets that
    viewport, others Playwright's default."""
    size = getattr(getattr(request.node, "callspec", None), "params", {}).get("size")
    options = {"viewport": SIZES[size]} if size else {}
    context = browser.new_context(base_url=live_server.url, accept_downloads=True, **options)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.abm_size = size
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


@pytest.fixture
def logout(page):
    """Log out through the header (opening the phone menu first where it is folded)."""

    def do_logout():
        open_menu(page)
        page.click("button:has-text('Log out')")
        page.wait_for_load_state()

    return do_logout


def open_menu(page):
    """On a phone the navigation folds behind "Menu": open it (no-op where it shows)."""
    toggle = page.locator("label.nav-toggle-label")
    if toggle.count() and toggle.is_visible() and not page.locator("#nav-toggle").is_checked():
        toggle.click()


def overflow(page):
    """How many CSS pixels the page is wider than the window (0: it fits)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def screenshot(page, name):
    """Save the whole page as var/screenshots/<name>-<size>.png (CI keeps them)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}-{page.abm_size or 'default'}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
