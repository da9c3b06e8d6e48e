"""Deprecated: moved to `abmcrm.core.api.pagination`."""

from abmcrm.core.deprecation import moved

__getattr__ = moved(__name__, {"PageNumberPagination": "abmcrm.core.api.pagination"})
