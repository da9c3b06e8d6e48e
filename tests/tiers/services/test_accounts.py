"""tiers.services.accounts: an update saves what it was given, nothing it read before."""

import pytest

from tests.factories import AccountFactory
from tiers import services
from tiers.models import Account

pytestmark = pytest.mark.django_db


def test_an_update_saves_the_given_fields_only():
    account = AccountFactory(name="Old name")
    stale = Account.objects.get(pk=account.pk)
    # Written while the update's request held its copy: the recompute's and the in-market
    # scoring's fields.
    Account.objects.filter(pk=account.pk).update(fit_score=77, in_market_probability=0.42,
                                                 buying_stage="decision", is_6qa=True)
    services.account_update(account=stale, name="New name")
    account.refresh_from_db()
    assert (account.name, account.fit_score, account.in_market_probability,
            account.buying_stage, account.is_6qa) == ("New name", 77, 0.42, "decision", True)
