"""The write half of every bulk upsert (abmcrm/core/ingest/upsert.py)."""

from datetime import UTC, datetime

import pytest

from abmcrm.core import ingest
from tests.factories import AccountFactory
from tiers.models import Contact

pytestmark = pytest.mark.django_db


def test_dedupe_keeps_the_first_of_each_key_and_reports_the_others():
    rows = [(0, {"k": "a"}), (1, {"k": "b"}), (2, {"k": "a"}), (3, {"k": "a"})]
    unique, errors = ingest.dedupe(rows, key=lambda d: d["k"],
                                   message=lambda first: {"k": [f"first at {first}"]})
    assert [position for position, _ in unique] == [0, 1]
    assert errors == [(2, {"k": ["first at 0"]}), (3, {"k": ["first at 0"]})]


def test_upsert_creates_updates_and_leaves_alone():
    account = AccountFactory()
    same = Contact.objects.create(account=account, email="same@x.com", title="CFO")
    moved = Contact.objects.create(account=account, email="moved@x.com", title="CFO")
    rows = [(0, {"account": account, "email": "same@x.com", "title": "CFO"}),
            (1, {"account": account, "email": "moved@x.com", "title": "CMO"}),
            (2, {"account": account, "email": "new@x.com", "title": "VP"})]
    existing = {c.email: c for c in Contact.objects.all()}
    now = datetime(2026, 1, 2, tzinfo=UTC)
    upsert = ingest.Upsert().match(rows, existing=existing, key=lambda d: d["email"],
                                   fields=("title",), build=lambda d: Contact(**d), now=now)
    assert (len(upsert.created), upsert.updated, upsert.unchanged) == (1, 1, 1)
    upsert.write(Contact)
    assert Contact.objects.get(pk=moved.pk).title == "CMO"
    assert Contact.objects.get(pk=moved.pk).updated_at > moved.updated_at  # written
    assert Contact.objects.get(pk=same.pk).updated_at == same.updated_at  # left alone
    assert Contact.objects.get(email="new@x.com").title == "VP"
