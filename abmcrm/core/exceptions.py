"""Errors raised by services. They know nothing of HTTP: the API's exception handler
(`abmcrm.core.api.errors`) maps them, InvalidInput → 400, NotAllowed → 403, Conflict → 409,
and the pages show their message.
"""


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
