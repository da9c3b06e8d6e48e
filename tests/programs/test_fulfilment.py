"""Fulfilment services against the fake provider (a real HTTP server); tasks run eagerly
here. The real worker process is in test_fulfilment_worker.py."""

import time
from contextlib import contextmanager

import pytest
from django.core.management import call_command

from abmcrm.core.exceptions import Conflict, InvalidInput
from programs import fulfilment
from programs.models import Fulfillment, OrderEvent, ProgramOrder, ProviderEvent
from programs.services import order_transition
from tests.factories import (
    BudgetFactory,
    ContactFactory,
    ProgramItemFactory,
    ProgramOrderFactory,
)

pytestmark = pytest.mark.django_db
S = ProgramOrder.Status
F = Fulfillment.State


def provider_order(method="gifting", cost=100, **kwargs):
    item = ProgramItemFactory(fulfilment_method=method, needs_contact=method == "gifting",
                              unit_cost=cost)
    contact = ContactFactory()
    return ProgramOrderFactory(item=item, account=contact.account, contact=contact, cost=cost,
                               **kwargs)


@pytest.fixture
def approve(django_capture_on_commit_callbacks, marketer):
    """approve(order): approve and run what is queued on commit (the task runs eagerly)."""

    def do(order, by=marketer):
        with django_capture_on_commit_callbacks(execute=True):
            order_transition(order=order, to=S.APPROVED, by=by)
        order.refresh_from_db()
        return order

    return do


@contextmanager
def broker_unreachable():
    """Publishing goes to a Redis port where nothing listens, as if the broker were down."""
    from abmcrm.celery import app

    saved = (app.conf.broker_url, app.conf.task_always_eager,
             app.conf.broker_transport_options)
    with pytest.MonkeyPatch.context() as patch:
        # Celery reads CELERY_BROKER_URL from the environment before its own settings.
        patch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
        app.conf.broker_url = "redis://127.0.0.1:1/0"
        app.conf.broker_transport_options = {"socket_connect_timeout": 1}
        app.conf.task_always_eager = False
        app._pool = None
        app.amqp._producer_pool = None
        try:
            yield
        finally:
            (app.conf.broker_url, app.conf.task_always_eager,
             app.conf.broker_transport_options) = saved
            app._pool = None
            app.amqp._producer_pool = None


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
        assert fulfillment.attempts == settings.ABMCRM_FULFILMENT_MAX_RETRIES + 1
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
            fulfilment.order_retry(order=order, by=marketer)
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
        # Approved before fulfilment existed: no row at all.
        bare = provider_order(method="ad_audience", status=S.APPROVED)
        fresh = provider_order(status=S.IN_PROGRESS)
        Fulfillment.objects.create(order=fresh, provider="gifting", state=F.SENDING,
                                   idempotency_key=Fulfillment.key_for(fresh.pk, "gifting", 1))

        counts = fulfilment.fulfillment_redrive()  # default limit: the fresh one is left alone
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
        fulfilment.fulfillment_redrive(older_than=0)
        order.refresh_from_db()
        assert order.status == S.FULFILLED

    def test_leaves_finished_and_manual_orders_alone(self, approve, fake_provider, marketer):
        done = approve(provider_order(method="ad_audience"))
        manual = approve(provider_order(method="manual"))
        before = len(fake_provider.requests)
        assert fulfilment.fulfillment_redrive(older_than=0) == {"queued": 0, "not_queued": 0}
        assert len(fake_provider.requests) == before
        assert not Fulfillment.objects.filter(order=manual).exists()
        assert ProgramOrder.objects.get(pk=done.pk).status == S.FULFILLED


