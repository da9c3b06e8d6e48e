"""Helpers of the fulfillment tests."""

from contextlib import contextmanager

import pytest

from programs.models import ProgramOrder
from tests.factories import ContactFactory, ProgramItemFactory, ProgramOrderFactory

S = ProgramOrder.Status


def provider_order(method="gifting", cost=100, **kwargs):
    item = ProgramItemFactory(fulfillment_method=method, needs_contact=method == "gifting",
                              unit_cost=cost)
    contact = ContactFactory()
    return ProgramOrderFactory(item=item, account=contact.account, contact=contact, cost=cost,
                               **kwargs)


@contextmanager
def broker_unreachable():
    """Publishing goes to a Redis port where nothing listens, as if the broker were down."""
    from abmcrm.celery import app

    saved = (app.conf.broker_url, app.conf.task_always_eager,
             app.conf.broker_transport_options)
    with pytest.MonkeyPatch.context() as patch:
        # Celery reads CELERY_BROKER_URL from the environment before its own settings.
        patch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
        app.conf.broker_url = "redis://127.0.0.1:1/0"
        app.conf.broker_transport_options = {"socket_connect_timeout": 1}
        app.conf.task_always_eager = False
        app._pool = None
        app.amqp._producer_pool = None
        try:
            yield
        finally:
            (app.conf.broker_url, app.conf.task_always_eager,
             app.conf.broker_transport_options) = saved
            app._pool = None
            app.amqp._producer_pool = None
