"""The backtest page in a real browser, on a phone and a laptop: a marketer opens it from the
navigation and reads the metrics, the charts and the features; an admin trains a new version
from it on a real worker and watches the job (with and without JavaScript); a rep gets no
button and a refused POST. Nothing scrolls sideways. Screenshots go to var/screenshots/."""

import pytest
from playwright.sync_api import expect

from inmarket import services
from inmarket.models import TrainingJob
from tests.conftest import wait_for
from tests.inmarket.helpers import synthetic_history

from .conftest import SIZES, open_menu, overflow, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_marketer_reads_the_backtest(page, login, marketer, settings, size):
    settings.ABMCRM_INMARKET_HORIZON_DAYS = 28
    settings.ABMCRM_INMARKET_MIN_POSITIVES = 20
    synthetic_history(accounts=200, weeks=20)
    model = services.model_train()
    login("marketer1")
    open_menu(page)
    page.click("nav >> text=In-market model")
    page.wait_for_load_state()
    expect(page.locator("h1")).to_contain_text(f"v{model.version}")
    expect(page.locator("#metric-auc")).to_have_text(str(model.metrics["auc"]))
    expect(page.locator(".backtest-stage-chart g.bar")).to_have_count(5)
    expect(page.locator(".backtest-decile-chart g.bar")).to_have_count(10)
    expect(page.locator("#features tbody tr").first).to_be_visible()
    assert overflow(page) <= 0
    screenshot(page, "inmarket-backtest")


@pytest.mark.worker
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_an_admin_trains_from_the_page_and_follows_the_job(page, login, abm_admin,
                                                            celery_worker_process, size):
    """The button posts the form, the job runs on a real worker, and the page follows it by
    polling the job's API resource, then shows how it ended and the new version."""
    synthetic_history(accounts=120, weeks=8)
    login("admin1")
    page.goto("/models/in-market/")
    expect(page.locator("#train-button")).to_be_visible()
    assert overflow(page) <= 0
    screenshot(page, "inmarket-train-button")
    page.click("#train-button")
    page.wait_for_load_state()
    job = TrainingJob.objects.get()
    expect(page.locator("ul.messages")).to_contain_text(f"Training #{job.pk} started.")
    expect(page.locator("#training progress")).to_be_visible()
    assert overflow(page) <= 0
    screenshot(page, "inmarket-training-running")
    # The script reloads the page once the job has ended: the outcome, the new version.
    expect(page.locator("ul.messages")).to_contain_text(f"Training #{job.pk} finished",
                                                      timeout=60_000)
    job.refresh_from_db()
    assert job.status == TrainingJob.Status.DONE, job.message
    assert job.created_by == abm_admin
    version = job.result["version"]
    expect(page.locator(f'#versions tr[data-version="{version}"]')).to_contain_text("active")
    expect(page.locator("#train-button")).to_be_enabled()
    assert overflow(page) <= 0
    screenshot(page, "inmarket-training-done")


@pytest.mark.worker
def test_without_javascript_the_page_reloads_until_the_job_ends(browser, live_server,
                                                                  abm_admin,
                                                                  celery_worker_process):
    synthetic_history(accounts=60, weeks=6)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False,
                                  viewport=SIZES["phone"])
    try:
        page = context.new_page()
        page.goto("/login/")
        page.fill("input[name=username]", "admin1")
        page.fill("input[name=password]", "pass-word-1")
        page.click("button[type=submit]")
        page.goto("/models/in-market/")
        page.click("#train-button")
        job = TrainingJob.objects.get()
        # No script: what the page says comes from the server at each load. A browser with
        # scripting off reloads by the <noscript> refresh (Playwright's switch turns scripts
        # off but parses <noscript> as if they ran, so the test reloads as a person would).
        if not TrainingJob.objects.get().is_finished:
            assert '<meta http-equiv="refresh" content="3">' in page.content()

        def finished_on_the_page():
            """the reloaded page to say the training finished"""
            page.reload()
            return f"Training #{job.pk} finished" in page.locator("ul.messages").inner_text() \
                if page.locator("ul.messages").count() else False

        wait_for(finished_on_the_page, timeout=60, interval=1)
        expect(page.locator("#train-button")).to_be_enabled()
        assert '<meta http-equiv="refresh"' not in page.content()
    finally:
        context.close()


def test_a_rep_sees_no_button_and_a_post_is_refused(page, login, rep, marketer):
    login("rep1")
    assert page.goto("/models/in-market/").status == 403
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post("/models/in-market/train/", form={"activate": "on"},
                                 headers={"X-CSRFToken": token,
                                          "Referer": page.url})
    assert response.status == 403
    assert not TrainingJob.objects.exists()
    # A marketer reads the page but has no button either (the API lets admins train).
    page.context.clear_cookies()
    login("marketer1")
    page.goto("/models/in-market/")
    expect(page.locator("h1")).to_contain_text("In-market model")
    expect(page.locator("#train-button")).to_have_count(0)
