from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from funnel.models import Lead
from programs.models import Campaign
from tiers.models import Account, Contact

Channel = Campaign.Channel


class OpportunityStage(models.Model):
    """A step of a deal, with its win probability. The rows come from a data migration;
    admins rename, reorder and add stages. Exactly the won and lost stages close a deal."""

    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveSmallIntegerField(_("position"),
                                                help_text=_("Order along the pipeline."))
    probability = models.PositiveSmallIntegerField(
        _("probability"), validators=[MaxValueValidator(100)],
        help_text=_("The chance, in %, that a deal at this stage is won (0–100)."))
    is_won = models.BooleanField(_("won"), default=False)
    is_lost = models.BooleanField(_("lost"), default=False)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("opportunity stage")
        verbose_name_plural = _("opportunity stages")
        constraints = [
            models.CheckConstraint(condition=Q(probability__lte=100),
                                   name="opportunity_stage_probability_0_100"),
            models.CheckConstraint(condition=~Q(is_won=True, is_lost=True),
                                   name="opportunity_stage_won_or_lost"),
            # Stages are referred to by slug or name, case-insensitively: both must be
            # unique in that sense.
            models.UniqueConstraint(Lower("name"), name="opportunity_stage_name_ci"),
        ]

    def __str__(self):
        return self.name

    @property
    def is_closed(self):
        return self.is_won or self.is_lost

    @property
    def status(self):
        if self.is_won:
            return Opportunity.Status.WON
        if self.is_lost:
            return Opportunity.Status.LOST
        return Opportunity.Status.OPEN


class Opportunity(models.Model):
    """A deal of an account: new business, an expansion, a renewal. Its stage changes only
    through `services.opportunity_move` (or the same rules in an update or an upsert), a
    compare-and-set on `version` that appends an `OpportunityStageChange`."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")

    # No single-column index for account, owner, campaign or lead: the composite and partial
    # indexes below lead with them, and each index is paid on every insert of a CRM load.
    account = models.ForeignKey(Account, on_delete=models.CASCADE,
                                related_name="opportunities", db_index=False,
                                verbose_name=_("account"))
    name = models.CharField(_("name"), max_length=255)
    external_id = models.CharField(_("external id"), max_length=100, unique=True, null=True,
                                   blank=True, help_text=_("The deal's id in the CRM."))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="opportunities",
                              db_index=False, verbose_name=_("owner"))
    product = models.CharField(_("product"), max_length=200, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, null=True,
                                 blank=True)
    currency = models.CharField(_("currency"), max_length=3)
    stage = models.ForeignKey(OpportunityStage, on_delete=models.PROTECT,
                              related_name="opportunities", verbose_name=_("stage"))
    # The stage's kind, kept with the deal so that "open deals" is an indexed column (the
    # forecast, the board) rather than a join; set with the stage by the services.
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.OPEN)
    opened_at = models.DateTimeField(_("opened at"))
    close_date = models.DateField(_("expected close date"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True,
                                     help_text=_("When it was won or lost."))
    lost_reason = models.TextField(_("lost reason"), blank=True)
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="opportunities", db_index=False,
                                 verbose_name=_("campaign"))
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices,
                               blank=True, help_text=_("The deal's source channel."))
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="opportunities", db_index=False,
                             verbose_name=_("lead"),
                             help_text=_("The demand-gen lead it came from, if any."))
    contacts = models.ManyToManyField(Contact, through="OpportunityContact", blank=True,
                                      related_name="opportunities",
                                      verbose_name=_("buying committee"))
    stage_changed_at = models.DateTimeField(_("stage changed at"),
                                            help_text=_("The time of its last stage change."))
    version = models.PositiveIntegerField(_("version"), default=0, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        indexes = [
            # An account's deals (its page, attribution's join of deals to touches).
            models.Index(fields=["account", "opened_at"], name="pipeline_opp_account_opened"),
            # A rep's board: their open deals.
            models.Index(fields=["owner", "status"], name="pipeline_opp_owner_status"),
            # The report picks deals by the period they opened or closed in.
            models.Index(fields=["opened_at"], name="pipeline_opp_opened"),
            models.Index(fields=["closed_at"], name="pipeline_opp_closed",
                         condition=Q(closed_at__isnull=False)),
            # The report's deals that moved after the end of its period (whose stage then it
            # reads from their history): none for a period ending today.
            models.Index(fields=["stage_changed_at"], name="pipeline_opp_stage_changed"),
            # The forecast reads open deals by expected close month.
            models.Index(fields=["close_date"], name="pipeline_opp_open_close_date",
                         condition=Q(status="open")),
            models.Index(fields=["campaign"], name="pipeline_opp_campaign",
                         condition=Q(campaign__isnull=False)),
            models.Index(fields=["lead"], name="pipeline_opp_lead",
                         condition=Q(lead__isnull=False)),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__isnull=True) | Q(amount__gte=0),
                                   name="opportunity_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True) | Q(closed_at__gte=F("opened_at")),
                name="opportunity_closed_after_opened"),
            models.CheckConstraint(
                condition=Q(status="open", closed_at__isnull=True)
                | Q(status__in=["won", "lost"], closed_at__isnull=False),
                name="opportunity_closed_at_iff_closed"),
            models.CheckConstraint(condition=~Q(status="won") | Q(amount__isnull=False),
                                   name="opportunity_won_has_amount"),
        ]

    def __str__(self):
        return self.name

    @property
    def weighted_amount(self):
        if self.amount is None or self.status != self.Status.OPEN:
            return None
        return self.amount * self.stage.probability / 100


class OpportunityContact(models.Model):
    """A contact of the deal's account on its buying committee, in a buying role."""

    opportunity = models.ForeignKey(Opportunity, verbose_name=_("opportunity"),
                                    on_delete=models.CASCADE,
                                    related_name="committee", db_index=False)
    contact = models.ForeignKey(Contact, verbose_name=_("contact"), on_delete=models.CASCADE,
                                related_name="opportunity_roles")
    role = models.CharField(_("role"), max_length=20, choices=Contact.BuyingRole.choices)

    class Meta:
        ordering = ["opportunity", "id"]
        verbose_name = _("buying committee member")
        verbose_name_plural = _("buying committee")
        constraints = [
            models.UniqueConstraint(fields=["opportunity", "contact"],
                                    name="opportunity_contact_once"),
        ]

    def __str__(self):
        return f"{self.contact_id} ({self.role})"


