"""The tiers app's settings, each overridable as ABMCRM_<NAME> in the host project."""

from django.conf import settings

DEFAULTS = {
    # Largest CSV file the import endpoint accepts.
    "IMPORT_MAX_BYTES": 200 * 1024 * 1024,
}


class AppSettings:
    def __getattr__(self, name):
        if name not in DEFAULTS:
            raise AttributeError(f"No abmcrm setting {name}")
        return getattr(settings, f"ABMCRM_{name}", DEFAULTS[name])


app_settings = AppSettings()
