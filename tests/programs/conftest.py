import json

import pytest
from django.conf import settings as django_settings

from programs.models import ProgramOrder
from programs.services import order_transition
from tests.factories import AccountFactory, tier
from tests.fake_provider import FakeProvider, webhook_headers

WEBHOOK_SECRET = "test-webhook-secret"
S = ProgramOrder.Status


@pytest.fixture
def account(rep):
    """A Tier 1 account the rep owns, with scores the pages show."""
    return AccountFactory(owner=rep, tier=tier(1), fit_score=87, intent_score=64)


@pytest.fixture
def approve(django_capture_on_commit_callbacks, marketer):
    """approve(order): approve and run what is queued on commit (the task runs eagerly)."""

    def do(order, by=marketer):
        with django_capture_on_commit_callbacks(execute=True):
            order_transition(order=order, to=S.APPROVED, by=by)
        order.refresh_from_db()
        return order

    return do


def providers_at(url):
    providers = {}
    for name, config in django_settings.ABMCRM_PROVIDERS.items():
        providers[name] = {**config, **({"base_url": url} if "base_url" in config else {})}
    return providers


@pytest.fixture
def fake_provider(settings, monkeypatch):
    """The fake provider server, with the providers pointed at it in this process and (via
    the environment) in a worker process started after it."""
    fake = FakeProvider().start()
    monkeypatch.setenv("ABMCRM_TEST_PROVIDER_URL", fake.url)
    monkeypatch.setenv("ABMCRM_GIFTING_API_KEY", "gift-key")
    monkeypatch.setenv("ABMCRM_GIFTING_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("ABMCRM_AD_AUDIENCE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    settings.ABMCRM_PROVIDERS = providers_at(fake.url)
    # Eager tasks re-raise a retry instead of running it, unless propagation is off.
    from abmcrm.celery import app

    propagates, app.conf.task_eager_propagates = app.conf.task_eager_propagates, False
    yield fake
    app.conf.task_eager_propagates = propagates
    fake.stop()


@pytest.fixture
def webhook(client):
    """webhook(provider, payload, secret=…) posts a webhook signed now with real HMAC, like a
    provider would; `timestamp` signs it at another time, `signature` replaces the
    signature (False: none), `body` sends these bytes instead of the payload's JSON."""

    def post(provider, payload=None, secret=WEBHOOK_SECRET, signature=None, timestamp=None,
             body=None):
        body = json.dumps(payload).encode() if body is None else body
        headers = {f"HTTP_{name.upper().replace('-', '_')}": value
                   for name, value in webhook_headers(body, secret, timestamp).items()}
        if signature is False:
            del headers["HTTP_X_ABMCRM_SIGNATURE"]
        elif signature is not None:
            headers["HTTP_X_ABMCRM_SIGNATURE"] = signature
        return client.post(f"/api/v1/providers/{provider}/webhook/", data=body,
                           content_type="application/json", **headers)

    return post
