"""Which Celery app abmcrm's tasks are sent with, so that they never go to Celery's built-in
default broker.

abmcrm's tasks are `shared_task`s: Celery sends each with the *current* app, and where there
is none (no app made, or a thread other than the one that made it, as in runserver's and
gunicorn's threaded workers) with a fallback app whose broker is `amqp://guest@localhost//`.
`configure()`, run by the core's `AppConfig.ready()`, settles it once the settings are read:

- a host project that made a Celery app of its own (the usual `proj/celery.py` imported from
  `proj/__init__.py`) keeps it, and it is made the default for every thread;
- otherwise abmcrm's own app (`abmcrm.celery.app`, configured from the Django settings'
  `CELERY_*` names, the app `celery -A abmcrm worker` runs) becomes the default. If those
  settings name no broker, publishing fails at once with `BrokerNotConfigured` rather than
  trying the built-in default; `manage.py check` reports it (abmcrm.E010).
"""

import sys

from celery import _state
from kombu.exceptions import OperationalError
from kombu.transport import base

UNCONFIGURED_TRANSPORT = "abmcrm.core.celery_app:UnconfiguredTransport"

NO_BROKER_MESSAGE = (
    "No Celery broker is configured, so abmcrm's background work (imports, recomputes, "
    "fulfillment, e-mails) cannot be queued. Set CELERY_BROKER_URL in the settings (or the "
    "environment), e.g. 'redis://localhost:6379/0'."
)


class BrokerNotConfigured(OperationalError):
    """Publishing with abmcrm's app while no broker is configured. An OperationalError, as a
    broker that is down is, so that code which keeps a committed change when the broker
    fails (and leaves the task to a sweeper) handles this the same way."""


class UnconfiguredTransport(base.Transport):
    """The transport of abmcrm's app when no broker is configured: every connection attempt
    fails at once with the fix, instead of waiting for a broker that was never set up. Its
    errors are not connection errors, so kombu does not retry them."""

    driver_type = driver_name = "abmcrm-unconfigured"
    connection_errors = ()
    channel_errors = ()

    def establish_connection(self):
        raise BrokerNotConfigured(NO_BROKER_MESSAGE)

    def driver_version(self):
        return "n/a"


def _is_fallback(app):
    """Celery's own fallback app (`celery._state._get_current_app`), made on first use when no
    app is current: it is no host's choice."""
    return app.main == "default" and not app.set_as_current


def host_app():
    """The Celery app the host project made (current in this thread or set as the default),
    if any."""
    current = _state._tls.current_app
    if current is not None:
        return current
    default = _state.default_app
    if default is not None and not _is_fallback(default):
        return default
    return None


def is_abmcrm_app(app):
    """Whether `app` is abmcrm's own (looked up without importing it: importing would make
    it the current app)."""
    module = sys.modules.get("abmcrm.celery")
    return module is not None and getattr(module, "app", None) is app


def broker_configured(app):
    """Whether publishing with `app` goes to a broker someone chose (settings, the
    environment, or the app's own configuration), not Celery's built-in default."""
    conf = app.conf
    if conf.broker_transport == UNCONFIGURED_TRANSPORT:
        return False
    return bool(conf.broker_write_url or conf.broker_transport)


_configured = []


def configured_app():
    """The app `configure()` chose, or None before it ran."""
    return _configured[-1] if _configured else None


def configure():
    """Make the app abmcrm's tasks are sent with the default for every thread (see the
    module's docstring); returns it."""
    app = host_app()
    if app is None:
        from abmcrm.celery import app
    if is_abmcrm_app(app) and not broker_configured(app):
        app.conf.broker_transport = UNCONFIGURED_TRANSPORT
    if _state.default_app is None or _is_fallback(_state.default_app):
        app.set_default()
    _configured[:] = [app]
    return app
