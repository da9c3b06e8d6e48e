"""Helpers of the pipeline tests: days of a fixed calendar, deals created and moved through
the services, bulk items through the bulk path."""

from datetime import UTC, date, datetime, timedelta

from django.apps import apps

from abmcrm.core import ingest
from pipeline import services
from pipeline.models import OpportunityStage


def day(n, hour=12):
    """Day n counted from 1 January 2025 (32 is 1 February), at noon UTC."""
    return datetime(2025, 1, 1, hour, tzinfo=UTC) + timedelta(days=n - 1)


def jan(n):
    return date(2025, 1, n)


def stage(slug):
    return OpportunityStage.objects.get(slug=slug)


def deal(account, slug="prospecting", opened=1, *, by=None, **fields):
    """A deal created through the service (its history starts with it)."""
    if isinstance(opened, int):
        opened = day(opened)
    return services.opportunity_create(by=by, account=account, stage=stage(slug),
                                       opened_at=opened, **fields)


def move(opportunity, slug, n, *, by=None, **fields):
    opportunity.refresh_from_db()
    return services.opportunity_move(opportunity=opportunity, stage=stage(slug), at=day(n),
                                     by=by, **fields)


def bulk(items, user=None):
    return ingest.bulk_ingest(kind="opportunities", items=items, user=user)


def event(account, at, source, *, weight=50, key="demo_request_t"):
    """A meaningful engagement event carrying `source` (a campaign's code, for a touch)."""
    Kind = apps.get_model("tiers", "EngagementKind")
    Event = apps.get_model("tiers", "EngagementEvent")
    kind, _ = Kind.objects.update_or_create(key=key, defaults={"name": key, "weight": weight})
    return Event.objects.create(account=account, kind=kind, occurred_at=at, source=source,
                                dedupe_key=f"{account.pk}-{kind.pk}-{at.isoformat()}-{source}")


def order(account, campaign, at, status="approved"):
    """A program order for an item of `campaign`, placed at `at`."""
    from programs.models import ProgramOrder
    from tests import factories

    placed = factories.ProgramOrderFactory(
        account=account, item=factories.ProgramItemFactory(campaign=campaign), status=status)
    ProgramOrder.objects.filter(pk=placed.pk).update(created_at=at)
    return placed