class OpportunityStageChange(models.Model):
    """One stage change of a deal, with its amount at that time. Append-only: the history
    that velocity and as-of figures read."""

    opportunity = models.ForeignKey(Opportunity, verbose_name=_("opportunity"),
                                    on_delete=models.CASCADE,
                                    related_name="stage_changes", db_index=False)
    from_stage = models.ForeignKey(OpportunityStage, verbose_name=_("from stage"),
                                   null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+",
                                   db_index=False)
    to_stage = models.ForeignKey(OpportunityStage, verbose_name=_("to stage"),
                                 on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("at"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, null=True,
                                 blank=True)
    is_reopen = models.BooleanField(_("reopened"), default=False)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True,
                           on_delete=models.SET_NULL, related_name="+", db_index=False,
                           help_text=_("Empty: a CRM load or the system."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("opportunity stage change")
        verbose_name_plural = _("opportunity stage changes")
        indexes = [
            # A deal's history in order (its page; its stage as of a past date).
            models.Index(fields=["opportunity", "at"], name="pipeline_change_opp_time"),
            # Partial, for the deletes of a stage or a user: a deal's first change has no
            # from-stage, a CRM load no user.
            models.Index(fields=["from_stage"], name="pipeline_change_from_stage",
                         condition=Q(from_stage__isnull=False)),
            models.Index(fields=["by"], name="pipeline_change_by",
                         condition=Q(by__isnull=False)),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__isnull=True) | Q(amount__gte=0),
                                   name="opportunity_change_amount_not_negative"),
        ]

    def __str__(self):
        return f"{self.opportunity_id}: {self.from_stage_id or '—'} → {self.to_stage_id}"


