"""CompiledGet: a primary-key read compiled once, giving what the ORM gives (real database,
both backends)."""

import threading
from decimal import Decimal
from unittest.mock import patch

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext

from abmcrm.core.db.compiled import CompiledGet
from tests.factories import AccountFactory, ContactFactory, tier
from tiers.models import Account, Contact

pytestmark = pytest.mark.django_db

contact_with_account = CompiledGet(
    lambda: Contact.objects.select_related("account__tier", "account__owner"))


def test_same_instance_as_the_orm_with_related_objects_in_one_query(rep):
    account = AccountFactory(tier=tier(1), owner=rep, annual_revenue=Decimal("1234.50"))
    contact = ContactFactory(account=account)
    expected = Contact.objects.select_related("account__tier", "account__owner").get(
        pk=contact.pk)

    with CaptureQueriesContext(connection) as queries:
        got = contact_with_account(contact.pk)
        related = (got.account.name, got.account.tier.number, got.account.owner.username)
    assert len(queries) == 1  # the relations came with it
    assert related == (account.name, 1, rep.username)
    for field in Contact._meta.concrete_fields:
        assert getattr(got, field.attname) == getattr(expected, field.attname), field.name
    for field in Account._meta.concrete_fields:  # converted values too (datetimes, decimals)
        value = getattr(got.account, field.attname)
        assert value == getattr(expected.account, field.attname), field.name
        assert type(value) is type(getattr(expected.account, field.attname)), field.name
    assert got._state.adding is False and got._state.db == "default"
    got.title = "CMO"
    got.save(update_fields=["title"])  # a normal instance: it saves
    assert Contact.objects.get(pk=contact.pk).title == "CMO"


def test_a_null_relation_is_none_and_a_missing_row_is_none():
    contact = ContactFactory(account=AccountFactory(tier=None, owner=None))
    got = contact_with_account(contact.pk)
    assert got.account.tier is None and got.account.owner is None
    assert contact_with_account(contact.pk + 1000) is None


def test_each_call_binds_its_own_key_and_sees_current_rows():
    first, second = ContactFactory(), ContactFactory()
    assert contact_with_account(first.pk).email == first.email
    assert contact_with_account(second.pk).email == second.email
    Contact.objects.filter(pk=first.pk).update(email="changed@example.com")
    assert contact_with_account(first.pk).email == "changed@example.com"


@pytest.mark.django_db(transaction=True)
def test_survives_a_closed_connection():
    contact = ContactFactory()
    contact_with_account(contact.pk)
    connection.close()  # as a worker does between tasks; the compiled SQL stays valid
    assert contact_with_account(contact.pk).pk == contact.pk


@pytest.mark.parametrize("queryset", [
    lambda: Contact.objects.filter(title="CMO"),
    lambda: Contact.objects.annotate(n=Count("engagement_events")),
    lambda: Contact.objects.prefetch_related("engagement_events"),
    lambda: Contact.objects.values("id"),
    lambda: Contact.objects.all()[:5],
], ids=["lookup", "annotation", "prefetch", "values", "slice"])
def test_what_would_be_lost_or_frozen_is_refused(queryset):
    contact = ContactFactory()
    with pytest.raises(ValueError, match="plain queryset"):
        CompiledGet(queryset)(contact.pk)


def test_a_narrower_integer_key_works(rep):
    # auth.User's key is a 32-bit AutoField: the compile-time placeholder must fit it.
    users = CompiledGet(lambda: get_user_model().objects.all())
    assert users(rep.pk).username == rep.username
    assert users(rep.pk + 1000) is None


def test_compiled_once_then_only_bound():
    first, second = ContactFactory(), ContactFactory()
    reads = CompiledGet(lambda: Contact.objects.select_related("account"))
    with patch.object(SQLCompiler, "as_sql", autospec=True,
                      side_effect=SQLCompiler.as_sql) as as_sql:
        for contact in (first, second, first):
            assert reads(contact.pk).email == contact.email
    assert as_sql.call_count == 1


@pytest.mark.django_db(transaction=True)
def test_each_thread_compiles_for_its_own_connection():
    contact = ContactFactory()
    results = []

    def read():
        try:
            results.append(contact_with_account(contact.pk).email)
        finally:
            connection.close()

    threads = [threading.Thread(target=read) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [contact.email, contact.email]
    assert contact_with_account(contact.pk).email == contact.email
