"""Regressions found in review: permission holes, 500s and stale scores."""

import pytest

from tests.factories import AccountFactory, ContactFactory, ProgramOrderFactory
from tiers.models import Account, Contact

pytestmark = pytest.mark.django_db


def test_rep_cannot_bulk_write_contacts_of_others_accounts(api, rep, other_rep):
    mine = AccountFactory(owner=rep, domain="mine.com")
    theirs = AccountFactory(owner=other_rep, domain="theirs.com")
    ContactFactory(account=theirs, email="boss@theirs.com", title="CEO")
    body = api.as_user(rep).post("/api/v1/contacts/bulk/", [
        {"account": "theirs.com", "email": "boss@theirs.com", "title": "Hacked"},
        {"account": "mine.com", "email": "new@mine.com"},
    ], format="json").json()
    assert body["created"] == 1 and body["updated"] == 0
    assert body["errors"][0]["index"] == 0 and "own" in body["errors"][0]["errors"]["account"][0]
    assert Contact.objects.get(email="boss@theirs.com").title == "CEO"
    assert Contact.objects.filter(account=mine).count() == 1


def test_rep_cannot_move_a_contact_to_others_account(api, rep, other_rep):
    contact = ContactFactory(account=AccountFactory(owner=rep))
    theirs = AccountFactory(owner=other_rep)
    response = api.as_user(rep).patch(f"/api/v1/contacts/{contact.pk}/",
                                      {"account": theirs.pk}, format="json")
    assert response.status_code == 403
    contact.refresh_from_db()
    assert contact.account.owner == rep


def test_deleting_an_account_with_orders_is_a_conflict(api, abm_admin):
    order = ProgramOrderFactory()
    response = api.as_user(abm_admin).delete(f"/api/v1/accounts/{order.account_id}/")
    assert response.status_code == 409 and "program orders" in response.json()["detail"]
    assert Account.objects.filter(pk=order.account_id).exists()


def test_out_of_range_integers_are_field_errors(api, abm_admin):
    body = api.as_user(abm_admin).post("/api/v1/accounts/bulk/", [
        {"name": "Big", "domain": "big.com", "customer_count": 10**12}], format="json").json()
    assert body["created"] == 0 and "customer_count" in body["errors"][0]["errors"]


def test_account_edits_are_rescored(api, abm_admin, django_capture_on_commit_callbacks):
    account = AccountFactory()
    assert account.scored_at is None
    with django_capture_on_commit_callbacks(execute=True):
        response = api.as_user(abm_admin).patch(f"/api/v1/accounts/{account.pk}/",
                                                {"employees": 1234}, format="json")
    assert response.status_code == 200
    account.refresh_from_db()
    assert account.scored_at is not None
