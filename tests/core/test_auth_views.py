"""Signing in (abmcrm/core/auth.py, auth_views.py): where anonymous users are sent, where a
log-in lands, the schema and docs only for signed-in users (unless opened), the docs page
under the Content-Security-Policy with a way back, and 413 for bodies over the limit."""

import json

import pytest
from django.conf import global_settings

from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

PAGES = ["/", "/accounts/", "/orders/", "/orders/approvals/", "/fulfillment/", "/funnel/"]


@pytest.fixture
def host_defaults(settings):
    """A host project that never set LOGIN_URL or LOGIN_REDIRECT_URL (Django's defaults,
    /accounts/login/ and /accounts/profile/, fall among abmcrm's accounts/ pages)."""
    settings.LOGIN_URL = global_settings.LOGIN_URL
    settings.LOGIN_REDIRECT_URL = global_settings.LOGIN_REDIRECT_URL
    return settings


class TestWhereAnonymousUsersGo:
    @pytest.mark.parametrize("url", PAGES)
    def test_to_abmcrms_login_page_with_djangos_default_login_url(self, client, host_defaults,
                                                                   url):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"/login/?next={url}"

    def test_account_page_too(self, client, host_defaults):
        account = AccountFactory()
        response = client.get(f"/accounts/{account.pk}/programs/")
        assert response["Location"].startswith("/login/?next=")

    def test_to_the_hosts_own_login_url(self, client, settings):
        settings.LOGIN_URL = "/sso/start/"
        assert client.get("/accounts/")["Location"] == "/sso/start/?next=/accounts/"

    def test_a_url_name_works_as_login_url(self, client, settings):
        settings.LOGIN_URL = "admin:login"
        assert client.get("/accounts/")["Location"].startswith("/admin/login/?next=")


class TestLogin:
    def test_a_rep_logs_in_and_lands_on_the_accounts(self, client, rep, host_defaults):
        response = client.post("/login/", {"username": "rep1", "password": "pass-word-1"})
        assert response.status_code == 302 and response["Location"] == "/"
        assert client.get("/", follow=True).redirect_chain[-1][0] == "/accounts/"

    def test_next_is_followed(self, client, rep, host_defaults):
        response = client.post("/login/?next=/orders/", {
            "username": "rep1", "password": "pass-word-1", "next": "/orders/"})
        assert response["Location"] == "/orders/"

    def test_the_hosts_login_redirect_url_wins(self, client, rep, settings):
        settings.LOGIN_REDIRECT_URL = "/dashboard/"
        response = client.post("/login/", {"username": "rep1", "password": "pass-word-1"})
        assert response["Location"] == "/dashboard/"

    def test_signed_in_user_skips_the_form(self, client, rep, host_defaults):
        client.force_login(rep)
        assert client.get("/login/")["Location"] == "/"

    def test_logout_returns_to_login(self, client, rep, host_defaults):
        host_defaults.LOGOUT_REDIRECT_URL = None  # Django's default
        client.force_login(rep)
        response = client.post("/logout/")
        assert response["Location"] == "/login/"
        assert "_auth_user_id" not in client.session

    def test_logout_to_the_hosts_logout_redirect_url(self, client, rep, settings):
        settings.LOGOUT_REDIRECT_URL = "/goodbye/"
        client.force_login(rep)
        assert client.post("/logout/")["Location"] == "/goodbye/"


