"""The API's translation of service errors to HTTP (`REST_FRAMEWORK["EXCEPTION_HANDLER"]`)."""

from django.conf import settings as django_settings
from django.core.exceptions import (
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from ..exceptions import Conflict, InvalidInput, NotAllowed


def _body(exc):
    body = {"detail": exc.message}
    if exc.code:
        body["code"] = exc.code
    if exc.detail:
        body["errors"] = exc.detail
    return body


def _too_large(exc):
    """Django refuses a body over its limits with a SuspiciousOperation, which would be an
    HTML 400: say which limit in the API's error body."""
    if isinstance(exc, RequestDataTooBig):
        limit = django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return {"detail": _("The request body is larger than the %(limit)s bytes this server "
                            "accepts: send fewer rows at a time.") % {"limit": limit},
                "code": "request_too_large"}
    if isinstance(exc, TooManyFilesSent):
        return {"detail": _("More than %(limit)s files in one request.")
                % {"limit": django_settings.DATA_UPLOAD_MAX_NUMBER_FILES},
                "code": "too_many_files"}
    return {"detail": _("More than %(limit)s fields in one request.")
            % {"limit": django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS},
            "code": "too_many_fields"}


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
        return Response({"detail": _("It is still referenced by %(names)s: it stays for the "
                                     "record.") % {"names": ", ".join(names)},
                         "code": "protected"},

                        status=status.HTTP_409_CONFLICT)
    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
        return Response(_too_large(exc), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        )
    return exception_handler(exc, context)
