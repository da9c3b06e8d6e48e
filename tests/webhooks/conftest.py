import pytest

from tests.webhook_receiver import Receiver
from webhooks.models import WebhookSubscription

SECRET = "s3cret-s3cret-s3cret"


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def subscribe(receiver):
    """subscribe(events, preset="abmcrm", url=receiver.url) → an active subscription."""

    def make(events, preset="abmcrm", url=None, **fields):
        return WebhookSubscription.objects.create(
            url=url or receiver.url, secret=SECRET, events=list(events), preset=preset,
            **fields)

    return make
