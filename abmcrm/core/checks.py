"""System checks (`manage.py check`): set-up that abmcrm needs, said with the fix."""

from django.apps import apps
from django.core import checks
from django.utils.module_loading import import_string


@checks.register()
def deprecated_settings(app_configs=None, **kwargs):
    """Renamed `ABMCRM_*` settings the host still sets (they work, with a warning)."""
    found = []
    for config in apps.get_app_configs():
        try:
            app_settings = import_string(f"{config.name}.conf.settings")
        except ImportError:
            continue
        for old, new in getattr(app_settings, "deprecated_in_use", list)():
            found.append(checks.Warning(
                f"The setting {old} is deprecated.", hint=f"Rename it {new}.",
                obj=config.name, id="abmcrm.W001"))
    return found
