"""Plays, their log and what they left behind (suggestions, orders), and owner alerts
(preferences, teams, the alerts waiting for a digest). Which outbox events this app has
received and handled is `EventReceipt`."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from programs.models import ProgramItem, ProgramOrder
from tiers.models import Account


class EventType(models.TextChoices):
    """The outbox's event types a play can react to (abmcrm.core.outbox)."""

    TIER_CHANGED = "account.tier_changed", _("An account changed tier")
    SURGING = "account.surging", _("A topic started surging for an account")
    ENGAGED = "account.engaged", _("An account engaged")
    SIX_QA = "account.6qa", _("An account became (or stopped being) 6QA")
    BUYING_STAGE_CHANGED = "account.buying_stage_changed", _("An account's buying stage changed")
    ORDER_STATUS_CHANGED = "order.status_changed", _("An order's status changed")
    FUNNEL_TRANSITION = "funnel.transition", _("An account moved in the funnel")
    OPPORTUNITY_CREATED = "opportunity.created", _("An opportunity was opened")
    OPPORTUNITY_STAGE_CHANGED = "opportunity.stage_changed", _("An opportunity changed stage")


class Play(models.Model):
    """When `event` happens to an account that meets `conditions`, do `actions`.

    `conditions` (all optional, all must hold): {"tier": [1, 2], "topics": ["crm"],
    "buying_stage": ["decision"], "fit_min": 70}. `actions` (one or more, run in order):
    {"type": "suggest", "items": [ids]}, {"type": "notify"}, {"type": "order", "items": [ids],
    "max_per_account": 1, "period": "month|quarter|year"}. Both are validated by
    `serializers.PlaySerializer` (the API, the page and the admin share it)."""

    name = models.CharField(_("name"), max_length=200)
    event = models.CharField(_("event"), max_length=50, choices=EventType.choices)
    conditions = models.JSONField(_("conditions"), default=dict, blank=True)
    actions = models.JSONField(_("actions"), default=list)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"),
                                   null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("play")
        verbose_name_plural = _("plays")
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["event", "is_active"])]

    def __str__(self):
        return self.name


class PlayRun(models.Model):
    """One firing of a play for one event: what it did and why (the play's log). At most one
    per (play, event), inserted or skipped in one statement (`sql.insert_or_skip`), so a
    play never fires twice for an event however often and however concurrently the event is
    handled."""

    play = models.ForeignKey(Play, verbose_name=_("play"),
                             on_delete=models.CASCADE, related_name="runs",
                             db_index=False)  # the (play, event_id) unique index serves it
    event_id = models.UUIDField(_("event id"))
    event_type = models.CharField(_("event type"), max_length=50)
    account = models.ForeignKey(Account, verbose_name=_("account"),
                                null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    reason = models.TextField(_("reason"),
                              blank=True, help_text=_("Why the play fired: the conditions met."))
    results = models.JSONField(_("results"), default=list, blank=True,
                               help_text=_("Per action: what it did, or why it did nothing."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("play run")
        verbose_name_plural = _("play runs")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["play", "event_id"],
                                               name="play_fires_once_per_event")]
        indexes = [models.Index(fields=["play", "-created_at", "-id"])]

    def __str__(self):
        return f"{self.play} · {self.event_type} {self.event_id}"


class PlaySuggestion(models.Model):
    """A program item a play suggests to an account's owner: pre-ticked on the account's menu
    until it expires or the item is ordered for the account."""

    play = models.ForeignKey(Play, verbose_name=_("play"),
                             on_delete=models.CASCADE, related_name="suggestions")
    run = models.ForeignKey(PlayRun, verbose_name=_("run"),
                            on_delete=models.CASCADE, related_name="suggestions")
    account = models.ForeignKey(Account, verbose_name=_("account"),
                                on_delete=models.CASCADE, related_name="+",
                                db_index=False)  # the (account, expires_at) index serves it
    item = models.ForeignKey(ProgramItem, verbose_name=_("item"),
                             on_delete=models.CASCADE, related_name="+")
    reason = models.TextField(_("reason"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))

    class Meta:
        verbose_name = _("play suggestion")
        verbose_name_plural = _("play suggestions")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "expires_at"])]

    def __str__(self):
        return f"{self.item} for {self.account} ({self.play})"


