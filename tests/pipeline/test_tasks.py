"""The pipeline's task on a real Celery worker process and the configured broker: a bulk
load's commit queues the deal touch rows of its new deals, and the worker computes them."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from abmcrm.core import ingest
from pipeline.models import DealTouch, DealTouchPending
from pipeline.services import deal_touches
from tests import factories
from tests.conftest import wait_for
from tiers.models import EngagementKind

pytestmark = pytest.mark.worker


def test_a_bulk_loads_deal_touches_are_computed_by_the_worker(celery_worker_process):
    now = timezone.now().replace(microsecond=0)
    EngagementKind.objects.update_or_create(key="demo_w", defaults={"name": "Demo",
                                                                    "weight": 40})
    account = factories.AccountFactory(domain="worker-deals.example.com")
    campaign = factories.CampaignFactory(name="Worker campaign", code="wk1")
    deal_touches.deal_touches_rebuild()
    ingest.bulk_ingest(kind="engagement_events", user=None, items=[{
        "account": account.domain, "kind": "demo_w",
        "occurred_at": (now - timedelta(days=20)).isoformat(), "source": campaign.code}])
    client = Client()
    client.force_login(factories.MarketerFactory(username="marketer-worker"))
    response = client.post("/api/v1/opportunities/bulk/", json.dumps([
        {"external_id": f"wk-{n}", "account": account.domain, "stage": "proposal",
         "amount": "100", "opened_at": (now - timedelta(days=10 - n)).isoformat()}
        for n in range(4)]), content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 4

    def computed():
        """the worker to compute the queued deals' touch rows"""
        return (not DealTouchPending.objects.exists()
                and DealTouch.objects.filter(campaign=campaign).count() == 4)

    wait_for(computed, timeout=60)
    assert set(DealTouch.objects.values_list("first", flat=True)) == {1.0}
