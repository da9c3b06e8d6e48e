"""Data migrations of the tiers app, run against rows of today's models."""

import importlib
import pkgutil

import pytest
from django.apps import apps

import tiers.migrations
from tests.factories import AccountFactory, tier
from tiers.models import Account

pytestmark = pytest.mark.django_db


def migration(suffix):
    """The migration module whose name ends with `suffix` (its number may change at merge)."""
    [name] = [module.name for module in pkgutil.iter_modules(tiers.migrations.__path__)
              if module.name.endswith(suffix)]
    return importlib.import_module(f"tiers.migrations.{name}")


def test_a_default_coverage_becomes_not_computed():
    """0 % with no role missing was the default, never computed: it becomes empty. A computed
    0 % (every role missing) and a computed 100 % stay."""
    default = AccountFactory(tier=tier(1))
    none_filled = AccountFactory(tier=tier(1))
    full = AccountFactory(tier=tier(3))
    Account.objects.filter(pk=default.pk).update(coverage=0, missing_roles=[])
    Account.objects.filter(pk=none_filled.pk).update(coverage=0,
                                                     missing_roles=["decision_maker"])
    Account.objects.filter(pk=full.pk).update(coverage=100, missing_roles=[])
    migration("account_coverage_not_computed").forget_default_coverage(apps, None)
    coverage = dict(Account.objects.values_list("pk", "coverage"))
    assert coverage == {default.pk: None, none_filled.pk: 0, full.pk: 100}
