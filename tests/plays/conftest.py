import uuid

import pytest
from django.utils import timezone

from tests.factories import AccountFactory, ProgramItemFactory, RepFactory, tier


def make_event(type, account, data=None, *, save=False):
    """An outbox event as the apps below write it (saved only when `save`)."""
    from abmcrm.core.models import OutboxEvent

    event = OutboxEvent(id=uuid.uuid4(), type=type, account_id=account.pk, data=data or {},
                        occurred_at=timezone.now())
    if save:
        event.save()
    return event


@pytest.fixture
def owner(db):
    return RepFactory(username="owner1", first_name="Olive")


@pytest.fixture
def account(owner):
    return AccountFactory(name="Acme", owner=owner, tier=tier(1), fit_score=82,
                          surging_topics=["crm software"])


@pytest.fixture
def items(db):
    """Two items on tier 1's menu, one on tier 2's only."""
    return [ProgramItemFactory(name="Gift box", menu_tiers=[1]),
            ProgramItemFactory(name="Custom ad", kind="account_based_ad", menu_tiers=[1, 2]),
            ProgramItemFactory(name="Webinar", kind="event_invitation", menu_tiers=[2])]
