"""The funnel's outbox events: one `funnel.transition` per recorded transition, from the API's
path (transitions_apply) and the automatic moves (accounts_move)."""

import pytest

from abmcrm.core import outbox
from abmcrm.core.models import OutboxEvent
from funnel import services
from tests import factories
from tests.funnel.helpers import day, record

pytestmark = pytest.mark.django_db


def transitions():
    return [(e.account_id, e.data["from_stage"], e.data["to_stage"])
            for e in OutboxEvent.objects.filter(type=outbox.FUNNEL_TRANSITION).order_by("id")]


def test_recorded_transitions_are_events():
    account = factories.AccountFactory()
    record([{"account": account.domain, "to_stage": "target",
             "occurred_at": day(1).isoformat()},
            {"account": account.domain, "to_stage": "engaged",
             "occurred_at": day(2).isoformat(), "channel": "website"}])
    assert transitions() == [(account.pk, None, "target"), (account.pk, "target", "engaged")]
    last = OutboxEvent.objects.filter(type=outbox.FUNNEL_TRANSITION).order_by("id").last()
    assert last.occurred_at == day(2) and last.data["channel"] == "website"


def test_automatic_moves_are_events():
    a, b = factories.AccountFactory(), factories.AccountFactory()
    services.accounts_move(moves=[(a.pk, day(1))], to_stage="target")
    services.accounts_move(moves=[(a.pk, day(2)), (b.pk, day(2))], to_stage="engaged")
    expected = [(a.pk, None, "target"), (a.pk, "target", "engaged"), (b.pk, None, "engaged")]
    assert sorted(transitions(), key=str) == sorted(expected, key=str)