class DealTouch(models.Model):
    """What attribution reads instead of the touches themselves: per deal and campaign, the
    weight each of the six models gives the campaign's touches of the deal's window (the
    touches ranked — first, lead creation, deal opening, last — once, when they are
    written). Maintained by every write path of touches, milestones and deals, in the
    writing transaction (`services.deal_touches`), and rebuilt from them by
    `manage.py rebuild_deal_touches`; `DealTouchState` says whether it can be read. A deal
    no touch reached has no row."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="+",
                                    db_index=False, verbose_name=_("opportunity"))
    # No database constraint: a campaign deleted takes its touches with it, and the rows
    # are redone for the accounts it touched (not cascaded: the other campaigns' weights
    # of those deals change too).
    campaign = models.ForeignKey(Campaign, on_delete=models.DO_NOTHING, related_name="+",
                                 db_constraint=False, db_index=False,
                                 verbose_name=_("campaign"))
    # The deal's, so that a period's rows are read without the deals.
    opened_at = models.DateTimeField(_("opened at"))
    first = models.FloatField(_("first touch weight"), default=0.0)
    last = models.FloatField(_("last touch weight"), default=0.0)
    linear = models.FloatField(_("linear weight"), default=0.0)
    u_shaped = models.FloatField(_("U-shaped weight"), default=0.0)
    w_shaped = models.FloatField(_("W-shaped weight"), default=0.0)
    time_decay = models.FloatField(_("time-decay weight"), default=0.0)

    class Meta:
        verbose_name = _("deal touch")
        verbose_name_plural = _("deal touches")
        indexes = [models.Index(fields=["opened_at"], name="pipeline_dealtouch_opened")]
        constraints = [
            # Also the index that finds a deal's rows (refresh, the unattributed deals).
            models.UniqueConstraint(fields=["opportunity", "campaign"],
                                    name="pipeline_dealtouch_deal_campaign"),
        ]

    def __str__(self):
        return f"{self.opportunity_id} ← {self.campaign_id}"


class DealTouchPending(models.Model):
    """A deal whose `DealTouch` rows are computed after the commit that wrote it, by a task
    (`tasks.refresh_pending_deal_touches`): a bulk load's new deals and the deals its new
    deals with a campaign reach. The load then answers in about the time its own rows take;
    attribution computes any pending deal of its period before it reads the table, so its
    answer is always that of the stored touches. No foreign key: a row whose deal was
    deleted meanwhile is dropped by the task, and a load queues no constraint check."""

    opportunity = models.OneToOneField(Opportunity, on_delete=models.DO_NOTHING,
                                       primary_key=True, db_constraint=False,
                                       related_name="+", verbose_name=_("opportunity"))
    queued_at = models.DateTimeField(_("queued at"), default=timezone.now)

    class Meta:
        verbose_name = _("pending deal touch refresh")
        verbose_name_plural = _("pending deal touch refreshes")
        # The sweeper's "queued a while ago" (every minute, whatever the queue's length).
        indexes = [models.Index(fields=["queued_at"], name="pipeline_dtpending_queued")]

    def __str__(self):
        return str(self.opportunity_id)


class DealTouchState(models.Model):
    """One row (pk 1), absent until the first rebuild: whether `DealTouch` is complete and
    the settings it was computed with. Attribution reads the table only when it is built
    with the current lookback, half-life and W-shaped milestone stages; otherwise it
    computes from the touches as before (a changed setting needs a rebuild)."""

    class Status(models.TextChoices):
        # Rebuilding: the writes maintain it, attribution does not read it yet.
        BUILDING = "building", _("building")
        BUILT = "built", _("built")

    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    lookback_days = models.PositiveIntegerField(_("lookback (days)"))
    half_life_days = models.FloatField(_("half-life (days)"))
    middle_stage_ids = models.CharField(_("W-shaped middle stages"), max_length=200,
                                        blank=True)
    built_at = models.DateTimeField(_("built at"), null=True, blank=True)

    class Meta:
        verbose_name = _("deal touch state")
        verbose_name_plural = _("deal touch states")

    def __str__(self):
        return self.status
