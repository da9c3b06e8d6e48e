"""Every app reads its settings through tiers.conf.AppSettings: the host's value, else the
default, read at each access."""

import pytest
from django.test import override_settings

from funnel.conf import settings as funnel_settings
from programs.conf import settings as programs_settings
from tiers.conf import settings as tiers_settings


@pytest.mark.parametrize("app_settings, name, default", [
    (tiers_settings, "ABMCRM_SURGE_THRESHOLD", 60),
    (programs_settings, "ABMCRM_FULFILLMENT_SWEEP_BATCH", 500),
    (funnel_settings, "ABMCRM_FUNNEL_DEFAULT_PERIOD_DAYS", 365),
])
def test_default_then_the_hosts_value(app_settings, name, default):
    assert getattr(app_settings, name) == default
    with override_settings(**{name: 7}):
        assert getattr(app_settings, name) == 7
    assert getattr(app_settings, name) == default


def test_an_unknown_name_is_an_error_not_none():
    with pytest.raises(AttributeError, match="Unknown programs setting 'ABMCRM_NOPE'"):
        programs_settings.ABMCRM_NOPE  # noqa: B018
    with pytest.raises(AttributeError):
        tiers_settings.ABMCRM_FULFILLMENT_SWEEP_BATCH  # noqa: B018 (another app's)
