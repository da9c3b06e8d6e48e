"""Errors raised by services, and the API's translation of them to HTTP.

Services raise these plain exceptions; they know nothing of HTTP. The DRF exception handler
maps them: InvalidInput → 400, NotAllowed → 403, Conflict → 409.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class AbmError(Exception):
    def __init__(self, message, *, code=None, detail=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.detail = detail


class InvalidInput(AbmError):
    """The request is wrong; `detail` may carry per-field errors."""


class NotAllowed(AbmError):
    """The user may not do this."""


class Conflict(AbmError):
    """The state moved under us (someone else acted first) or a limit would be broken."""


def _body(exc):
    body = {"detail": exc.message}
    if exc.code:
        body["code"] = exc.code
    if exc.detail:
        body["errors"] = exc.detail
    return body


def api_exception_handler(exc, context):
    """The API's error bodies: {"detail", "code"} (and field errors) for the app's own
    exceptions; every 404 is DRF's plain "Not found." (Django's message names the model)."""
    if isinstance(exc, InvalidInput):
        return Response(_body(exc), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, NotAllowed):
        return Response(_body(exc), status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, Conflict):
        return Response(_body(exc), status=status.HTTP_409_CONFLICT)
    if isinstance(exc, ProtectedError):
        # Deleting something other records point to (e.g. an account with orders).
        names = sorted({str(obj._meta.verbose_name_plural) for obj in exc.protected_objects})
        return Response({"detail": f"It is still referenced by {', '.join(names)}: it stays "
                                   "for the record.", "code": "protected"},
                        status=status.HTTP_409_CONFLICT)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        )
    return exception_handler(exc, context)