class TestSchemaAndDocs:
    def test_schema_needs_a_signed_in_user(self, client, rep):
        response = client.get("/api/v1/schema/")
        assert response.status_code == 401
        client.force_login(rep)
        response = client.get("/api/v1/schema/")
        assert response.status_code == 200
        assert b"/api/v1/auth/token/revoke/" in response.content

    def test_schema_with_a_token(self, client, rep):
        token = client.post("/api/v1/auth/token/", {"username": "rep1",
                                                    "password": "pass-word-1"}).json()["token"]
        response = client.get("/api/v1/schema/", HTTP_AUTHORIZATION=f"Token {token}")
        assert response.status_code == 200

    def test_docs_page_sends_anonymous_users_to_log_in(self, client):
        response = client.get("/api/v1/docs/")
        assert response.status_code == 302
        assert response["Location"] == "/login/?next=/api/v1/docs/"
        assert client.get("/api/v1/docs/?script")["Location"].startswith("/login/")

    def test_a_setting_opens_both(self, client, settings):
        settings.ABMCRM_API_DOCS_PUBLIC = True
        assert client.get("/api/v1/schema/").status_code == 200
        assert client.get("/api/v1/docs/").status_code == 200

    def test_docs_page_has_no_inline_script_and_a_way_back(self, client, rep):
        client.force_login(rep)
        response = client.get("/api/v1/docs/")
        assert response.status_code == 200
        html = response.content.decode()
        assert "<script>" not in html and "<style>" not in html and "style=" not in html
        assert 'src="/api/v1/docs/?script=' in html
        assert 'href="/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css"' in html
        assert '<a class="abm-docs-back" href="/">' in html
        script = client.get("/api/v1/docs/?script=")
        assert script["Content-Type"].startswith("application/javascript")
        assert b'url: "/api/v1/schema/",' in script.content


def policy(response):
    """{directive: sources} of a response's Content-Security-Policy."""
    return {name: " ".join(rest) for name, *rest in (
        part.split() for part in response["Content-Security-Policy"].split(";"))}


class TestContentSecurityPolicy:
    POLICY = {"default-src": "'self'", "script-src": "'self'", "style-src": "'self'",
              "img-src": "'self' data:", "font-src": "'self'", "connect-src": "'self'",
              "object-src": "'none'", "base-uri": "'self'", "form-action": "'self'",
              "frame-ancestors": "'none'"}

    @pytest.mark.parametrize("url", ["/login/", "/accounts/", "/orders/", "/funnel/",
                                     "/api/v1/docs/", "/api/v1/accounts/", "/admin/"])
    def test_on_every_page(self, client, marketer, url):
        client.force_login(marketer)
        response = client.get(url, follow=True)
        assert response.status_code == 200
        assert policy(response) == self.POLICY

    def test_on_error_pages(self, client, rep):
        client.force_login(rep)
        response = client.get("/accounts/999999/")
        assert response.status_code == 404
        assert policy(response) == self.POLICY


class TestBodyOverTheLimit:
    @pytest.fixture
    def small_limit(self, settings):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
        return settings

    def test_json_body_is_a_json_413(self, api, abm_admin, small_limit):
        body = json.dumps([{"name": "x" * 100, "domain": f"d{i}.example.com"}
                           for i in range(50)])
        response = api.as_user(abm_admin).post("/api/v1/accounts/bulk/", body,
                                               content_type="application/json")
        assert response.status_code == 413
        assert response.json() == {
            "detail": "The request body is larger than the 2000 bytes this server accepts: "
                      "send fewer rows at a time.", "code": "request_too_large"}

    def test_anonymously_on_the_token_endpoint(self, client, small_limit):
        response = client.post("/api/v1/auth/token/", json.dumps({"username": "x" * 5000}),
                               content_type="application/json")
        assert response.status_code == 413 and response.json()["code"] == "request_too_large"

    def test_form_body_too(self, client, small_limit):
        response = client.post("/api/v1/auth/token/", {"username": "x" * 5000})
        assert response.status_code == 413

    def test_too_many_fields(self, client, settings):
        settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
        response = client.post("/api/v1/auth/token/", {f"f{i}": "1" for i in range(20)})
        assert response.status_code == 413 and response.json()["code"] == "too_many_fields"

    def test_csv_files_are_not_limited_by_it(self, api, abm_admin, small_limit):
        from django.core.files.uploadedfile import SimpleUploadedFile

        rows = "".join(f"Acme {i},acme{i}.example.com\n" for i in range(200)).encode()
        upload = SimpleUploadedFile("a.csv", b"name,domain\n" + rows, content_type="text/csv")
        response = api.as_user(abm_admin).post("/api/v1/imports/", {
            "kind": "accounts", "file": upload}, format="multipart")
        assert response.status_code == 202
