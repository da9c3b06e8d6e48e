"""The API docs page (Swagger UI) in a real browser: it renders the API under the
Content-Security-Policy with no violation, only for signed-in users, and leads back to the
app."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_swagger_ui_renders_under_the_csp_and_leads_back(page, login, rep):
    problems = []
    page.on("console", lambda message: message.type in ("error", "warning") and problems.append(
        message.text))
    page.on("response", lambda response: response.status >= 400 and problems.append(
        f"{response.status} {response.url}"))
    page.goto("/api/v1/docs/")
    assert "/login/?next=/api/v1/docs/" in page.url  # anonymous: log in first
    login("rep1")
    page.goto("/api/v1/docs/")
    page.wait_for_selector(".opblock-tag", timeout=30_000)
    # Swagger UI draws the operations in steps: wait for a path of the second tag too.
    page.get_by_text("/api/v1/auth/token/revoke/", exact=True).first.wait_for(timeout=30_000)
    text = page.inner_text("#swagger-ui")
    assert "/api/v1/accounts/" in text and "/api/v1/auth/token/revoke/" in text
    csp = page.context.request.get("/api/v1/docs/").headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert problems == []  # no CSP violation ("Refused to …"), no failed request

    page.click("text=Back to abmcrm")
    page.wait_for_load_state()
    assert page.url.endswith("/accounts/")
