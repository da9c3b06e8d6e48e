"""Deprecated: moved to `abmcrm.core.exceptions` and `abmcrm.core.api.errors`."""

from abmcrm.core.deprecation import moved

__getattr__ = moved(__name__, {
    "api_exception_handler": "abmcrm.core.api.errors",
    "AbmError": "abmcrm.core.exceptions", "InvalidInput": "abmcrm.core.exceptions",
    "NotAllowed": "abmcrm.core.exceptions", "Conflict": "abmcrm.core.exceptions",
})
