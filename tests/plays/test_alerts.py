from datetime import UTC, datetime

import pytest
from django.core import mail

from plays import alerts, consumer
from plays.models import Alert, AlertTeam, NotificationPreference
from programs.models import ProgramOrder
from programs.services import order_approve
from tests.factories import AccountFactory, ProgramItemFactory, RepFactory, tier
from tests.plays.conftest import make_event

pytestmark = pytest.mark.django_db

MARCH = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)


def happen(type, account, data, occurred_at=MARCH):
    event = make_event(type, account, data, save=True)
    event.occurred_at = occurred_at
    event.save()
    consumer.event_handle(event)
    return event


@pytest.fixture
def site(settings):
    settings.ABMCRM_SITE_URL = "https://abm.example.com/"


def news(account):
    happen("account.surging", account, {"topics": ["crm software"],
                                        "surging_topics": ["crm software"]})
    happen("account.6qa", account, {"is_6qa": True})
    happen("account.tier_changed", account, {"old_tier": {"number": 2},
                                             "new_tier": {"number": 1}})
    happen("account.buying_stage_changed", account, {"old_stage": "consideration",
                                                     "new_stage": "decision"})
    happen("account.engaged", account, {})  # not digest news


class TestDigest:
    def test_lists_the_reps_news_with_links(self, account, owner, site):
        other = AccountFactory(name="Globex", owner=RepFactory(), tier=tier(2))
        news(account)
        news(other)
        assert alerts.digest_send(user_id=owner.pk) is True
        [message] = mail.outbox
        assert message.to == [owner.email]
        assert message.subject == "Your accounts: 4 update(s)"
        body = message.body
        assert "Hello Olive," in body
        for line in ("Acme is surging on crm software", "Acme became 6QA",
                     "Acme moved from tier 2 to tier 1",
                     "Acme's buying stage is now decision (was consideration)"):
            assert line in body
        assert body.count(f"https://abm.example.com/accounts/{account.pk}/") == 4
        assert "Globex" not in body
        assert "https://abm.example.com/notifications/" in body
        # Sent once: a second run (a re-delivered task) has nothing left.
        assert alerts.digest_send(user_id=owner.pk) is False
        assert len(mail.outbox) == 1

    def test_in_the_reps_language(self, account, owner):
        NotificationPreference.objects.create(user=owner, language="ko")
        happen("account.6qa", account, {"is_6qa": True})
        alerts.digest_send(user_id=owner.pk)
        # Rendered under translation.override("ko"): the dates in Korean.
        assert "2026년 3월 5일" in mail.outbox[0].body

    def test_orders_changes_reach_the_requester_and_the_owner(self, account, owner,
                                                              marketer,
                                                              django_capture_on_commit_callbacks):
        requester = RepFactory(username="sdr")
        item = ProgramItemFactory(name="Gift box", menu_tiers=[1])
        order = ProgramOrder.objects.create(account=account, item=item, cost=10,
                                            requested_by=requester)
        with django_capture_on_commit_callbacks(execute=True):
            order_approve(order=order, by=marketer)
        assert set(Alert.objects.values_list("user__username", flat=True)) == {
            "owner1", "sdr"}
        alerts.digest_send(user_id=requester.pk)
        assert f"Order #{order.pk} (Gift box) for Acme: requested → approved" in \
            mail.outbox[-1].body

    def test_digest_off_writes_nothing(self, account, owner):
        NotificationPreference.objects.create(user=owner, digest="off")
        news(account)
        assert not Alert.objects.exists()

    def test_beat_job_queues_a_digest_per_rep_with_news(self, account, owner):
        news(account)
        assert alerts.digests_queue() == {"queued": 1}  # tasks run eagerly in the tests
        assert len(mail.outbox) == 1
        assert alerts.digests_queue() == {"queued": 0}

    def test_the_digest_task_is_scheduled_daily(self):
        import abmcrm

        assert abmcrm.beat_schedule()["abmcrm-alert-digests"] == {
            "task": "plays.tasks.send_digests", "schedule": 86400.0}