class TestQueueServices:
    def test_claim_assigns_and_starts(self, marketer):
        order = ProgramOrderFactory(status=S.APPROVED)
        fulfilment.order_claim(order=order, by=marketer)
        order.refresh_from_db()
        assert (order.status, order.assignee) == (S.IN_PROGRESS, marketer)
        assert OrderEvent.objects.get(order=order).note == "Claimed."

    def test_claiming_a_claimed_order_is_a_conflict(self, marketer, abm_admin):
        order = ProgramOrderFactory(status=S.APPROVED)
        stale = ProgramOrder.objects.get(pk=order.pk)
        fulfilment.order_claim(order=order, by=marketer)
        with pytest.raises(Conflict, match="just changed"):
            fulfilment.order_claim(order=stale, by=abm_admin)
        with pytest.raises(Conflict, match="only an approved order"):
            fulfilment.order_claim(order=order, by=abm_admin)
        assert ProgramOrder.objects.get(pk=order.pk).assignee == marketer

    def test_complete_spends_the_budget_and_keeps_the_reference(self, marketer):
        budget = BudgetFactory(limit=500)
        order = ProgramOrderFactory(cost=120)
        order_transition(order=order, to=S.APPROVED, by=marketer)
        fulfilment.order_claim(order=order, by=marketer)
        fulfilment.order_complete(order=order, by=marketer, external_reference="UPS 1Z999",
                                  note="Left at reception")
        order.refresh_from_db()
        budget.refresh_from_db()
        assert order.status == S.FULFILLED and order.external_reference == "UPS 1Z999"
        assert order.events.last().note == "Left at reception"
        assert (budget.committed, budget.spent) == (0, 120)

    def test_fail_needs_a_reason_and_releases_the_budget(self, marketer):
        budget = BudgetFactory(limit=500)
        order = ProgramOrderFactory(cost=120)
        order_transition(order=order, to=S.APPROVED, by=marketer)
        with pytest.raises(InvalidInput) as error:
            fulfilment.order_fail(order=order, by=marketer, reason="  ")
        assert error.value.detail == {"reason": ["A reason is required."]}
        fulfilment.order_fail(order=order, by=marketer, reason="Contact left the company")
        order.refresh_from_db()
        budget.refresh_from_db()
        assert order.status == S.FAILED and order.reason == "Contact left the company"
        assert budget.committed == 0

    def test_retry_only_from_failed(self, marketer):
        order = ProgramOrderFactory(status=S.FULFILLED)
        with pytest.raises(Conflict):
            fulfilment.order_retry(order=order, by=marketer)


class TestWebhook:
    def sent_gift(self, approve):
        order = approve(provider_order())
        return order, Fulfillment.objects.get(order=order)

    def test_delivered_fulfils_once(self, approve, fake_provider, webhook):
        budget = BudgetFactory(limit=1000)
        order, fulfillment = self.sent_gift(approve)
        event = {"id": "evt_1", "type": "gift.delivered", "data": {"id": fulfillment.external_id}}
        response = webhook("gifting", event)
        assert response.status_code == 200 and response.json() == {"status": "applied"}
        order.refresh_from_db()
        budget.refresh_from_db()
        assert order.status == S.FULFILLED and (budget.committed, budget.spent) == (0, 100)
        assert webhook("gifting", event).json() == {"status": "duplicate"}
        assert ProviderEvent.objects.count() == 1
        assert OrderEvent.objects.filter(order=order, to_status="fulfilled").count() == 1

    @pytest.mark.parametrize("kind", ["gift.returned", "gift.undeliverable"])
    def test_returned_or_undeliverable_fails(self, approve, fake_provider, webhook, kind):
        order, fulfillment = self.sent_gift(approve)
        response = webhook("gifting", {"id": "evt_2", "type": kind, "data": {
            "id": fulfillment.external_id, "reason": "Recipient moved"}})
        assert response.json() == {"status": "applied"}
        order.refresh_from_db()
        assert order.status == S.FAILED and order.reason == "gifting: Recipient moved"

    def test_matches_by_idempotency_key_and_ignores_other_events(self, approve, fake_provider,
                                                                 webhook):
        order, fulfillment = self.sent_gift(approve)
        response = webhook("gifting", {"id": "evt_3", "type": "gift.in_transit", "data": {
            "idempotency_key": fulfillment.idempotency_key}})
        assert response.json() == {"status": "ignored"}
        assert ProgramOrder.objects.get(pk=order.pk).status == S.IN_PROGRESS

    @pytest.mark.parametrize("signature", [False, "sha256=deadbeef", "wrong-secret"])
    def test_bad_or_missing_signature_is_401_and_changes_nothing(
            self, approve, fake_provider, webhook, signature):
        order, fulfillment = self.sent_gift(approve)
        payload = {"id": "evt_4", "type": "gift.delivered",
                   "data": {"id": fulfillment.external_id}}
        if signature == "wrong-secret":
            response = webhook("gifting", payload, secret="not-the-secret")
        else:
            response = webhook("gifting", payload, signature=signature)
        assert response.status_code == 401
        assert ProgramOrder.objects.get(pk=order.pk).status == S.IN_PROGRESS
        assert not ProviderEvent.objects.exists()
        assert Fulfillment.objects.get(pk=fulfillment.pk).state == F.SENT

    def test_no_secret_configured_refuses_everything(self, approve, fake_provider, webhook,
                                                     monkeypatch):
        monkeypatch.delenv("ABMCRM_GIFTING_WEBHOOK_SECRET")
        order, fulfillment = self.sent_gift(approve)
        response = webhook("gifting", {"id": "e", "type": "gift.delivered",
                                       "data": {"id": fulfillment.external_id}}, secret="")
        assert response.status_code == 401

    def test_bad_input(self, approve, fake_provider, webhook, client):
        self.sent_gift(approve)
        assert webhook("gifting", {"type": "gift.delivered"}).status_code == 400
        assert webhook("gifting", {"id": "e9", "type": "gift.delivered",
                                   "data": {"id": "gift_404"}}).status_code == 404
        assert webhook("no-such-provider", {}).status_code == 404
        from tests.fake_provider import sign
        from tests.programs.conftest import WEBHOOK_SECRET

        response = client.post("/api/v1/providers/gifting/webhook/", data=b"not json",
                               content_type="application/json",
                               HTTP_X_ABMCRM_SIGNATURE=sign(b"not json", WEBHOOK_SECRET))
        assert response.status_code == 400
        assert not ProviderEvent.objects.exists()


