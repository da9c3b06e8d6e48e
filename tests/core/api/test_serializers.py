"""Representations built by hand (a list's rows) answer exactly what DRF's generic
ModelSerializer machinery would for the same declared fields."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from rest_framework import serializers

from funnel.models import Stage, StageTransition
from funnel.serializers import TransitionSerializer
from tests import factories
from tiers.models import Technology
from tiers.serializers import AccountSerializer

pytestmark = pytest.mark.django_db


def generic(serializer_class, instance):
    """What DRF's own to_representation makes of `instance`."""
    return serializers.ModelSerializer.to_representation(serializer_class(), instance)


@pytest.mark.parametrize("values", [
    {},
    {"tier": None, "owner": None, "employees": None, "annual_revenue": None,
     "estimated_acv": None, "external_id": None},
    {"annual_revenue": Decimal("1234567.5"), "estimated_acv": Decimal("0"),
     "surging_topics": ["crm", "erp"], "scored_at": datetime(2025, 3, 1, 12, 30, tzinfo=UTC),
     "has_recent_intent": True, "tier_locked": True, "fit_score": 87},
])
def test_account_rows(rep, values):
    if "tier" not in values:
        values["tier"] = factories.tier(2)
    values.setdefault("owner", rep)
    account = factories.AccountFactory(**values)
    account.technologies.add(Technology.objects.create(name="Salesforce", slug="salesforce"))
    account.refresh_from_db()
    assert AccountSerializer().to_representation(account) == generic(AccountSerializer, account)


@pytest.mark.parametrize("side", ["account", "lead"])
def test_transition_rows(marketer, side):
    stages = {stage.slug: stage for stage in Stage.objects.all()}
    entity = ({"account": factories.AccountFactory()} if side == "account"
              else {"lead": factories.LeadFactory()})
    first = StageTransition.objects.create(to_stage=stages["target" if side == "account"
                                                            else "inquiry"],
                                           occurred_at=datetime(2025, 1, 2, tzinfo=UTC),
                                           **entity)
    second = StageTransition.objects.create(
        from_stage=first.to_stage, to_stage=stages["opportunity"], channel="events",
        campaign=factories.CampaignFactory(), amount=Decimal("1500"), recorded_by=marketer,
        external_id="x-1", occurred_at=datetime(2025, 1, 3, tzinfo=UTC), **entity)
    for transition in (first, second):
        transition.refresh_from_db()
        assert TransitionSerializer().to_representation(transition) == generic(
            TransitionSerializer, transition)
