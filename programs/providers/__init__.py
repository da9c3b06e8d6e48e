"""Fulfilment providers: pluggable classes chosen by name in `ABMCRM_PROVIDERS`."""

from django.utils.module_loading import import_string

from ..conf import settings as conf
from .base import (
    PermanentError,
    Provider,
    ProviderError,
    SendResult,
    TransientError,
    WebhookEvent,
)

__all__ = ["PermanentError", "Provider", "ProviderError", "SendResult", "TransientError",
           "WebhookEvent", "get_provider", "is_automatic", "provider_names"]


def provider_names():
    return list(conf.ABMCRM_PROVIDERS)


def get_provider(name):
    """The configured provider `name`; PermanentError if there is none by that name."""
    config = conf.ABMCRM_PROVIDERS.get(name)
    if config is None:
        raise PermanentError(
            f"No fulfilment provider “{name}” is configured; add it to ABMCRM_PROVIDERS or "
            f"change the item's fulfilment method."
        )
    options = {key: value for key, value in config.items() if key != "class"}
    return import_string(config["class"])(name=name, **options)


def is_automatic(method):
    """Whether items with this fulfilment method are sent by a task (not by a marketer)."""
    if not method or method == "manual":
        return False
    config = conf.ABMCRM_PROVIDERS.get(method)
    if config is None:
        # An unknown provider is still "automatic": the task fails the order with a message
        # saying so, rather than leaving it silently in the queue.
        return True
    return import_string(config["class"]).automatic
