"""The rep's e-mails about their orders (programs/notifications.py)."""


import pytest

from plays.models import NotificationPreference
from programs.models import Fulfillment, OrderEvent, ProgramOrder
from tests.factories import (
    ProgramOrderFactory,
)
from tests.programs.fulfillment.helpers import provider_order

pytestmark = pytest.mark.django_db
S = ProgramOrder.Status
F = Fulfillment.State



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


class TestInTheRepsLanguage:
    """The e-mail is written in the language its reader chose (My notifications), whatever
    language the person who moved the order reads: the marketer's request here is English."""

    def mail_rejection(self, rep, marketer, capture):
        from django.utils import translation

        from programs import services

        order = ProgramOrderFactory(requested_by=rep)
        with translation.override("en"), capture(execute=True):
            services.order_reject(order=order, by=marketer, reason="Not this quarter")
        return order

    @pytest.mark.parametrize(("language", "subject", "line"), [
        ("ko", "반려됨: {account} 대상 {item}", "대상 주문 #{id}({item})이(가) 반려되었습니다"),
        ("id", "Ditolak: {item} untuk {account}", "Pesanan Anda #{id} ({item}) untuk {account} "
                                                  "ditolak"),
    ])
    def test_the_reps_language(self, rep, marketer, mailoutbox, language, subject, line,
                               django_capture_on_commit_callbacks):
        NotificationPreference.objects.create(user=rep, language=language)
        order = self.mail_rejection(rep, marketer, django_capture_on_commit_callbacks)
        values = {"id": order.pk, "item": order.item.name, "account": order.account.name}
        [message] = mailoutbox
        assert message.to == [rep.email]
        assert message.subject == subject.format(**values)
        assert line.format(**values) in message.body
        assert "Not this quarter" in message.body

    def test_the_sites_language_without_a_choice(self, rep, marketer, mailoutbox, settings,
                                                 django_capture_on_commit_callbacks):
        settings.LANGUAGE_CODE = "id"
        order = self.mail_rejection(rep, marketer, django_capture_on_commit_callbacks)
        assert mailoutbox[0].subject == f"Ditolak: {order.item.name} untuk {order.account.name}"

    def test_a_language_no_longer_offered_falls_back_to_the_sites(
            self, rep, marketer, mailoutbox, django_capture_on_commit_callbacks):
        NotificationPreference.objects.create(user=rep, language="fr")
        order = self.mail_rejection(rep, marketer, django_capture_on_commit_callbacks)
        assert mailoutbox[0].subject == f"Rejected: {order.item.name} for {order.account.name}"
