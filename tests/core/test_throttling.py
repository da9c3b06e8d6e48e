"""Throttles (abmcrm/core/throttling.py) through the real stack: failed log-ins per username
and per address on the token endpoint and the login page (one rule), and the per-user rates
of the funnel report, recompute start and imports."""

import os
import subprocess
import sys
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from abmcrm.core import throttling
from tests.conftest import ROOT, fire_together
from tests.factories import RepFactory

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
LOGIN = "/login/"


def token_attempt(client, username, password="wrong", address="10.0.0.1"):
    return client.post(TOKEN, {"username": username, "password": password},
                       REMOTE_ADDR=address)


def login_attempt(client, username, password="wrong", address="10.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password},
                       REMOTE_ADDR=address)


@pytest.fixture
def small_limits(settings):
    settings.ABMCRM_LOGIN_FAILURES_PER_USERNAME = 3
    settings.ABMCRM_LOGIN_FAILURES_PER_ADDRESS = 5
    return settings


class TestTokenEndpoint:
    def test_default_is_ten_failures_per_username_in_15_minutes(self, client, rep):
        for _ in range(10):
            assert token_attempt(client, "rep1").status_code == 400
        refused = token_attempt(client, "rep1", "pass-word-1")  # right password, too late
        assert refused.status_code == 429
        assert 15 * 60 - 5 <= int(refused["Retry-After"]) <= 15 * 60
        assert "throttled" in refused.json()["detail"]

    def test_per_username_is_case_folded_and_spares_other_users(self, client, rep, other_rep,
                                                                small_limits):
        for name in ("rep1", "REP1", "Rep1"):
            token_attempt(client, name, address="10.0.0.9")
        assert token_attempt(client, "rep1", "pass-word-1").status_code == 429
        assert token_attempt(client, "rep2", "pass-word-1").status_code == 200

    def test_per_address_across_usernames(self, client, rep, small_limits):
        for number in range(5):
            assert token_attempt(client, f"guess{number}").status_code == 400
        assert token_attempt(client, "rep1", "pass-word-1").status_code == 429
        # Another address is not held back by this one.
        assert token_attempt(client, "rep1", "pass-word-1",
                             address="10.0.0.2").status_code == 200

    def test_success_clears_the_usernames_count(self, client, rep, small_limits):
        for _ in range(2):
            token_attempt(client, "rep1", address="10.0.0.7")
        assert token_attempt(client, "rep1", "pass-word-1", address="10.0.0.7").status_code \
            == 200
        for _ in range(2):
            assert token_attempt(client, "rep1", address="10.0.0.8").status_code == 400
        assert token_attempt(client, "rep1", "pass-word-1", address="10.0.0.8").status_code \
            == 200

    def test_missing_fields_are_no_failed_log_in(self, client, rep, small_limits):
        for _ in range(5):
            assert client.post(TOKEN, {"username": "rep1"}).status_code == 400
        assert token_attempt(client, "rep1", "pass-word-1").status_code == 200

    def test_window_closes(self, client, rep, small_limits):
        small_limits.ABMCRM_LOGIN_FAILURE_WINDOW = 1
        for _ in range(3):
            token_attempt(client, "rep1")
        refused = token_attempt(client, "rep1", "pass-word-1")
        assert refused.status_code == 429 and refused["Retry-After"] == "1"
        time.sleep(1.2)
        assert token_attempt(client, "rep1", "pass-word-1").status_code == 200

    def test_forwarded_address_with_a_trusted_proxy(self, client, rep, small_limits):
        small_limits.REST_FRAMEWORK = {**small_limits.REST_FRAMEWORK, "NUM_PROXIES": 1}
        for number in range(5):
            client.post(TOKEN, {"username": f"guess{number}", "password": "x"},
                        REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5")
        # The proxy's own address is shared by every client: only the attacker is held.
        assert client.post(TOKEN, {"username": "rep1", "password": "pass-word-1"},
                           REMOTE_ADDR="127.0.0.1",
                           HTTP_X_FORWARDED_FOR="203.0.113.5").status_code == 429
        assert client.post(TOKEN, {"username": "rep1", "password": "pass-word-1"},
                           REMOTE_ADDR="127.0.0.1",
                           HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 200

    def test_a_rule_can_be_switched_off(self, client, rep, small_limits):
        small_limits.ABMCRM_LOGIN_FAILURES_PER_USERNAME = None
        for _ in range(4):
            token_attempt(client, "rep1", address=f"10.1.0.{_}")
        assert token_attempt(client, "rep1", "pass-word-1", address="10.2.0.1").status_code \
            == 200

    def test_a_cache_that_keeps_nothing_throttles_nothing(self, client, rep, small_limits):
        small_limits.CACHES = {"default": {
            "BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
        for _ in range(5):
            assert token_attempt(client, "rep1").status_code == 400
        assert token_attempt(client, "rep1", "pass-word-1").status_code == 200


class TestLoginPage:
    def test_same_rule_as_the_token_endpoint_and_a_clear_message(self, client, rep,
                                                                  small_limits):
        # Failures on either count against the same username.
        token_attempt(client, "rep1")
        assert login_attempt(client, "rep1").status_code == 200  # the form, with its error
        login_attempt(client, "rep1")
        refused = login_attempt(client, "rep1", "pass-word-1")
        assert refused.status_code == 429
        assert int(refused["Retry-After"]) > 0
        assert "Too many failed log-ins. Try again in 15 minutes." in refused.content.decode()
        assert "_auth_user_id" not in client.session  # the right password did not log in
        assert token_attempt(client, "rep1", "pass-word-1").status_code == 429

    def test_success_logs_in_and_lands_on_home(self, client, rep, small_limits):
        login_attempt(client, "rep1")
        response = login_attempt(client, "rep1", "pass-word-1")
        assert response.status_code == 302 and response["Location"] == "/"
        assert throttling.login_wait(username="rep1", address="10.0.0.1") is None

    def test_empty_fields_are_no_failed_log_in(self, client, rep, small_limits):
        for _ in range(4):
            client.post(LOGIN, {"username": "rep1"}, REMOTE_ADDR="10.0.0.1")
        assert login_attempt(client, "rep1", "pass-word-1").status_code == 302


class TestUserRates:
    def test_funnel_report_per_user(self, api, rep, other_rep, settings):
        settings.ABMCRM_THROTTLE_RATES = {"funnel_report": "2/minute"}
        client = api.as_user(rep)
        for _ in range(2):
            assert client.get("/api/v1/funnel/report/").status_code == 200
        refused = client.get("/api/v1/funnel/report/")
        assert refused.status_code == 429
        assert 0 < int(refused["Retry-After"]) <= 60
        assert refused.json()["detail"]
        assert api.as_user(other_rep).get("/api/v1/funnel/report/").status_code == 200

    def test_default_rates_apply_without_a_setting(self, api, rep):
        rates = throttling.UserRateThrottle("funnel_report")
        assert (rates.num_requests, rates.duration) == (60, 60)
        assert throttling.UserRateThrottle("recompute").num_requests == 10
        assert throttling.UserRateThrottle("imports").num_requests == 60

    def test_recompute_start_is_throttled_not_its_status(self, api, marketer, settings):
        settings.ABMCRM_THROTTLE_RATES = {"recompute": "1/hour"}
        client = api.as_user(marketer)
        started = client.post("/api/v1/tiers/recompute/", {}, format="json")
        assert started.status_code == 202
        assert client.post("/api/v1/tiers/recompute/", {}, format="json").status_code == 429
        for _ in range(3):
            assert client.get(f"/api/v1/tiers/recompute/{started.json()['id']}/").status_code \
                == 200
            assert client.get("/api/v1/tiers/recompute/").status_code == 200

    def test_imports_start_is_throttled(self, api, abm_admin, settings):
        settings.ABMCRM_THROTTLE_RATES = {"imports": "1/hour"}
        client = api.as_user(abm_admin)

        def upload():
            csv = SimpleUploadedFile("a.csv", b"name,domain\nAcme,acme.example.com\n",
                                     content_type="text/csv")
            return client.post("/api/v1/imports/", {"kind": "accounts", "file": csv},
                               format="multipart")

        assert upload().status_code == 202
        assert upload().status_code == 429
        assert client.get("/api/v1/imports/").status_code == 200

    def test_unlimited_when_the_rate_is_none(self, api, rep, settings):
        settings.ABMCRM_THROTTLE_RATES = {"funnel_report": None}
        client = api.as_user(rep)
        for _ in range(5):
            assert client.get("/api/v1/funnel/report/").status_code == 200


def test_different_users_count_apart(api, settings):
    settings.ABMCRM_THROTTLE_RATES = {"funnel_report": "1/minute"}
    first, second = RepFactory(), RepFactory()
    assert api.as_user(first).get("/api/v1/funnel/report/").status_code == 200
    assert api.as_user(second).get("/api/v1/funnel/report/").status_code == 200
    assert api.as_user(first).get("/api/v1/funnel/report/").status_code == 429


def _shared_cache(kind, tmp_path):
    """A cache a deployment shares between processes: the reference project's file cache,
    or Redis where this run has one (the PostgreSQL + Redis leg)."""
    if kind == "file":
        return {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                "LOCATION": str(tmp_path / "cache")}
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis://"):
        pytest.skip("no Redis in this run (CELERY_BROKER_URL is not redis://)")
    return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": broker,
            "KEY_PREFIX": f"test{os.getpid()}"}


@pytest.mark.parametrize("kind", ["file", "redis"])
def test_failures_counted_in_another_process_hold_here(client, rep, settings, tmp_path, kind):
    """Two web processes share the counts through the cache: failures made by another
    process (a real one) refuse the right password here."""
    cache = _shared_cache(kind, tmp_path)
    settings.CACHES = {"default": cache}
    settings.ABMCRM_LOGIN_FAILURES_PER_USERNAME = 3
    script = ("import django; django.setup()\n"
              "from django.conf import settings\n"
              f"settings.CACHES = {{'default': {cache!r}}}\n"
              "from abmcrm.core import throttling\n"
              "for n in range(3):\n"
              "    throttling.login_failed(username='rep1', address=f'10.9.0.{n}')\n")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings",
           "ABMCRM_VAR_DIR": str(tmp_path / "var")}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    try:
        refused = token_attempt(client, "rep1", "pass-word-1", address="10.9.9.9")
        assert refused.status_code == 429
        assert int(refused["Retry-After"]) > 15 * 60 - 60
    finally:  # only our keys: clearing a Redis cache would flush the broker's database too
        from django.core.cache import caches

        keys = [throttling._key("username", "rep1")] + [
            throttling._key("address", f"10.9.0.{n}") for n in range(3)]
        caches["default"].delete_many([name for key in keys for name in (key, f"{key}:since")])


@pytest.mark.django_db(transaction=True)
def test_concurrent_failures_are_each_counted(rep, settings):
    """Guesses sent at once are all counted (an atomic increment), so a burst cannot slip
    past the limit."""
    settings.ABMCRM_LOGIN_FAILURES_PER_USERNAME = 1000
    results = fire_together([
        lambda n=n: throttling.login_failed(username="rep1", address=f"10.8.0.{n}")
        for n in range(20)])
    assert results == [None] * 20
    from django.core.cache import cache

    assert cache.get(throttling._key("username", "rep1")) == 20
