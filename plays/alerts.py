"""Owner alerts: what happened to a rep's accounts, as an e-mail digest (daily by default),
at once for a 6QA if the rep chose so, and a play's *notify*; each also posted to the rep's
and their teams' Slack incoming webhooks.

Alerts are rows (`Alert`) written with the event's handling (`consumer.event_handle`); an
alert is sent once: `sent_at` is claimed by a compare-and-set before the e-mail goes and
given back if the mail server refuses, so the task's retry or the next digest sends it."""

import json
import logging
from datetime import timedelta

import urllib3
from django.core.mail import send_mail
from django.db.models import Exists, OuterRef
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from abmcrm.core import i18n, roles
from abmcrm.core.queueing import publish, publish_on_commit
from programs.conf import settings as programs_conf
from programs.models import ProgramOrder

from .conf import settings as conf
from .models import Alert, AlertTeam, EventType, NotificationPreference

logger = logging.getLogger(__name__)

# The tasks that send, published by name: the tasks module imports this one.
SEND_ALERT = "plays.tasks.send_alert"
SEND_DIGEST = "plays.tasks.send_digest"
# A digest lists this many lines at most, then says how many more (a bulk retiering can
# move hundreds of a rep's accounts at once).
DIGEST_LINES = 100
# The events a rep hears about in their digest.
DIGEST_TYPES = {EventType.SURGING, EventType.SIX_QA, EventType.TIER_CHANGED,
                EventType.BUYING_STAGE_CHANGED, EventType.ORDER_STATUS_CHANGED}


def preference_of(user):
    """The user's preferences, or the defaults (unsaved) when they never set any."""
    try:
        return user.abm_notification_preference
    except NotificationPreference.DoesNotExist:
        return NotificationPreference(user=user)


def _became_6qa(event):
    data = event.data or {}
    for key in ("is_6qa", "became", "to"):
        if key in data:
            return bool(data[key])
    return True


def _recipients(event, account, order):
    """The account's owner, and for an order the rep who requested it."""
    from django.contrib.auth import get_user_model

    ids = {account.owner_id} if account is not None and account.owner_id else set()
    if order is not None:
        ids.add(order.requested_by_id)
    ids.discard(None)
    if not ids:
        return []
    users = (get_user_model().objects.filter(pk__in=ids, is_active=True)
             .select_related("abm_notification_preference").prefetch_related("groups"))
    return [user for user in users if roles.has_role(user, *roles.ROLES)]


def alerts_record(*, event, account):
    """Write the alerts an event makes (inside the caller's transaction); immediate ones are
    sent after commit."""
    if event.type not in DIGEST_TYPES:
        return []
    data, order = dict(event.data or {}), None
    if event.type == EventType.ORDER_STATUS_CHANGED:
        order = (ProgramOrder.objects.select_related("item")
                 .filter(pk=data.get("order_id")).first())
        if order is not None:  # the digest names the item, not its id
            data["item_name"] = order.item.name
    made = []
    for user in _recipients(event, account, order):
        preference = preference_of(user)
        immediate = (event.type == EventType.SIX_QA and preference.immediate_6qa
                     and _became_6qa(event))
        if not immediate and preference.digest == NotificationPreference.Digest.OFF:
            continue
        alert = Alert.objects.create(
            user=user, event_id=event.id, event_type=event.type,
            account=account, data=data, occurred_at=event.occurred_at,
            immediate=immediate)
        if immediate:
            alert_send_later(alert)
        made.append(alert)
    return made


def alert_send_later(alert):
    publish_on_commit(SEND_ALERT, alert.pk)


# What an alert says ------------------------------------------------------------------------

def account_url(account_id):
    """The account page's absolute address (ABMCRM_SITE_URL), or its path without one."""
    path = reverse("account-detail", args=[account_id])
    base = programs_conf.ABMCRM_SITE_URL
    return f"{base.rstrip('/')}{path}" if base else path


def describe(alert):
    """One sentence about one alert, in the active language."""
    data = alert.data or {}
    name = alert.account.name if alert.account_id else _("an account")
    kind = alert.event_type
    if alert.play_id:
        return _("Play “%(play)s” on %(account)s: %(reason)s") % {
            "play": data.get("play_name", alert.play_id), "account": name,
            "reason": data.get("reason", "")}
    if kind == EventType.SURGING:
        topics = data.get("topics") or ([data["topic"]] if data.get("topic") else [])
        return _("%(account)s is surging on %(topics)s") % {
            "account": name, "topics": ", ".join(map(str, topics)) or _("a topic")}
    if kind == EventType.SIX_QA:
        if _became_6qa(alert):
            return _("%(account)s became 6QA") % {"account": name}
        return _("%(account)s is no longer 6QA") % {"account": name}
    if kind == EventType.TIER_CHANGED:
        return _("%(account)s moved from tier %(old)s to tier %(new)s") % {
            "account": name, "old": _tier(data.get("old_tier")),
            "new": _tier(data.get("new_tier"))}
    if kind == EventType.BUYING_STAGE_CHANGED:
        return _("%(account)s's buying stage is now %(stage)s (was %(old)s)") % {
            "account": name,
            "stage": _value(data, "new_stage", "buying_stage", "to_stage", "to"),
            "old": _value(data, "old_stage", "from_stage", "from")}
    if kind == EventType.ORDER_STATUS_CHANGED:
        return _("Order #%(order)s (%(item)s) for %(account)s: %(old)s → %(new)s") % {
            "order": data.get("order_id", "?"), "item": data.get("item_name", ""),
            "account": name, "old": data.get("from_status") or "—",
            "new": data.get("to_status") or "—"}
    return f"{name}: {kind}"


