"""Queueing sends and the sweeper (programs/fulfillment/dispatch.py)."""


import pytest
from django.core.management import call_command

from programs.fulfillment import dispatch
from programs.models import Fulfillment, ProgramOrder
from tests.programs.fulfillment.helpers import provider_order

pytestmark = pytest.mark.django_db
S = ProgramOrder.Status
F = Fulfillment.State



class TestSweeper:
    def test_requeues_what_never_left_and_reconciles_what_is_stuck(self, fake_provider):
        waiting = provider_order(status=S.APPROVED)
        Fulfillment.objects.create(order=waiting, provider="gifting",
                                   idempotency_key=Fulfillment.key_for(waiting.pk, "gifting", 1))
        # A worker died after the provider received this one, before the answer was saved.
        stuck = provider_order(status=S.IN_PROGRESS)
        key = Fulfillment.key_for(stuck.pk, "gifting", 1)
        Fulfillment.objects.create(order=stuck, provider="gifting", idempotency_key=key,
                                   state=F.SENDING, attempts=1)
        fake_provider.gifts[key] = {"id": "gift_77", "idempotency_key": key,
                                    "status": "processing"}
        # Approved before fulfillment existed: no row at all.
        bare = provider_order(method="ad_audience", status=S.APPROVED)
        fresh = provider_order(status=S.IN_PROGRESS)
        Fulfillment.objects.create(order=fresh, provider="gifting", state=F.SENDING,
                                   idempotency_key=Fulfillment.key_for(fresh.pk, "gifting", 1))

        counts = dispatch.fulfillment_redrive()  # default limit: the fresh one is left alone
        assert counts == {"queued": 2, "not_queued": 0}
        assert Fulfillment.objects.get(order=waiting).state == F.SENT
        assert Fulfillment.objects.get(order=bare).state == F.DELIVERED
        assert Fulfillment.objects.get(order=fresh).state == F.SENDING

        call_command("redrive_fulfillment", "--older-than", "0", verbosity=0)
        reconciled = Fulfillment.objects.get(order=stuck)
        assert (reconciled.state, reconciled.external_id) == (F.SENT, "gift_77")
        # The stuck one was found by key: never posted again.
        assert [p.body["reference"] for p in fake_provider.posts()].count(
            f"order-{stuck.pk}") == 0
        assert Fulfillment.objects.get(order=fresh).state == F.SENT

    def test_reconciles_a_gift_delivered_without_a_webhook(self, approve, fake_provider):
        order = approve(provider_order())
        fake_provider.gifts[Fulfillment.objects.get(order=order).idempotency_key][
            "status"] = "delivered"
        dispatch.fulfillment_redrive(older_than=0)
        order.refresh_from_db()
        assert order.status == S.FULFILLED

    def test_leaves_finished_and_manual_orders_alone(self, approve, fake_provider, marketer):
        done = approve(provider_order(method="ad_audience"))
        manual = approve(provider_order(method="manual"))
        before = len(fake_provider.requests)
        assert dispatch.fulfillment_redrive(older_than=0) == {"queued": 0, "not_queued": 0}
        assert len(fake_provider.requests) == before
        assert not Fulfillment.objects.filter(order=manual).exists()
        assert ProgramOrder.objects.get(pk=done.pk).status == S.FULFILLED

def test_the_sweeper_is_on_the_beat_schedule_and_a_command(fake_provider, capsys):
    import abmcrm
    from abmcrm.celery import app
    from programs import tasks

    entry = abmcrm.beat_schedule()["abmcrm-redrive-fulfillment"]
    assert app.conf.beat_schedule["abmcrm-redrive-fulfillment"] == entry
    assert entry["task"] == tasks.redrive_fulfillment.name and entry["schedule"] > 0
    waiting = provider_order(method="ad_audience", status=S.APPROVED)
    call_command("redrive_fulfillment")
    assert "Queued 1 fulfillment(s); 0 could not be queued." in capsys.readouterr().out
    assert ProgramOrder.objects.get(pk=waiting.pk).status == S.FULFILLED
    tasks.redrive_fulfillment.delay()  # the beat task itself: nothing left to do
    assert len(fake_provider.created()) == 1