def test_the_sweeper_is_on_the_beat_schedule_and_a_command(fake_provider, capsys):
    from django.conf import settings

    from programs import tasks

    entry = settings.CELERY_BEAT_SCHEDULE["abmcrm-redrive-fulfillment"]
    assert entry["task"] == tasks.redrive_fulfillment.name and entry["schedule"] > 0
    waiting = provider_order(method="ad_audience", status=S.APPROVED)
    call_command("redrive_fulfillment")
    assert "Queued 1 fulfilment(s); 0 could not be queued." in capsys.readouterr().out
    assert ProgramOrder.objects.get(pk=waiting.pk).status == S.FULFILLED
    tasks.redrive_fulfillment.delay()  # the beat task itself: nothing left to do
    assert len(fake_provider.created()) == 1


def test_queue_page_refuses_an_overlong_reference(client, marketer):
    from programs.models import ProgramOrder
    from programs.services import order_transition
    from tests.factories import ProgramOrderFactory

    order = ProgramOrderFactory()
    order_transition(order=order, to=ProgramOrder.Status.APPROVED, by=marketer)
    client.force_login(marketer)
    response = client.post(f"/fulfillment/{order.pk}/complete/",
                           {"external_reference": "x" * 300}, follow=True)
    assert "200 characters at most" in response.content.decode()
    order.refresh_from_db()
    assert order.status == ProgramOrder.Status.APPROVED


