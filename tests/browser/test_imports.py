"""An import's page follows the import without a reload, and its warnings look like warnings;
the upload form starts one. At desktop and phone size."""

import pytest
from django.utils import timezone

from abmcrm.core.models import ImportJob
from tests.browser.conftest import SIZES, overflow, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("size", SIZES)
def test_progress_moves_without_a_reload(page, login, abm_admin, size):
    job = ImportJob.objects.create(kind="accounts", original_name="accounts.csv",
                                   file="imports/accounts.csv", created_by=abm_admin)
    login("admin1")
    page.goto(f"/imports/{job.pk}/")
    assert page.inner_text("[data-field=status]") == "Pending"
    page.evaluate("window.stillTheSamePage = true")

    ImportJob.objects.filter(pk=job.pk).update(status="running", started_at=timezone.now(),
                                               total_rows=200, rows_done=80, created=80)
    page.wait_for_function(
        "document.querySelector('[data-field=rows_done]').textContent === '80'")
    assert page.inner_text("[data-field=status]") == "Running"
    assert page.get_attribute("[data-field=progress]", "value") == "40"

    ImportJob.objects.filter(pk=job.pk).update(
        status="done", finished_at=timezone.now(), rows_done=200, created=199, error_count=1,
        message="Ignored unknown column(s): notes.",
        errors=[{"line": 7, "errors": {"employees": ["A valid integer is required."]}}])
    page.wait_for_function(
        "document.querySelector('[data-field=status]').textContent === 'Done'")
    assert page.evaluate("window.stillTheSamePage") is True  # no reload happened
    warning = page.locator(".messages li.warning")
    assert "Ignored unknown column(s): notes." in warning.inner_text()
    assert page.locator(".messages li.error").count() == 0
    assert "A valid integer is required." in page.inner_text("#bad-rows")
    assert overflow(page) <= 0
    screenshot(page, "import-done")


@pytest.mark.parametrize("size", SIZES)
def test_upload_starts_an_import_and_lands_on_its_page(page, login, abm_admin, size, tmp_path):
    csv = tmp_path / "accounts.csv"
    csv.write_text("domain,name,employees\nupload-one.example.com,Upload One,12\n"
                   "upload-two.example.com,Upload Two,lots\n", encoding="utf-8")
    login("admin1")
    page.goto("/imports/")
    assert overflow(page) <= 0
    page.select_option("#kind", "accounts")
    page.set_input_files("#file", str(csv))
    page.click("button:has-text('Upload and import')")
    page.wait_for_load_state()
    assert "/imports/" in page.url and "queued" in page.inner_text(".messages")
    # The import ran in the worker (eagerly here): one created, the bad row reported.
    page.wait_for_function(
        "document.querySelector('[data-field=status]').textContent === 'Done'")
    assert page.inner_text("[data-field=created]") == "1"
    assert "line" in page.inner_text("#bad-rows").lower() or "3" in page.inner_text("#bad-rows")