class PlayOrder(models.Model):
    """An order a play placed (as `requested`, for a person to approve): counted against the
    play's cap per account and period."""

    play = models.ForeignKey(Play, verbose_name=_("play"),
                             on_delete=models.CASCADE, related_name="orders",
                             db_index=False)  # the (play, account, created_at) index serves it
    run = models.ForeignKey(PlayRun, verbose_name=_("run"),
                            on_delete=models.CASCADE, related_name="orders")
    account = models.ForeignKey(Account, verbose_name=_("account"),
                                on_delete=models.CASCADE, related_name="+")
    order = models.OneToOneField(ProgramOrder, verbose_name=_("order"),
                                 on_delete=models.CASCADE, related_name="play_order")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("play order")
        verbose_name_plural = _("play orders")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["play", "account", "created_at"])]

    def __str__(self):
        return f"#{self.order_id} by {self.play}"


class EventReceipt(models.Model):
    """An outbox event handed to this app (`consumer.events_receive`, in the outbox's
    dispatch transaction) and whether it has been handled (plays fired, alerts written):
    the processed marker. The event's id, not a foreign key: the outbox prunes its events on
    its own schedule, and the sweeper prunes the handled receipts after
    ABMCRM_PLAY_RECEIPT_DAYS (keep it above the outbox's retention, so an event handed over
    again is still known as handled)."""

    event_id = models.UUIDField(_("event id"), primary_key=True)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("event receipt")
        verbose_name_plural = _("event receipts")
        indexes = [models.Index(fields=["event_id"], name="plays_receipt_pending",
                                condition=Q(handled_at__isnull=True)),
                   models.Index(fields=["handled_at"], name="plays_receipt_handled")]

    def __str__(self):
        return f"{self.event_id} ({'handled' if self.handled_at else 'pending'})"


class NotificationPreference(models.Model):
    """How a user wants to hear about their accounts. No row: the defaults (a daily e-mail
    digest in the site's language, no immediate alerts, no Slack)."""

    class Digest(models.TextChoices):
        DAILY = "daily", _("Daily e-mail digest")
        OFF = "off", _("No digest")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("user"),
                                on_delete=models.CASCADE,
                                related_name="abm_notification_preference")
    digest = models.CharField(_("digest"),
                              max_length=10, choices=Digest.choices, default=Digest.DAILY)
    immediate_6qa = models.BooleanField(
        _("immediate 6QA alerts"),
        default=False, help_text=_("E-mail at once when one of my accounts becomes 6QA."))
    language = models.CharField(
        _("language"), max_length=15, blank=True,
        help_text=_("The language of the e-mails (one of LANGUAGES); empty: the site's."))
    slack_webhook_url = models.URLField(
        _("Slack webhook URL"), max_length=500, blank=True,
        help_text=_("A Slack incoming webhook: the digests and alerts are posted there too."))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")

    def __str__(self):
        return f"{self.user}: {self.digest}"


class AlertTeam(models.Model):
    """A team whose Slack channel gets its members' digests and alerts (an incoming webhook
    per team; admins manage teams in the admin)."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    slack_webhook_url = models.URLField(_("Slack webhook URL"), max_length=500)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("members"),
                                     blank=True,
                                     related_name="abm_alert_teams")

    class Meta:
        verbose_name = _("alert team")
        verbose_name_plural = _("alert teams")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Alert(models.Model):
    """Something a user hears about: an event on one of their accounts (for the digest, or at
    once for a 6QA if they chose so) or a play's *notify*. `sent_at` is claimed by a
    compare-and-set before the e-mail goes, so a second delivery of a task sends nothing."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"),
                             on_delete=models.CASCADE,
                             related_name="abm_alerts", db_index=False)
    event_id = models.UUIDField(_("event id"))
    event_type = models.CharField(_("event type"), max_length=50)
    account = models.ForeignKey(Account, verbose_name=_("account"),
                                null=True, blank=True, on_delete=models.CASCADE,
                                related_name="+")
    play = models.ForeignKey(Play, verbose_name=_("play"),
                             null=True, blank=True, on_delete=models.CASCADE,
                             related_name="alerts")
    data = models.JSONField(_("data"), default=dict, blank=True)
    occurred_at = models.DateTimeField(_("occurred at"))
    immediate = models.BooleanField(_("immediate"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["user", "sent_at"]),
                   models.Index(fields=["sent_at", "immediate"])]
        constraints = [
            models.UniqueConstraint(fields=["user", "event_id"], condition=Q(play__isnull=True),
                                    name="alert_once_per_user_and_event"),
            models.UniqueConstraint(fields=["user", "event_id", "play"],
                                    condition=Q(play__isnull=False),
                                    name="play_alert_once_per_user_and_event"),
        ]

    def __str__(self):
        return f"{self.event_type} for {self.user}"
