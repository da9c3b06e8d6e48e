"""Sending provider orders (programs/fulfillment/sending.py) against the fake provider (a
real HTTP server); tasks run eagerly here. The real worker process is in test_worker.py."""

import time

import pytest
from django.core.management import call_command

from programs.fulfillment import queue
from programs.models import Fulfillment, OrderEvent, ProgramOrder
from programs.services import order_transition
from tests.factories import (
    BudgetFactory,
)
from tests.programs.fulfillment.helpers import broker_unreachable, provider_order

pytestmark = pytest.mark.django_db
S = ProgramOrder.Status
F = Fulfillment.State



class TestSend:
    def test_manual_item_sends_nothing(self, approve, fake_provider):
        order = approve(provider_order(method="manual"))
        assert order.status == S.APPROVED
        assert not Fulfillment.objects.exists() and not fake_provider.requests

    def test_gift_is_sent_once_with_the_idempotency_key(self, approve, fake_provider):
        order = approve(provider_order())
        fulfillment = Fulfillment.objects.get(order=order)
        assert fulfillment.idempotency_key == f"abmcrm-order-{order.pk}-gifting-1"
        [post] = fake_provider.posts()
        assert post.headers["Idempotency-Key"] == fulfillment.idempotency_key
        assert post.headers["Authorization"] == "Bearer gift-key"
        assert post.body["recipient"]["email"] == order.contact.email
        assert post.body["reference"] == f"order-{order.pk}"
        assert (fulfillment.state, fulfillment.attempts) == (F.SENT, 1)
        assert fulfillment.external_id == "gift_1" and fulfillment.dispatched_at
        assert order.status == S.IN_PROGRESS and order.external_reference == "gift_1"
        assert list(order.events.values_list("to_status", "by")) == [
            ("approved", order.events.first().by_id), ("in_progress", None)]

    def test_ad_audience_is_fulfilled_when_the_member_is_active(self, approve, fake_provider):
        budget = BudgetFactory(limit=1000)
        order = approve(provider_order(method="ad_audience", cost=250))
        [post] = fake_provider.posts("/v1/audiences/tier-1/members")
        assert post.body["domain"] == order.account.domain
        assert order.status == S.FULFILLED and order.external_reference == "member_1"
        budget.refresh_from_db()
        assert (budget.committed, budget.spent) == (0, 250)
        # The provider's answer was the outcome: the order moved once.
        assert list(order.events.values_list("to_status", "note")) == [
            ("approved", ""), ("fulfilled", "Delivered by ad_audience.")]

    def test_a_send_being_retried_is_in_progress(self, approve, fake_provider):
        fake_provider.fail_next(1, status=503, message="Upstream busy")
        order = approve(provider_order(method="ad_audience"))
        assert order.status == S.FULFILLED
        assert list(order.events.values_list("to_status", "note")) == [
            ("approved", ""),
            ("in_progress", "Sending through ad_audience (retrying: ad_audience answered "
                            "503: Upstream busy)"),
            ("fulfilled", "Delivered by ad_audience.")]

    def test_no_claim_or_cancel_while_a_call_is_in_flight(self, fake_provider, marketer,
                                                          django_capture_on_commit_callbacks,
                                                          api):
        order = provider_order(method="ad_audience")
        with django_capture_on_commit_callbacks(execute=False):  # the task is not run
            order_transition(order=order, to=S.APPROVED, by=marketer)
        Fulfillment.objects.filter(order=order).update(state=F.SENDING, attempts=1)
        response = api.as_user(marketer).post(f"/api/v1/orders/{order.pk}/claim/")
        assert response.status_code == 409 and response.json()["code"] == "being_sent"
        rep = order.requested_by
        response = api.as_user(rep).post(f"/api/v1/orders/{order.pk}/cancel/", {})
        assert response.status_code == 409 and response.json()["code"] == "being_sent"
        assert ProgramOrder.objects.get(pk=order.pk).status == S.APPROVED
        # Once the provider has answered (here: a failure), the queue takes over again.
        Fulfillment.objects.filter(order=order).update(state=F.FAILED)
        assert api.as_user(marketer).post(
            f"/api/v1/orders/{order.pk}/claim/").status_code == 200

    @pytest.mark.parametrize("status", [500, 503, 429])
    def test_transient_errors_retry_then_one_send(self, approve, fake_provider, status):
        fake_provider.fail_next(2, status=status)
        order = approve(provider_order())
        assert len(fake_provider.posts()) == 3
        assert len(fake_provider.gifts) == 1
        fulfillment = Fulfillment.objects.get(order=order)
        assert (fulfillment.state, fulfillment.attempts) == (F.SENT, 3)
        # The retries asked the provider by key before sending again.
        lookups = [r for r in fake_provider.requests if r.method == "GET"]
        assert len(lookups) == 2 and fulfillment.idempotency_key in lookups[0].path

    def test_a_timeout_is_retried(self, approve, fake_provider):
        fake_provider.hang_next(1, seconds=2.5)  # the client gives up after 2 s
        order = approve(provider_order())
        assert order.status == S.IN_PROGRESS
        assert len(fake_provider.gifts) == 1

    def test_unreachable_provider_retries_then_fails_with_the_last_error(
            self, approve, fake_provider, settings):
        budget = BudgetFactory(limit=1000)
        settings.ABMCRM_PROVIDERS["gifting"]["base_url"] = "http://127.0.0.1:9"
        order = approve(provider_order())
        fulfillment = Fulfillment.objects.get(order=order)
        assert order.status == S.FAILED and fulfillment.state == F.FAILED
        assert fulfillment.attempts == settings.ABMCRM_FULFILLMENT_MAX_RETRIES + 1
        assert "Gave up after 5 attempts: Could not reach gifting" in order.reason
        assert fulfillment.last_error == order.reason
        budget.refresh_from_db()
        assert budget.committed == 0 and budget.spent == 0

    def test_client_error_fails_at_once_with_the_providers_message(self, approve,
                                                                   fake_provider):
        fake_provider.fail_next(1, status=422, message="Recipient address is incomplete")
        order = approve(provider_order())
        assert len(fake_provider.posts()) == 1
        assert order.status == S.FAILED
        assert order.reason == "gifting answered 422: Recipient address is incomplete"
        assert OrderEvent.objects.filter(order=order, to_status="failed", by=None).exists()

    def test_unknown_provider_fails_the_order_with_a_message(self, approve, fake_provider):
        order = approve(provider_order(method="carrier-pigeon"))
        assert order.status == S.FAILED and "carrier-pigeon" in order.reason

    def test_retry_of_a_failed_order_sends_again_with_a_new_key(
            self, approve, fake_provider, marketer, django_capture_on_commit_callbacks):
        fake_provider.fail_next(1, status=400, message="Bad address")
        order = approve(provider_order())
        assert order.status == S.FAILED
        order = ProgramOrder.objects.select_related("item").get(pk=order.pk)
        with django_capture_on_commit_callbacks(execute=True):
            queue.order_retry(order=order, by=marketer)
        fulfillment = Fulfillment.objects.get(order=order)
        assert fulfillment.round == 2
        assert fulfillment.idempotency_key.endswith("-gifting-2")
        assert fulfillment.state == F.SENT and len(fake_provider.gifts) == 1
        order.refresh_from_db()
        assert order.status == S.IN_PROGRESS and order.reason == ""

    def test_second_delivery_of_the_task_sends_nothing(self, approve, fake_provider):
        from programs.tasks import send_fulfillment

        order = approve(provider_order())
        send_fulfillment.delay(Fulfillment.objects.get(order=order).pk)
        assert len(fake_provider.requests) == 1 and len(fake_provider.gifts) == 1

class TestBrokerDown:
    def test_approval_succeeds_fast_and_waits_to_be_sent(self, fake_provider, marketer,
                                                         django_capture_on_commit_callbacks):
        order = provider_order()
        with broker_unreachable():
            started = time.monotonic()
            with django_capture_on_commit_callbacks(execute=True):
                order_transition(order=order, to=S.APPROVED, by=marketer)
            elapsed = time.monotonic() - started
        assert elapsed < 2
        order.refresh_from_db()
        fulfillment = Fulfillment.objects.get(order=order)
        assert order.status == S.APPROVED
        assert fulfillment.state == F.PENDING and fulfillment.dispatched_at is None
        assert "Could not be queued" in fulfillment.last_error
        assert not fake_provider.requests
        # The broker is back: the sweeper sends it.
        call_command("redrive_fulfillment", verbosity=0)
        fulfillment.refresh_from_db()
        assert fulfillment.state == F.SENT and len(fake_provider.gifts) == 1
