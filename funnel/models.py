from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from programs.models import Campaign
from tiers.models import Account

Channel = Campaign.Channel

# The built-in stages (migration 0002) that have a column on the state rows, by side.
ABM_SLOTS = ("target", "engaged", "qualified")
DEMAND_GEN_SLOTS = ("inquiry", "mql")
SHARED_SLOTS = ("sql", "opportunity", "won")
STAGE_SLOTS = (*ABM_SLOTS, *DEMAND_GEN_SLOTS, *SHARED_SLOTS)


def _reached(slot, verbose_name):
    return models.DateTimeField(
        verbose_name, null=True, blank=True, editable=False,
        help_text=format_lazy(
            _("The first time it reached the built-in “{slot}” stage (its first transition "
              "there); kept by the transition service, rebuilt from the history by "
              "`manage.py rebuild_funnel_state`."), slot=slot))


class Stage(models.Model):
    """One step of the dual funnel. The rows come from a data migration; admins may rename
    and reorder them. Each side's path is its own stages then the shared ones, by position."""

    class Side(models.TextChoices):
        ABM = "abm", _("ABM (accounts)")
        DEMAND_GEN = "demand_gen", _("Demand generation (leads)")
        SHARED = "shared", _("Shared")

    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    side = models.CharField(_("side"), max_length=20, choices=Side.choices)
    position = models.PositiveSmallIntegerField(
        _("position"),
        help_text=_("Order along the funnel; shared stages come after both sides' own stages.")
    )
    is_won = models.BooleanField(_("won"), default=False)
    is_lost = models.BooleanField(_("lost"),
                                  default=False, help_text=_("An exit, reachable from any stage."))
    is_opportunity = models.BooleanField(
        _("opens an opportunity"),
        default=False, help_text=_("Moving here opens an opportunity (its amount is pipeline).")
    )
    is_handoff = models.BooleanField(
        _("handoff"),
        default=False, help_text=_("SDRs work entities from here on (engaged accounts, MQLs)."),
    )
    # Which built-in stage this row is, whatever admins rename it to: the state rows keep the
    # first time each entity reached a built-in stage in a column of that slot
    # (`reached_<slot>_at`). A stage added by an admin has no slot; the report reads its
    # first times from the history.
    slot = models.CharField(_("built-in stage"),
                            max_length=20, choices=[(s, s) for s in STAGE_SLOTS], unique=True,
                            null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("funnel stage")
        verbose_name_plural = _("funnel stages")
        ordering = ["position", "id"]

    def __str__(self):
        return self.name

    @property
    def is_terminal(self):
        return self.is_won or self.is_lost

    @property
    def takes_amount(self):
        return self.is_won or self.is_opportunity

    def on_side(self, side):
        return self.side in (side, self.Side.SHARED)


class FunnelState(models.Model):
    """Where one tracked entity stands. `version` counts its transitions: every move is a
    compare-and-set on (stage, version), so a concurrent double move can't both apply."""

    stage = models.ForeignKey(Stage, verbose_name=_("stage"),
                              null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    previous_stage = models.ForeignKey(Stage, verbose_name=_("previous stage"),
                                       null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+")
    entered_at = models.DateTimeField(
        _("entered the funnel at"), null=True, blank=True, db_index=True,
        help_text=_("When it entered the funnel (its first transition)."),
    )
    stage_changed_at = models.DateTimeField(
        _("stage changed at"),
        null=True, blank=True, help_text=_("The time of its last transition."),
    )
    version = models.PositiveIntegerField(_("version"), default=0, editable=False)
    won_amount = models.DecimalField(
        _("won amount"), max_digits=14, decimal_places=2, default=0, editable=False,
        help_text=_("The amounts of its transitions to the built-in “won” stage, summed (a "
                    "reopened entity won again adds up); kept like the first-reached times."))

    # The slots with a `reached_<slot>_at` column on the concrete model.
    SLOTS = ()

    class Meta:
        abstract = True

    @classmethod
    def reached_field(cls, stage):
        """The name of the field holding the first time at `stage`, or None (an admin's
        stage, or one of the other side)."""
        return f"reached_{stage.slot}_at" if stage.slot in cls.SLOTS else None


class AccountFunnel(FunnelState):
    """The ABM side's state of one account (kept out of the tiers app's Account)."""

    account = models.OneToOneField(Account, verbose_name=_("account"),
                                   on_delete=models.CASCADE, primary_key=True,
                                   related_name="funnel")
    entry_channel = models.CharField(_("entry channel"),
                                     max_length=20, choices=Channel.choices, blank=True)
    entry_campaign = models.ForeignKey(Campaign, verbose_name=_("entry campaign"),
                                       null=True, blank=True,
                                       on_delete=models.SET_NULL, related_name="+",
                                       db_index=False)
    reached_target_at = _reached("target", _("reached target at"))
    reached_engaged_at = _reached("engaged", _("reached engaged at"))
    reached_qualified_at = _reached("qualified", _("reached qualified at"))
    reached_sql_at = _reached("sql", _("reached SQL at"))
    reached_opportunity_at = _reached("opportunity", _("reached opportunity at"))
    reached_won_at = _reached("won", _("reached won at"))

    SLOTS = (*ABM_SLOTS, *SHARED_SLOTS)

    class Meta:
        verbose_name_plural = _("account funnel states")
        verbose_name = _("account funnel state")
        indexes = [
            # Partial (for a campaign's delete): most accounts enter with no campaign, and a
            # first recompute enters tens of thousands.
            models.Index(fields=["entry_campaign"], name="funnel_af_entry_campaign",
                         condition=Q(entry_campaign__isnull=False)),
        ]

    def __str__(self):
        return f"{self.account_id}: {self.stage_id}"


class AccountMatch(models.TextChoices):
    DOMAIN = "domain", _("E-mail domain")
    COMPANY = "company", _("Company name")


class Lead(FunnelState):
    """A person on the demand-gen side. `account` is matched by e-mail domain, or by company
    name when the address is a free-mail one (`tiers.companies`)."""

    AccountMatch = AccountMatch

    email = models.EmailField(_("e-mail"), unique=True)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    company = models.CharField(_("company"), max_length=255, blank=True)
    account = models.ForeignKey(Account, verbose_name=_("account"),
                                null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="leads")
    account_match = models.CharField(
        _("account match"), max_length=10, choices=AccountMatch.choices, blank=True,
        help_text=_("How the account was found: by e-mail domain, or by company name for a "
                    "free-mail address (empty: given, or none found)."))
    account_match_score = models.PositiveSmallIntegerField(
        _("account match score"),
        null=True, blank=True, help_text=_("The company-name match's score, 0–100 (100 for a "
                                           "domain)."))
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, blank=True,
                               db_index=True, help_text=_("The source channel."))
    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"),
                                 null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="leads")
    external_id = models.CharField(_("external id"),
                                   max_length=100, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    reached_inquiry_at = _reached("inquiry", _("reached inquiry at"))
    reached_mql_at = _reached("mql", _("reached MQL at"))
    reached_sql_at = _reached("sql", _("reached SQL at"))
    reached_opportunity_at = _reached("opportunity", _("reached opportunity at"))
    reached_won_at = _reached("won", _("reached won at"))

    SLOTS = (*DEMAND_GEN_SLOTS, *SHARED_SLOTS)

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.email


class StageTransition(models.Model):
    """One move of an account or a lead. Append-only: recorded by
    `services.transitions_apply` (via the API or a CSV import), never changed."""

    # account, lead, to_stage and campaign have no index of their own: the (…, occurred_at)
    # indexes below lead with them and serve the same lookups, and every index is paid on
    # each insert (a first recompute appends tens of thousands of transitions).
    account = models.ForeignKey(Account, verbose_name=_("account"),
                                null=True, blank=True, on_delete=models.CASCADE,
                                related_name="stage_transitions", db_index=False)
    lead = models.ForeignKey(Lead, verbose_name=_("lead"),
                             null=True, blank=True, on_delete=models.CASCADE,
                             related_name="transitions", db_index=False)
    from_stage = models.ForeignKey(Stage, verbose_name=_("from stage"),
                                   null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", db_index=False)
    to_stage = models.ForeignKey(Stage, verbose_name=_("to stage"),
                                 on_delete=models.PROTECT, related_name="+",
                                 db_index=False)
    occurred_at = models.DateTimeField(_("occurred at"))
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, blank=True)
    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"),
                                 null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="stage_transitions", db_index=False)
    amount = models.DecimalField(_("amount"),
                                 max_digits=14, decimal_places=2, null=True, blank=True)
    is_reopen = models.BooleanField(_("reopened"), default=False)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"),
                                    null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+",
                                    db_index=False)
    external_id = models.CharField(_("external id"),
                                   max_length=100, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("stage transition")
        verbose_name_plural = _("stage transitions")
        ordering = ["occurred_at", "id"]
        indexes = [
            # Each entity's history in order: the reports group by entity.
            models.Index(fields=["account", "occurred_at"], name="funnel_tr_account_time"),
            # Partial: an account's transition has no lead, and most have no campaign; NULL
            # keys would be inserted at random places (by time) for nothing.
            models.Index(fields=["lead", "occurred_at"], name="funnel_tr_lead_time",
                         condition=Q(lead__isnull=False)),
            # Period reports and the quotas pick transitions by time (and stage).
            models.Index(fields=["occurred_at"], name="funnel_tr_time"),
            models.Index(fields=["to_stage", "occurred_at"], name="funnel_tr_stage_time"),
            models.Index(fields=["campaign", "occurred_at"], name="funnel_tr_campaign_time",
                         condition=Q(campaign__isnull=False)),
            # Partial too, for the deletes of a stage or a user: an account's entry into the
            # funnel has no from-stage, and an automatic move no user.
            models.Index(fields=["from_stage"], name="funnel_tr_from_stage",
                         condition=Q(from_stage__isnull=False)),
            models.Index(fields=["recorded_by"], name="funnel_tr_recorded_by",
                         condition=Q(recorded_by__isnull=False)),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(account__isnull=False, lead__isnull=True)
                | Q(account__isnull=True, lead__isnull=False),
                name="transition_one_entity",
            ),
            models.CheckConstraint(condition=Q(amount__isnull=True) | Q(amount__gte=0),
                                   name="transition_amount_not_negative"),
        ]

    def __str__(self):
        entity = f"account {self.account_id}" if self.account_id else f"lead {self.lead_id}"
        return f"{entity}: {self.from_stage_id or '—'} → {self.to_stage_id}"


class PipelineQuota(models.Model):
    """A month's pipeline target for one channel."""

    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("pipeline quota")
        verbose_name_plural = _("pipeline quotas")
        ordering = ["-month", "channel"]
        constraints = [
            models.UniqueConstraint(fields=["month", "channel"], name="quota_once_per_channel"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="quota_not_negative"),
        ]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.channel}: {self.amount}"
