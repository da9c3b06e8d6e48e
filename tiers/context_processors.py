"""Deprecated: moved to `abmcrm.core.context_processors`."""

from abmcrm.core.deprecation import moved

__getattr__ = moved(__name__, {"abm": "abmcrm.core.context_processors"})