class TestRepEmails:
    """A rep hears about an order sent through a provider once per outcome: no approval
    e-mail a second before the e-mail saying it was fulfilled."""

    def subjects(self, mailoutbox):
        return [message.subject.split(":")[0] for message in mailoutbox]

    def test_delivered_at_once_mails_only_the_outcome(self, approve, fake_provider, mailoutbox):
        order = approve(provider_order(method="ad_audience"))
        assert order.status == S.FULFILLED
        assert self.subjects(mailoutbox) == ["Done"]
        assert mailoutbox[0].to == [order.requested_by.email]
        events = {e.to_status: e for e in OrderEvent.objects.filter(order=order)}
        assert events["fulfilled"].notified_at is not None
        assert events["approved"].notified_at is None  # never mailed, on purpose

    def test_failed_at_once_mails_only_the_failure(self, approve, fake_provider, mailoutbox):
        fake_provider.fail_next(1, status=422, message="Unknown domain")
        order = approve(provider_order(method="ad_audience"))
        assert order.status == S.FAILED
        assert self.subjects(mailoutbox) == ["Failed"]

    def test_gift_on_its_way_mails_the_approval_then_the_delivery(
            self, approve, fake_provider, mailoutbox, webhook,
            django_capture_on_commit_callbacks):
        order = approve(provider_order())
        assert order.status == S.IN_PROGRESS
        assert self.subjects(mailoutbox) == ["Approved"]
        fulfillment = Fulfillment.objects.get(order=order)
        with django_capture_on_commit_callbacks(execute=True):
            webhook("gifting", {"id": "evt_m1", "type": "gift.delivered",
                                "data": {"id": fulfillment.external_id}})
        assert self.subjects(mailoutbox) == ["Approved", "Done"]

    def test_retries_mail_the_approval_once(self, approve, fake_provider, mailoutbox):
        fake_provider.fail_next(2, status=503)
        order = approve(provider_order(method="ad_audience"))
        assert order.status == S.FULFILLED
        # The first failure told the rep it was approved (the outcome was not known yet).
        assert self.subjects(mailoutbox) == ["Approved", "Done"]

    def test_approval_is_mailed_when_the_outcome_is_not(self, approve, fake_provider,
                                                        mailoutbox, settings):
        settings.ABMCRM_ORDER_NOTIFY_STATUSES = ["approved", "failed"]
        approve(provider_order(method="ad_audience"))
        assert self.subjects(mailoutbox) == ["Approved"]

    def test_manual_items_are_mailed_on_approval(self, approve, fake_provider, mailoutbox):
        approve(provider_order(method="manual"))
        assert self.subjects(mailoutbox) == ["Approved"]

    def test_an_event_claimed_at_creation_is_mailed_without_a_second_mark(self, mailoutbox):
        from django.utils import timezone

        from programs import notifications

        order = ProgramOrderFactory(status=S.FULFILLED)
        event = OrderEvent.objects.create(order=order, from_status="approved",
                                          to_status="fulfilled", notified_at=timezone.now())
        assert notifications.order_status_notify(event=event) is False  # already marked
        assert notifications.order_status_notify(event=event, claimed=True) is True
        assert self.subjects(mailoutbox) == ["Done"]
        order.requested_by.email = ""
        order.requested_by.save()
        event = OrderEvent.objects.create(order=order, from_status="approved",
                                          to_status="fulfilled", notified_at=timezone.now())
        assert notifications.order_status_notify(event=event, claimed=True) is False
        event.refresh_from_db()
        assert event.notified_at is None  # nobody was mailed: it must not say so


class TestProviderHttp:
    """The error classification the send task relies on, over real HTTP (kept alive)."""

    def send(self, fake_provider):
        from programs.providers import get_provider

        order = provider_order(method="ad_audience")
        fulfillment = Fulfillment.objects.create(order=order, provider="ad_audience",
                                                 idempotency_key=f"k-{order.pk}")
        return get_provider("ad_audience").send(fulfillment)

    @pytest.mark.parametrize("status", [429, 500, 503])
    def test_throttling_and_server_errors_are_transient(self, fake_provider, status):
        from programs.providers import TransientError

        fake_provider.fail_next(1, status=status, message="Slow down")
        with pytest.raises(TransientError, match=f"answered {status}: Slow down") as caught:
            self.send(fake_provider)
        assert caught.value.status == status
        assert self.send(fake_provider).status == "delivered"  # the connection is reusable

    @pytest.mark.parametrize("status", [400, 404, 422])
    def test_client_errors_are_permanent(self, fake_provider, status):
        from programs.providers import PermanentError

        fake_provider.fail_next(1, status=status, message="Bad domain")
        with pytest.raises(PermanentError, match=f"answered {status}: Bad domain"):
            self.send(fake_provider)

    def test_refused_connection_and_timeout_are_transient(self, fake_provider, settings):
        from programs.providers import TransientError

        fake_provider.hang_next(1, seconds=2.5)  # the client gives up after 2 s
        with pytest.raises(TransientError, match="did not answer within 2 s"):
            self.send(fake_provider)
        settings.ABMCRM_PROVIDERS["ad_audience"]["base_url"] = "http://127.0.0.1:9"
        with pytest.raises(TransientError, match="Could not reach ad_audience"):
            self.send(fake_provider)