def _tier(tier):
    return tier.get("number", "—") if isinstance(tier, dict) else (tier or "—")


def _value(data, *keys):
    for key in keys:
        if data.get(key):
            return data[key]
    return "—"


def render(user, alerts, *, digest):
    """(subject, body) of an e-mail about `alerts`, in the user's language."""
    with translation.override(i18n.user_language(user)):
        lines = [{"text": describe(alert), "when": alert.occurred_at,
                  "url": account_url(alert.account_id) if alert.account_id else ""}
                 for alert in alerts[:DIGEST_LINES]]
        if digest:
            subject = _("Your accounts: %(count)s update(s)") % {"count": len(alerts)}
        else:
            subject = describe(alerts[0])
        body = render_to_string("plays/email/alerts.txt", {
            "user": user, "lines": lines, "digest": digest,
            "more": max(0, len(alerts) - DIGEST_LINES),
            "preferences_url": _absolute(reverse("notification-preferences"))})
    return subject, body


def _absolute(path):
    base = programs_conf.ABMCRM_SITE_URL
    return f"{base.rstrip('/')}{path}" if base else path


# Sending -----------------------------------------------------------------------------------

_pool = None


def _http():
    global _pool
    if _pool is None:
        _pool = urllib3.PoolManager(num_pools=10, maxsize=4, retries=False)
    return _pool


def slack_post(url, text):
    """POST {"text": …} to a Slack incoming webhook; False (logged) if it fails: Slack is a
    copy, the e-mail is the alert."""
    try:
        response = _http().request(
            "POST", url, body=json.dumps({"text": text}).encode(),
            headers={"Content-Type": "application/json"},
            timeout=urllib3.Timeout(total=conf.ABMCRM_SLACK_TIMEOUT))
    except urllib3.exceptions.HTTPError as exc:
        logger.warning("Slack webhook %s failed: %s", url.split("/services/")[0], exc)
        return False
    if response.status >= 300:
        logger.warning("Slack webhook answered %s", response.status)
        return False
    return True


def slack_urls(user):
    preference = preference_of(user)
    urls = [preference.slack_webhook_url] if preference.slack_webhook_url else []
    urls += list(AlertTeam.objects.filter(members=user).values_list("slack_webhook_url",
                                                                    flat=True))
    return list(dict.fromkeys(urls))


def _deliver(user, alerts, *, digest):
    subject, body = render(user, alerts, digest=digest)
    if user.email:
        send_mail(subject, body, conf.ABMCRM_ALERT_EMAIL_FROM, [user.email])
    for url in slack_urls(user):
        slack_post(url, f"*{subject}*\n{body}")


def _claim(ids):
    """Mark the alerts among `ids` that no one sent yet as sent now; those this call took
    (a concurrent digest run takes the others)."""
    now = timezone.now()
    Alert.objects.filter(pk__in=ids, sent_at__isnull=True).update(sent_at=now)
    return list(Alert.objects.filter(pk__in=ids, sent_at=now).values_list("pk", flat=True))


def alert_send(*, alert_id):
    """Send one immediate alert (a 6QA, a play's notify), once. Raises what the mail server
    raised after giving the claim back (the task retries)."""
    if not Alert.objects.filter(pk=alert_id, sent_at__isnull=True).update(
            sent_at=timezone.now()):
        return False
    alert = Alert.objects.select_related("user", "account").get(pk=alert_id)
    try:
        _deliver(alert.user, [alert], digest=False)
    except Exception:
        Alert.objects.filter(pk=alert_id).update(sent_at=None)
        raise
    return True


def digest_send(*, user_id):
    """Send a user their digest of the alerts not sent yet, oldest first; False when there
    is nothing (or another run took them)."""
    from django.contrib.auth import get_user_model

    user = (get_user_model().objects.select_related("abm_notification_preference")
            .filter(pk=user_id).first())
    if user is None:
        return False
    pending = list(Alert.objects.filter(user=user, sent_at__isnull=True, immediate=False)
                   .values_list("pk", flat=True))
    claimed = _claim(pending)
    if not claimed:
        return False
    alerts = list(Alert.objects.filter(pk__in=claimed).select_related("account")
                  .order_by("occurred_at", "pk"))
    try:
        _deliver(user, alerts, digest=True)
    except Exception:
        Alert.objects.filter(pk__in=claimed).update(sent_at=None)
        raise
    return True


def digests_due():
    """The users with alerts waiting for a digest (one query)."""
    from django.contrib.auth import get_user_model

    waiting = Alert.objects.filter(user=OuterRef("pk"), sent_at__isnull=True, immediate=False)
    return list(get_user_model().objects.filter(Exists(waiting)).values_list("pk", flat=True))


def digests_queue():
    """Queue one digest task per user with alerts waiting (the beat job)."""
    users = digests_due()
    for user_id in users:
        publish(SEND_DIGEST, user_id)
    return {"queued": len(users)}


def alerts_redrive():
    """Immediate alerts not sent a minute after they were written (their task was lost)."""
    stale = timezone.now() - timedelta(seconds=conf.ABMCRM_PLAY_SWEEP_AFTER)
    ids = list(Alert.objects.filter(sent_at__isnull=True, immediate=True,
                                    created_at__lt=stale)
               .values_list("pk", flat=True)[:conf.ABMCRM_PLAY_SWEEP_BATCH])
    for alert_id in ids:
        publish(SEND_ALERT, alert_id)
    return {"alerts": len(ids)}