class TestImmediate6qa:
    def test_sent_at_once_when_chosen(self, account, owner, site,
                                      django_capture_on_commit_callbacks):
        NotificationPreference.objects.create(user=owner, immediate_6qa=True)
        with django_capture_on_commit_callbacks(execute=True):
            happen("account.6qa", account, {"is_6qa": True})
        [message] = mail.outbox
        assert message.subject == "Acme became 6QA"
        assert f"https://abm.example.com/accounts/{account.pk}/" in message.body
        # Not again in the digest.
        assert alerts.digest_send(user_id=owner.pk) is False

    def test_stopping_being_6qa_waits_for_the_digest(self, account, owner,
                                                     django_capture_on_commit_callbacks):
        NotificationPreference.objects.create(user=owner, immediate_6qa=True)
        with django_capture_on_commit_callbacks(execute=True):
            happen("account.6qa", account, {"is_6qa": False})
        assert not mail.outbox
        alerts.digest_send(user_id=owner.pk)
        assert "Acme is no longer 6QA" in mail.outbox[0].body

    def test_not_chosen_waits_for_the_digest(self, account, owner,
                                             django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            happen("account.6qa", account, {"is_6qa": True})
        assert not mail.outbox and Alert.objects.get().immediate is False


class TestSlack:
    def test_digest_posted_to_the_reps_and_teams_webhooks(self, account, owner, slack):
        NotificationPreference.objects.create(user=owner,
                                              slack_webhook_url=f"{slack.url}/rep")
        team = AlertTeam.objects.create(name="East", slack_webhook_url=f"{slack.url}/team")
        team.members.add(owner)
        happen("account.6qa", account, {"is_6qa": True})
        alerts.digest_send(user_id=owner.pk)
        assert sorted(post["path"] for post in slack.posts) == ["/rep", "/team"]
        post = slack.posts[0]
        assert post["type"] == "application/json"
        assert "Acme became 6QA" in post["body"]["text"]
        assert post["body"]["text"].startswith("*Your accounts: 1 update(s)*")

    def test_a_failing_webhook_does_not_stop_the_email(self, account, owner, slack):
        slack.status = 500
        NotificationPreference.objects.create(user=owner, slack_webhook_url=slack.url)
        happen("account.6qa", account, {"is_6qa": True})
        assert alerts.digest_send(user_id=owner.pk) is True
        assert len(mail.outbox) == 1 and len(slack.posts) == 1

    def test_unreachable_webhook(self, settings):
        settings.ABMCRM_SLACK_TIMEOUT = 1
        assert alerts.slack_post("http://127.0.0.1:9/x", "hi") is False


class TestPlayNotify:
    def test_notify_mails_the_owner_at_once(self, account, owner,
                                            django_capture_on_commit_callbacks):
        from tests.factories import PlayFactory

        PlayFactory(name="Hot accounts", conditions={"fit_min": 80})
        with django_capture_on_commit_callbacks(execute=True):
            happen("account.tier_changed", account, {"new_tier": {"number": 1}})
        [message] = mail.outbox
        assert message.subject.startswith("Play “Hot accounts” on Acme: the account changed "
                                          "tier (fit 82 ≥ 80)")


def test_the_sweeper_sends_immediate_alerts_whose_task_was_lost(account, owner, settings):
    settings.ABMCRM_PLAY_SWEEP_AFTER = 0
    Alert.objects.create(user=owner, event_id=make_event("account.6qa", account).id,
                         event_type="account.6qa", account=account, data={"is_6qa": True},
                         occurred_at=MARCH, immediate=True)
    assert consumer.events_redrive()["alerts"] == 1  # tasks run eagerly here
    assert mail.outbox[0].subject == "Acme became 6QA"
    assert consumer.events_redrive()["alerts"] == 0


def test_a_long_digest_says_how_many_more(account, owner, settings):
    from plays.alerts import DIGEST_LINES

    for _ in range(DIGEST_LINES + 3):
        happen("account.6qa", account, {"is_6qa": True})
    alerts.digest_send(user_id=owner.pk)
    body = mail.outbox[0].body
    assert body.count("Acme became 6QA") == DIGEST_LINES and "…and 3 more." in body
    assert not Alert.objects.filter(sent_at__isnull=True).exists()
