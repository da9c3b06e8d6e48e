"""Every page, at desktop and phone size, on the demo data: nothing is wider than the window
(wide tables become cards or scroll in their own box), and a screenshot of each is saved
under var/screenshots/ for a reviewer (CI keeps them)."""

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command

from abmcrm.core import ingest
from programs.models import ProgramOrder
from tests.browser.conftest import SIZES, open_menu, overflow, screenshot
from tiers.models import Account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _import_with_a_warning_and_a_bad_row():
    from django.contrib.auth import get_user_model

    csv = ("domain,name,employees,notes\n"
           "layout-one.example.com,Layout One,120,unknown column\n"
           "layout-two.example.com,Layout Two,not-a-number,\n")
    return ingest.import_start(kind="accounts", file=ContentFile(csv.encode(), name="a.csv"),
                               user=get_user_model().objects.get(username="admin"))


def _pages():
    """(name, who, path) of every page, on the demo's data."""
    account = Account.objects.filter(owner__username="rep", tier__number=1).order_by("pk")[0]
    job = _import_with_a_warning_and_a_bad_row()
    industry = account.industry
    order = (ProgramOrder.objects.filter(requested_by__username="rep", contact__isnull=False)
             .order_by("pk")[0])
    return [
        ("login", None, "/login/"),
        ("account-list", "rep", "/accounts/"),
        ("account-page", "rep", f"/accounts/{account.pk}/"),
        ("programs", "rep", f"/accounts/{account.pk}/programs/"),
        ("my-orders", "rep", "/orders/"),
        ("order-page", "rep", f"/orders/{order.pk}/"),
        ("orders", "marketer", "/orders/"),
        ("approvals", "marketer", "/orders/approvals/"),
        ("fulfillment-queue", "marketer", "/fulfillment/"),
        ("funnel", "marketer", "/funnel/"),
        ("icp-editor", "admin", f"/icp/?attribute=industry&values={industry}&count=1"),
        ("icp-editor-range", "admin", "/icp/?attribute=annual_revenue&min_value=5000000&count=1"),
        ("imports", "admin", "/imports/"),
        ("import-page", "admin", f"/imports/{job.pk}/"),
        ("admin-account-edit", "admin", f"/admin/tiers/account/{account.pk}/change/"),
    ]


PASSWORDS = {"rep": "rep-demo", "marketer": "marketer-demo", "admin": "abm-admin-demo"}


@pytest.mark.parametrize("size", SIZES)
def test_every_page_fits_the_window(page, login, logout, size):
    call_command("load_demo", verbosity=0)
    too_wide, who_now = {}, None
    for name, who, path in _pages():
        if who != who_now:
            if who_now:
                logout()
            if who:
                login(who, PASSWORDS[who])
            who_now = who
        response = page.goto(path)
        assert response.status == 200, (name, response.status)
        screenshot(page, name)
        if overflow(page) > 0:
            too_wide[name] = page.evaluate("document.documentElement.scrollWidth")
        if size == "phone" and who and not path.startswith("/admin/"):
            # The folded menu opens, and once open it still fits.
            open_menu(page)
            assert page.locator("header nav a").first.is_visible()
            if overflow(page) > 0:
                too_wide[f"{name} (menu open)"] = page.evaluate(
                    "document.documentElement.scrollWidth")
            screenshot(page, f"{name}-menu") if name == "account-list" else None
    assert too_wide == {}, f"wider than {SIZES[size]['width']} px: {too_wide}"
