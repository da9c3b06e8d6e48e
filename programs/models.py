from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tiers.models import Account, Contact, Tier


class Campaign(models.Model):
    """Every program item belongs to a campaign; cost and results are measured per campaign."""

    class Channel(models.TextChoices):
        INBOUND = "inbound", _("Inbound")
        OUTBOUND = "outbound", _("Outbound")
        EVENTS = "events", _("Events")
        PARTNERS = "partners", _("Partners")
        UPSELL = "upsell", _("Upsell")
        DIRECT = "direct", _("Direct")
        PAID_MEDIA = "paid_media", _("Paid media")
        WEBSITE = "website", _("Website")
        SYNDICATION = "syndication", _("Content syndication")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=200, unique=True)
    code = models.SlugField(
        _("code"), max_length=100, unique=True,
        help_text=_("The source/campaign code that engagement events and transitions carry."),
    )
    channel = models.CharField(_("channel"),
                               max_length=20, choices=Channel.choices, default=Channel.OTHER)
    start_date = models.DateField(_("start date"), null=True, blank=True)
    end_date = models.DateField(_("end date"), null=True, blank=True)
    fixed_cost = models.DecimalField(_("fixed cost"), max_digits=14, decimal_places=2, default=0)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"),
        null=True, blank=True, on_delete=models.SET_NULL,
        related_name="campaigns",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(fixed_cost__gte=0),
                                   name="campaign_cost_not_negative"),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(start_date__isnull=True)
                | Q(end_date__gte=F("start_date")),
                name="campaign_dates_in_order",
            ),
        ]

    def __str__(self):
        return self.name


