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

def test_the_sweeper_is_a_command_of_its_own_and_part_of_redrive(fake_provider, capsys):
    from abmcrm.core import tasks as core_tasks
    from programs import tasks

    waiting = provider_order(method="ad_audience", status=S.APPROVED)
    call_command("redrive_fulfillment")
    assert "Queued 1 fulfillment(s); 0 could not be queued." in capsys.readouterr().out
    assert ProgramOrder.objects.get(pk=waiting.pk).status == S.FULFILLED
    tasks.redrive_fulfillment.delay()  # the old beat task still runs: nothing left to do
    again = provider_order(method="ad_audience", status=S.APPROVED)
    call_command("redrive")
    assert "fulfillment: queued 1, not_queued 0" in capsys.readouterr().out
    assert ProgramOrder.objects.get(pk=again.pk).status == S.FULFILLED
    core_tasks.redrive.delay()  # the beat task: nothing left to do
    assert len(fake_provider.created()) == 2


class TestStuckAfter:
    """How long a send can stay "sending": a dead worker's send is reconciled after
    ABMCRM_FULFILLMENT_STUCK_AFTER (60 s by default, above two provider calls of 10 s each);
    a send waiting for its retry is not taken for a stuck one."""

    def sending(self, *, claimed_ago, dispatched_at=None):
        from datetime import timedelta

        from django.utils import timezone

        order = provider_order(status=S.IN_PROGRESS)
        fulfillment = Fulfillment.objects.create(
            order=order, provider="gifting", state=F.SENDING, attempts=1,
            idempotency_key=Fulfillment.key_for(order.pk, "gifting", 1),
            dispatched_at=dispatched_at)
        Fulfillment.objects.filter(pk=fulfillment.pk).update(
            updated_at=timezone.now() - timedelta(seconds=claimed_ago))
        return fulfillment

    def test_the_default_is_above_two_provider_timeouts_and_short(self, settings):
        from programs.conf import DEFAULTS

        timeouts = [config["timeout"] for config in DEFAULTS["ABMCRM_PROVIDERS"].values()
                    if "timeout" in config]
        assert 2 * max(timeouts) < DEFAULTS["ABMCRM_FULFILLMENT_STUCK_AFTER"] <= 60

    def test_a_dead_workers_send_is_reconciled_after_stuck_after(self, fake_provider):
        dead = self.sending(claimed_ago=61)
        in_flight = self.sending(claimed_ago=5)
        assert dispatch.fulfillment_redrive() == {"queued": 1, "not_queued": 0}
        assert Fulfillment.objects.get(pk=dead.pk).state != F.SENDING
        assert Fulfillment.objects.get(pk=in_flight.pk).state == F.SENDING

    def test_a_send_waiting_for_its_retry_is_left_alone(self, fake_provider):
        from datetime import timedelta

        from django.utils import timezone

        waiting = self.sending(claimed_ago=120,
                               dispatched_at=timezone.now() + timedelta(seconds=300))
        assert dispatch.fulfillment_redrive() == {"queued": 0, "not_queued": 0}
        # …until its retry is overdue by the same bound (the retry's message was lost).
        Fulfillment.objects.filter(pk=waiting.pk).update(
            dispatched_at=timezone.now() - timedelta(seconds=61))
        assert dispatch.fulfillment_redrive() == {"queued": 1, "not_queued": 0}

    def test_a_transient_error_schedules_the_retry_on_the_row(self, approve, fake_provider):
        from django.utils import timezone

        fake_provider.fail_next(1, status=503)
        order = approve(provider_order())
        fulfillment = Fulfillment.objects.get(order=order)
        # The eager retry ran at once and sent it; the failed attempt noted its retry time.
        assert fulfillment.state == F.SENT and fulfillment.attempts == 2
        assert fulfillment.dispatched_at > timezone.now() - timedelta_seconds(5)

    def test_a_stuck_after_within_the_provider_timeouts_is_a_check_warning(self, settings):
        from django.core import checks

        settings.ABMCRM_FULFILLMENT_STUCK_AFTER = 15  # the test providers time out at 2 s
        assert not [m for m in checks.run_checks() if m.id == "programs.W001"]
        settings.ABMCRM_FULFILLMENT_STUCK_AFTER = 4
        warned = [m for m in checks.run_checks() if m.id == "programs.W001"]
        assert warned and "twice the longest provider timeout (4 s)" in warned[0].msg


def timedelta_seconds(seconds):
    from datetime import timedelta

    return timedelta(seconds=seconds)
