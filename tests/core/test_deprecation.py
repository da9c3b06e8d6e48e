"""What moved keeps working for host projects, with a DeprecationWarning naming the new place:
the dotted paths of their settings, the old ABMCRM_FULFILMENT_* names and the providers' old
class paths."""

import pytest
from django.core.checks import run_checks
from django.test import override_settings
from django.utils.module_loading import import_string

from abmcrm.core.api.errors import api_exception_handler
from abmcrm.core.api.pagination import PageNumberPagination
from abmcrm.core.context_processors import abm
from programs.conf import settings as programs_settings
from programs.fulfillment.providers import get_provider
from programs.fulfillment.providers.gifting import GiftingProvider


@pytest.mark.parametrize("old, new", [
    ("tiers.exceptions.api_exception_handler", api_exception_handler),
    ("tiers.pagination.PageNumberPagination", PageNumberPagination),
    ("tiers.context_processors.abm", abm),
])
def test_old_settings_paths_resolve_to_the_new_objects(old, new):
    with pytest.deprecated_call(match=r"moved to abmcrm\.core"):
        assert import_string(old) is new


def test_an_unknown_name_on_an_old_path_is_still_an_error():
    import tiers.exceptions

    with pytest.raises(AttributeError):
        tiers.exceptions.NoSuchThing  # noqa: B018


@pytest.mark.django_db
def test_a_host_with_the_old_settings_paths_still_gets_abmcrm_errors(api, rep):
    rest = {"DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication"],
        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
        "DEFAULT_PAGINATION_CLASS": "tiers.pagination.PageNumberPagination",
        "EXCEPTION_HANDLER": "tiers.exceptions.api_exception_handler"}
    with override_settings(REST_FRAMEWORK=rest), pytest.deprecated_call():
        response = api.as_user(rep).post("/api/v1/orders/", {"account": 1, "items": []},
                                         format="json")
        listed = api.as_user(rep).get("/api/v1/accounts/?page_size=1")
    assert response.status_code == 400 and "items" in response.json()
    assert listed.status_code == 200 and set(listed.json()) == {"count", "next", "previous",
                                                                "results"}


def test_the_old_fulfilment_setting_names_are_read_with_a_warning():
    with override_settings(ABMCRM_FULFILMENT_SWEEP_BATCH=7):
        with pytest.deprecated_call(match="ABMCRM_FULFILMENT_SWEEP_BATCH is deprecated"):
            assert programs_settings.ABMCRM_FULFILLMENT_SWEEP_BATCH == 7
        warnings = [c for c in run_checks() if c.id == "abmcrm.W001"]
        assert [w.hint for w in warnings] == ["Rename it ABMCRM_FULFILLMENT_SWEEP_BATCH."]
    with override_settings(ABMCRM_FULFILMENT_SWEEP_BATCH=7, ABMCRM_FULFILLMENT_SWEEP_BATCH=9):
        assert programs_settings.ABMCRM_FULFILLMENT_SWEEP_BATCH == 9  # the new name wins
    assert not [c for c in run_checks() if c.id == "abmcrm.W001"]


def test_reading_an_old_name_from_the_app_settings_gives_the_new_value():
    with override_settings(ABMCRM_FULFILLMENT_SWEEP_BATCH=11):
        with pytest.deprecated_call(match="read ABMCRM_FULFILLMENT_SWEEP_BATCH instead"):
            assert programs_settings.ABMCRM_FULFILMENT_SWEEP_BATCH == 11


def test_providers_named_by_their_old_class_path_still_load():
    providers = {"gifting": {"class": "programs.providers.gifting.GiftingProvider",
                             "base_url": "http://127.0.0.1:9"}}
    with override_settings(ABMCRM_PROVIDERS=providers), \
            pytest.deprecated_call(match="moved to programs.fulfillment.providers"):
        assert isinstance(get_provider("gifting"), GiftingProvider)
