from django.conf import settings
from django.db import models
from django.db.models import Q

from programs.models import Campaign
from tiers.models import Account

Channel = Campaign.Channel


class Stage(models.Model):
    """One step of the dual funnel. The rows come from a data migration; admins may rename
    and reorder them. Each side's path is its own stages then the shared ones, by position."""

    class Side(models.TextChoices):
        ABM = "abm", "ABM (accounts)"
        DEMAND_GEN = "demand_gen", "Demand generation (leads)"
        SHARED = "shared", "Shared"

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    side = models.CharField(max_length=20, choices=Side.choices)
    position = models.PositiveSmallIntegerField(
        help_text="Order along the funnel; shared stages come after both sides' own stages."
    )
    is_won = models.BooleanField(default=False)
    is_lost = models.BooleanField(default=False, help_text="An exit, reachable from any stage.")
    is_opportunity = models.BooleanField(
        default=False, help_text="Moving here opens an opportunity (its amount is pipeline)."
    )
    is_handoff = models.BooleanField(
        default=False, help_text="SDRs work entities from here on (engaged accounts, MQLs).",
    )

    class Meta:
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

    stage = models.ForeignKey(Stage, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    previous_stage = models.ForeignKey(Stage, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+")
    entered_at = models.DateTimeField(
        null=True, blank=True, db_index=True,
        help_text="When it entered the funnel (its first transition).",
    )
    stage_changed_at = models.DateTimeField(
        null=True, blank=True, help_text="The time of its last transition.",
    )
    version = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        abstract = True


class AccountFunnel(FunnelState):
    """The ABM side's state of one account (kept out of the tiers app's Account)."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, primary_key=True,
                                   related_name="funnel")
    entry_channel = models.CharField(max_length=20, choices=Channel.choices, blank=True)
    entry_campaign = models.ForeignKey(Campaign, null=True, blank=True,
                                       on_delete=models.SET_NULL, related_name="+",
                                       db_index=False)

    class Meta:
        verbose_name = "account funnel state"
        indexes = [
            # Partial (for a campaign's delete): most accounts enter with no campaign, and a
            # first recompute enters tens of thousands.
            models.Index(fields=["entry_campaign"], name="funnel_af_entry_campaign",
                         condition=Q(entry_campaign__isnull=False)),
        ]

    def __str__(self):
        return f"{self.account_id}: {self.stage_id}"


class AccountMatch(models.TextChoices):
    DOMAIN = "domain", "E-mail domain"
    COMPANY = "company", "Company name"


class Lead(FunnelState):
    """A person on the demand-gen side. `account` is matched by e-mail domain, or by company
    name when the address is a free-mail one (`tiers.companies`)."""

    AccountMatch = AccountMatch

    email = models.EmailField(unique=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    company = models.CharField(max_length=255, blank=True)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="leads")
    account_match = models.CharField(
        max_length=10, choices=AccountMatch.choices, blank=True,
        help_text="How the account was found: by e-mail domain, or by company name for a "
                  "free-mail address (empty: given, or none found).")
    account_match_score = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The company-name match's score, 0–100 (100 for a "
                                         "domain).")
    channel = models.CharField(max_length=20, choices=Channel.choices, blank=True,
                               db_index=True, help_text="The source channel.")
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="leads")
    external_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.email


class StageTransition(models.Model):
    """One move of an account or a lead. Append-only: recorded by
    `services.transitions_apply` (via the API or a CSV import), never changed."""

    # account, lead, to_stage and campaign have no index of their own: the (…, occurred_at)
    # indexes below lead with them and serve the same lookups, and every index is paid on
    # each insert (a first recompute appends tens of thousands of transitions).
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="stage_transitions", db_index=False)
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="transitions", db_index=False)
    from_stage = models.ForeignKey(Stage, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", db_index=False)
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+",
                                 db_index=False)
    occurred_at = models.DateTimeField()
    channel = models.CharField(max_length=20, choices=Channel.choices, blank=True)
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="stage_transitions", db_index=False)
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    is_reopen = models.BooleanField(default=False)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+",
                                    db_index=False)
    external_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
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

    month = models.DateField(help_text="The first day of the month.")
    channel = models.CharField(max_length=20, choices=Channel.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["-month", "channel"]
        constraints = [
            models.UniqueConstraint(fields=["month", "channel"], name="quota_once_per_channel"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="quota_not_negative"),
        ]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.channel}: {self.amount}"
