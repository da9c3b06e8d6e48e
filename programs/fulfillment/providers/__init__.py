"""Fulfillment providers: pluggable classes chosen by name in `ABMCRM_PROVIDERS`."""

import warnings

from django.utils.module_loading import import_string

from ...conf import settings as conf
from .base import (
    PermanentError,
    Provider,
    ProviderError,
    SendResult,
    TransientError,
    WebhookEvent,
    WebhookRefused,
)

__all__ = ["PermanentError", "Provider", "ProviderError", "SendResult", "TransientError",
           "WebhookEvent", "WebhookRefused", "get_provider", "is_automatic", "provider_class",
           "provider_names"]

# Where the shipped providers lived before they moved into the fulfillment package.
OLD_PREFIX, NEW_PREFIX = "programs.providers.", "programs.fulfillment.providers."


def provider_names():
    return list(conf.ABMCRM_PROVIDERS)


def provider_class(path):
    """The provider class at dotted `path`. A host's ABMCRM_PROVIDERS that still names the
    shipped providers by their old paths keeps working, with a DeprecationWarning."""
    if path.startswith(OLD_PREFIX):
        new = NEW_PREFIX + path[len(OLD_PREFIX):]
        warnings.warn(f"ABMCRM_PROVIDERS names {path}; it moved to {new}.",
                      DeprecationWarning, stacklevel=3)
        path = new
    return import_string(path)


def get_provider(name):
    """The configured provider `name`; PermanentError if there is none by that name."""
    config = conf.ABMCRM_PROVIDERS.get(name)
    if config is None:
        raise PermanentError(
            f"No fulfillment provider “{name}” is configured; add it to ABMCRM_PROVIDERS or "
            f"change the item's fulfillment method."
        )
    options = {key: value for key, value in config.items() if key != "class"}
    return provider_class(config["class"])(name=name, **options)


def is_automatic(method):
    """Whether items with this fulfillment method are sent by a task (not by a marketer)."""
    if not method or method == "manual":
        return False
    config = conf.ABMCRM_PROVIDERS.get(method)
    if config is None:
        # An unknown provider is still "automatic": the task fails the order with a message
        # saying so, rather than leaving it silently in the queue.
        return True
    return provider_class(config["class"]).automatic
