"""The e-mail to a paused subscription's admins (webhooks/services/notifications.py): one per
language the admins read, each to the admins who read it."""

import pytest
from django.utils import translation

from plays.models import NotificationPreference
from tests.factories import AdminFactory, UserFactory
from webhooks.services.notifications import subscription_paused_notify

pytestmark = pytest.mark.django_db


def test_each_admin_reads_the_pause_in_their_language(subscribe, mailoutbox):
    korean = AdminFactory(username="ko-admin", email="ko@example.com")
    indonesian = AdminFactory(username="id-admin", email="id@example.com")
    english = AdminFactory(username="en-admin", email="en@example.com")
    root = UserFactory(username="root", email="root@example.com", is_superuser=True)
    NotificationPreference.objects.create(user=korean, language="ko")
    NotificationPreference.objects.create(user=indonesian, language="id")
    subscription = subscribe(["account.engaged"], paused_reason="failed since yesterday")

    with translation.override("zh-hant"):  # whoever paused it reads another language
        assert subscription_paused_notify(subscription_id=subscription.pk) == 3

    by_recipients = {tuple(message.to): message for message in mailoutbox}
    assert set(by_recipients) == {(korean.email,), (indonesian.email,),
                                  (english.email, root.email)}
    url = subscription.url
    assert by_recipients[(korean.email,)].subject == f"abmcrm: {url} 대상 웹훅이 일시 중지됨"
    assert by_recipients[(indonesian.email,)].subject == f"abmcrm: webhook ke {url} dijeda"
    english_mail = by_recipients[(english.email, root.email)]
    assert english_mail.subject == f"abmcrm: webhook to {url} paused"
    assert "was paused: failed since yesterday" in english_mail.body


def test_nobody_to_tell(subscribe, mailoutbox):
    subscription = subscribe(["account.engaged"], paused_reason="failed")
    assert subscription_paused_notify(subscription_id=subscription.pk) == 0
    assert mailoutbox == []
