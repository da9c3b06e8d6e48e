"""Logging helpers for the projects that run abmcrm (see the reference settings' LOGGING)."""

import logging


class ClientErrorsWithoutTraceback(logging.Filter):
    """Keep the one line Django logs for a 4xx answer, drop its traceback.

    `django.request` logs a PermissionDenied (403) or Http404 with the exception attached, so
    the console printed a full traceback each time a rep opened a marketers' page. A refused
    request is the expected answer, not a fault to debug; 5xx keep their traceback."""

    def filter(self, record):
        status = getattr(record, "status_code", None)
        if status is not None and status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
