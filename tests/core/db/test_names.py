"""SQL names from `_meta` and the spellings that differ by backend (abmcrm/core/db/names.py),
checked by running them."""

from datetime import UTC, datetime

import pytest
from django.db import connection

from abmcrm.core.db.names import column, columns, days_between, month_of, null_safe_equals, table
from tiers.models import Account, Contact

pytestmark = pytest.mark.django_db


def test_names_come_from_meta_quoted():
    assert table(Account) == connection.ops.quote_name("tiers_account")
    assert column(Contact, "account") == connection.ops.quote_name("account_id")
    assert columns(Contact, "account", "email") == (
        f"{connection.ops.quote_name('account_id')}, {connection.ops.quote_name('email')}")
    with pytest.raises(Exception):  # noqa: B017, PT011 - FieldDoesNotExist
        column(Account, "no_such_field")


def _one(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def test_null_safe_equality_treats_two_nulls_as_equal():
    same = null_safe_equals()
    assert _one(f"SELECT CASE WHEN NULL {same} NULL THEN 1 ELSE 0 END") == 1
    assert _one(f"SELECT CASE WHEN 1 {same} NULL THEN 1 ELSE 0 END") == 0


def test_days_and_months_of_stored_times():
    account = Account.objects.create(name="A", domain="a.com")
    Account.objects.filter(pk=account.pk).update(
        created_at=datetime(2026, 3, 1, tzinfo=UTC), updated_at=datetime(2026, 3, 4, 12,
                                                                        tzinfo=UTC))
    created, updated = column(Account, "created_at"), column(Account, "updated_at")
    where = f" FROM {table(Account)} WHERE {column(Account, 'id')} = %s"
    assert float(_one(f"SELECT {days_between(updated, created)}{where}",
                      [account.pk])) == pytest.approx(3.5)
    assert _one(f"SELECT {month_of(created)}{where}".replace("%%", "%") if
                connection.vendor == "sqlite" else f"SELECT {month_of(created)}{where}",
                [account.pk]) == "2026-03"
