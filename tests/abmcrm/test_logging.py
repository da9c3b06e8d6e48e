"""The reference project's logging: each record is written once."""

import logging


def _writers(name, record):
    """The console handlers a record of logger `name` reaches (pytest's capture aside)."""
    logger, found = logging.getLogger(name), []
    while logger:
        found += [h for h in logger.handlers
                  if type(h) is logging.StreamHandler and h.filter(record)]
        logger = logger.parent if logger.propagate else None
    return found


def test_a_django_record_is_written_once_with_debug_on(settings):
    settings.DEBUG = True  # as in `make demo`, where "Not Found: …" came out twice
    for name in ("django.request", "django.server", "programs.fulfillment"):
        record = logging.getLogger(name).makeRecord(name, logging.WARNING, __file__, 1,
                                                    "Not Found: /favicon.ico", (), None)
        assert len(_writers(name, record)) == 1, name