class ProgramItem(models.Model):
    """One program on the menu of one or more tiers, which reps order by ticking a box."""

    class Kind(models.TextChoices):
        DIRECT_MAIL = "direct_mail", _("Direct mail")
        GIFT = "gift", _("Gift / 3D mail")
        CUSTOM_AD_CREATIVE = "custom_ad_creative", _("Custom display-ad creative")
        ACCOUNT_BASED_AD = "account_based_ad", _("Account-based ad")
        CUSTOM_CONTENT = "custom_content", _("Custom content")
        EVENT_INVITATION = "event_invitation", _("Event invitation")
        LANDING_PAGE = "landing_page", _("Personalised landing page")
        OTHER = "other", _("Other")

    class LimitPeriod(models.TextChoices):
        MONTH = "month", _("per month")
        QUARTER = "quarter", _("per quarter")
        YEAR = "year", _("per year")
        EVER = "ever", _("ever")

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    description = models.TextField(_("description"),
                                   blank=True, help_text=_("Shown to reps on the menu."))
    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"),
                                 on_delete=models.PROTECT, related_name="items")
    unit_cost = models.DecimalField(_("unit cost"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    lead_time_days = models.PositiveIntegerField(_("lead time (days)"), default=7)
    tiers = models.ManyToManyField(Tier, verbose_name=_("tiers"),
                                   through="MenuEntry", related_name="menu_items",
                                   blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    active_from = models.DateField(_("active from"), null=True, blank=True)
    active_until = models.DateField(_("active until"), null=True, blank=True)
    auto_approve_up_to = models.DecimalField(
        _("auto-approve up to"), max_digits=12, decimal_places=2, null=True, blank=True,
        help_text=_("Orders costing up to this are approved at once; empty: a marketer approves."),
    )
    limit_per_account = models.PositiveIntegerField(
        _("limit per account"),
        null=True, blank=True, help_text=_("At most this many orders per account per period.")
    )
    limit_period = models.CharField(_("limit period"), max_length=10, choices=LimitPeriod.choices,
                                    default=LimitPeriod.QUARTER)
    needs_contact = models.BooleanField(
        _("needs a recipient"),
        default=False, help_text=_("Needs a recipient contact (and so a shipping address).")
    )
    fulfillment_method = models.CharField(
        _("fulfillment method"), max_length=50, default="manual",
        help_text=_("Who sends it: a marketer by hand, or a connected gifting or ad platform."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("program item")
        verbose_name_plural = _("program items")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(unit_cost__gte=0), name="item_cost_not_negative"),
        ]

    def __str__(self):
        return self.name


class MenuEntry(models.Model):
    """An item's place on one tier's menu."""

    tier = models.ForeignKey(Tier, verbose_name=_("tier"),
                             on_delete=models.CASCADE, related_name="menu_entries")
    item = models.ForeignKey(ProgramItem, verbose_name=_("item"),
                             on_delete=models.CASCADE, related_name="menu_entries")
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("menu entry")
        ordering = ["tier", "position", "id"]
        verbose_name_plural = _("menu entries")
        constraints = [models.UniqueConstraint(fields=["tier", "item"], name="item_once_per_menu")]

    def __str__(self):
        return f"{self.tier} · {self.item}"


class Budget(models.Model):
    """A spending limit over a period for a scope. `committed` is approved but not yet spent.

    Approvals commit with one conditional UPDATE, and the check constraint forbids
    committed + spent > limit, so concurrent approvals can never overspend."""

    class Scope(models.TextChoices):
        ALL = "all", _("All programs")
        TIER = "tier", _("A tier")
        ITEM = "item", _("A program item")
        CAMPAIGN = "campaign", _("A campaign")

    name = models.CharField(_("name"), max_length=200)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))
    scope = models.CharField(_("scope"), max_length=10, choices=Scope.choices, default=Scope.ALL)
    tier = models.ForeignKey(Tier, verbose_name=_("tier"),
                             null=True, blank=True, on_delete=models.CASCADE,
                             related_name="budgets")
    item = models.ForeignKey(ProgramItem, verbose_name=_("item"),
                             null=True, blank=True, on_delete=models.CASCADE,
                             related_name="budgets")
    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"),
                                 null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="budgets")
    limit = models.DecimalField(_("limit"), max_digits=14, decimal_places=2)
    committed = models.DecimalField(_("committed"), max_digits=14, decimal_places=2, default=0)
    spent = models.DecimalField(_("spent"), max_digits=14, decimal_places=2, default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("budget")
        verbose_name_plural = _("budgets")
        ordering = ["start_date", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(committed__gte=0) & Q(spent__gte=0),
                                   name="budget_amounts_not_negative"),
            models.CheckConstraint(condition=Q(committed__lte=F("limit") - F("spent")),
                                   name="budget_not_overspent"),
            models.CheckConstraint(condition=Q(end_date__gte=F("start_date")),
                                   name="budget_dates_in_order"),
            models.CheckConstraint(
                condition=(
                    Q(scope="all", tier__isnull=True, item__isnull=True, campaign__isnull=True)
                    | Q(scope="tier", tier__isnull=False, item__isnull=True,
                        campaign__isnull=True)
                    | Q(scope="item", tier__isnull=True, item__isnull=False,
                        campaign__isnull=True)
                    | Q(scope="campaign", tier__isnull=True, item__isnull=True,
                        campaign__isnull=False)
                ),
                name="budget_scope_matches_target",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def remaining(self):
        return self.limit - self.committed - self.spent


class ProgramOrder(models.Model):
    """One ticked item for one account. Its status changes only through
    `transitions.order_transition`, along `TRANSITIONS`."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        APPROVED = "approved", _("Approved")
        IN_PROGRESS = "in_progress", _("In progress")
        FULFILLED = "fulfilled", _("Fulfilled")
        FAILED = "failed", _("Failed")

        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Cancelled")

    # The allowed moves. A failed order may be retried (back to approved, re-committing its
    # cost); fulfilled, rejected and cancelled are final.
    TRANSITIONS = {
        Status.REQUESTED: {Status.APPROVED, Status.REJECTED, Status.CANCELLED},
        Status.APPROVED: {Status.IN_PROGRESS, Status.FULFILLED, Status.FAILED,
                          Status.CANCELLED},
        Status.IN_PROGRESS: {Status.FULFILLED, Status.FAILED},
        Status.FAILED: {Status.APPROVED},
        Status.FULFILLED: set(),
        Status.REJECTED: set(),
        Status.CANCELLED: set(),
    }
    # Statuses whose cost is committed in budgets (approved, not yet spent).
    COMMITTED = {Status.APPROVED, Status.IN_PROGRESS}

    # No index of their own for `account` and `status`: the (account, item, created_at) and
    # (status, due_at) indexes below serve those lookups, and every move of an order would
    # otherwise write three more index entries.
    account = models.ForeignKey(Account, verbose_name=_("account"),
                                on_delete=models.PROTECT, related_name="program_orders",
                                db_index=False)
    item = models.ForeignKey(ProgramItem, verbose_name=_("item"),
                             on_delete=models.PROTECT, related_name="orders")
    tier = models.ForeignKey(
        Tier, verbose_name=_("tier"),
        null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text=_("The account's tier when the order was placed."),
    )
    contact = models.ForeignKey(Contact, verbose_name=_("recipient"),
                                null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="program_orders")
    note = models.TextField(_("note"), blank=True)
    cost = models.DecimalField(_("cost"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    status = models.CharField(_("status"),
                              max_length=20, choices=Status.choices, default=Status.REQUESTED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("requested by"),
                                     on_delete=models.PROTECT,
                                     related_name="program_orders")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("assignee"),
                                 null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="assigned_orders")
    budgets = models.ManyToManyField(Budget, verbose_name=_("budgets"),
                                     blank=True, related_name="orders",
                                     help_text=_("The budgets this order's cost is booked in."))
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True,
                                  help_text=_("Approval time plus the item's lead time."))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    reason = models.TextField(_("reason"),
                              blank=True, help_text=_("Why it was rejected, cancelled or failed."))
    external_reference = models.CharField(_("external reference"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("program order")
        verbose_name_plural = _("program orders")
        ordering = ["-created_at", "-id"]
        permissions = [("approve_programorder", "Can approve, reject and cancel program orders")]
        indexes = [
            models.Index(fields=["account", "item", "created_at"]),
            models.Index(fields=["status", "due_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(cost__gte=0), name="order_cost_not_negative"),
        ]

    def __str__(self):
        return _("Order #%(id)s: %(item)s for %(account)s") % {
            "id": self.pk, "item": self.item, "account": self.account}


    @property
    def is_overdue(self):
        """Approved or in progress and past its due time: the rep and the queue flag it."""
        return bool(self.due_at and self.status in self.COMMITTED
                    and self.due_at < timezone.now())


class OrderEvent(models.Model):
    """One status change of an order: the history reps and marketers see."""

    order = models.ForeignKey(ProgramOrder, verbose_name=_("order"),
                              on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(_("from status"),
                                   max_length=20, choices=ProgramOrder.Status.choices,
                                   blank=True)
    to_status = models.CharField(_("to status"), max_length=20, choices=ProgramOrder.Status.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True,
                           on_delete=models.SET_NULL, related_name="+",
                           help_text=_("Empty: the system (auto-approval, a provider)."))
    note = models.TextField(_("note"), blank=True)
    at = models.DateTimeField(_("at"), auto_now_add=True)
    notified_at = models.DateTimeField(
        _("notified at"),
        null=True, blank=True, help_text=_("When the requesting rep was e-mailed about it.")
    )

    class Meta:
        verbose_name = _("order status change")
        verbose_name_plural = _("order history")
        ordering = ["at", "id"]

    def __str__(self):
        return f"#{self.order_id}: {self.from_status or '—'} → {self.to_status}"


class Fulfillment(models.Model):
    """The sending of one order through one provider (issue: fulfillment).

    `idempotency_key` is derived from the order, the provider and the round (a retry of a
    failed order starts a new round), and goes to the provider as the `Idempotency-Key`
    header: however often a task is delivered, retried or killed mid-call, the provider
    creates at most one gift per round."""

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent, awaiting delivery")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")
    DONE = {State.DELIVERED, State.FAILED}

    order = models.ForeignKey(ProgramOrder, verbose_name=_("order"), on_delete=models.CASCADE,
                              related_name="fulfillments",
                              db_index=False)  # the (order, provider) unique index serves it
    provider = models.CharField(_("provider"), max_length=50)
    round = models.PositiveIntegerField(_("round"),
                                        default=1, help_text=_("1, then +1 per retry of a failed "
                                                             "order."))
    idempotency_key = models.CharField(_("idempotency key"), max_length=120, unique=True)
    state = models.CharField(_("state"),
                             max_length=20, choices=State.choices, default=State.PENDING)
    external_id = models.CharField(_("external id"), max_length=200, blank=True,
                                   help_text=_("The provider's id for the gift or audience entry."))
    attempts = models.PositiveIntegerField(_("attempts"),
                                           default=0, help_text=_("Calls made in this round."))
    last_error = models.TextField(_("last error"), blank=True)
    dispatched_at = models.DateTimeField(
        _("dispatched at"), null=True, blank=True,
        help_text=_("When the send task was last queued; empty: waiting for the sweeper."),
    )
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("fulfillment")
        verbose_name_plural = _("fulfillments")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "updated_at"])]
        constraints = [
            models.UniqueConstraint(fields=["order", "provider"],
                                    name="one_fulfillment_per_order_and_provider"),
        ]

    def __str__(self):
        return f"#{self.order_id} via {self.provider} ({self.state})"

    @staticmethod
    def key_for(order_id, provider, round):
        return f"abmcrm-order-{order_id}-{provider}-{round}"


class ProviderEvent(models.Model):
    """A webhook event already handled, so that a provider's re-delivery changes nothing."""

    provider = models.CharField(_("provider"), max_length=50)
    event_id = models.CharField(_("event id"), max_length=200)
    fulfillment = models.ForeignKey(Fulfillment, verbose_name=_("fulfillment"),
                                    null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="events")
    kind = models.CharField(_("kind"), max_length=100, blank=True)
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        verbose_name = _("provider event")
        verbose_name_plural = _("provider events")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"],
                                    name="provider_event_once"),
        ]

    def __str__(self):
        return f"{self.provider} {self.event_id}"
