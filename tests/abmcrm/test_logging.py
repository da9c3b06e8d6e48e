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


def test_a_refused_request_logs_one_line_without_traceback(client, rep, caplog):
    client.force_login(rep)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get("/orders/approvals/").status_code == 403
    records = [r for r in caplog.records if r.name == "django.request"]
    assert [r.getMessage() for r in records] == ["Forbidden (Permission denied): "
                                                 "/orders/approvals/"]
    assert records[0].exc_info is None and not caplog.text.count("Traceback")


def test_a_server_error_keeps_its_traceback():
    from abmcrm.core.log import ClientErrorsWithoutTraceback

    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        info = sys.exc_info()
    record = logging.getLogger("django.request").makeRecord(
        "django.request", logging.ERROR, __file__, 1, "Internal Server Error: /x", (), info,
        extra={"status_code": 500})
    assert ClientErrorsWithoutTraceback().filter(record) and record.exc_info is info
