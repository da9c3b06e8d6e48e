from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from abmcrm.core.models import Job
from tiers.models import Account


class AccountSnapshot(models.Model):
    """What was known about one account at one time (`as_of`), one row per account per ISO
    week (`week`: its Monday). Written by the recompute for the current week (as of the
    recompute, so the week's last recompute stands) and by `rebuild_snapshots` for past
    weeks (as of the end of the week), from the raw events, signals, transitions and deals
    dated no later than `as_of` (`inmarket.sql.snapshots`). Compact typed columns: the model
    reads millions of them."""

    account = models.ForeignKey(Account, verbose_name=_("account"),
                                on_delete=models.CASCADE, related_name="+",
                                db_index=False)
    week = models.DateField(_("week"), help_text=_("The Monday of the ISO week."))
    as_of = models.DateTimeField(_("as of"))
    # Fit (firmographics have no history: today's values stand for the past).
    fit_score = models.PositiveSmallIntegerField(_("fit score"), default=0)
    fit_criteria_met = models.PositiveSmallIntegerField(_("fit criteria met"), default=0)
    # Intent, as the recompute computes it with `as_of` for now.
    intent_score = models.PositiveSmallIntegerField(_("intent score"), default=0)
    surging_topics = models.PositiveSmallIntegerField(_("surging topics"), default=0)
    intent_topics = models.PositiveSmallIntegerField(
        _("intent topics"), default=0, help_text=_("Topics with a signal in the recent weeks."))
    # Meaningful engagement (kinds of weight > 0) by recency, weighted and decayed as the
    # engagement score is, purchase signals (pricing and demo requests), people engaged.
    engagement_7d = models.PositiveIntegerField(_("engagement, 7 days"), default=0)
    engagement_30d = models.PositiveIntegerField(_("engagement, 30 days"), default=0)
    engagement_90d = models.PositiveIntegerField(_("engagement, 90 days"), default=0)
    engagement_points = models.FloatField(_("engagement points"), default=0)
    purchase_30d = models.PositiveIntegerField(_("purchase signals, 30 days"), default=0)
    contacts_30d = models.PositiveIntegerField(_("contacts engaged, 30 days"), default=0)
    # The buying committee (from the snapshot feature providers; empty when unknown).
    contact_fit = models.PositiveSmallIntegerField(_("contact fit"), null=True, blank=True)
    coverage = models.FloatField(_("coverage"), null=True, blank=True,
                                 help_text=_("Percent of the required committee present."))
    # Tier and funnel stage then, from their histories.
    tier = models.PositiveSmallIntegerField(_("tier"), null=True, blank=True,
                                            help_text=_("The tier's number; empty: none."))
    funnel_stage = models.CharField(_("funnel stage"), max_length=50, blank=True)
    # Deals then.
    open_deals = models.PositiveSmallIntegerField(_("open deals"), default=0)
    open_amount = models.DecimalField(_("open amount"), max_digits=16, decimal_places=2, default=0)
    won_deals = models.PositiveSmallIntegerField(_("won deals"), default=0)
    # Not a feature: what the scoring last wrote onto the account, kept on the row its read
    # already visits (`inmarket.sql.training.MARK`), so that a rescoring tells what changed
    # without reading the accounts. Empty: unknown (read the account).
    scores_mark = models.BinaryField(
        _("scores mark"), null=True, blank=True, editable=False,
        help_text=_("The in-market scores last written onto the account, packed: its "
                    "probability, model version, buying stage, 6QA and a digest of its "
                    "reasons."))

    class Meta:
        verbose_name = _("account snapshot")
        verbose_name_plural = _("account snapshots")
        ordering = ["-week", "account"]
        constraints = [models.UniqueConstraint(fields=["account", "week"],
                                               name="inmarket_snapshot_once_a_week")]
        # Training and scoring read a week at a time; the unique index serves an account's.
        indexes = [models.Index(fields=["week", "account"], name="inmarket_snapshot_week")]

    def __str__(self):
        return f"{self.account_id} @ {self.week}"


class InMarketModel(models.Model):
    """One trained version of the in-market model, or a fallback version (not enough deals:
    the transparent rule scores). Exactly one version is active at most."""

    class Kind(models.TextChoices):
        LOGISTIC = "logistic", _("Logistic regression")
        BOOSTING = "boosting", _("Gradient boosting")
        RULE = "rule", _("Rule (fallback)")

    version = models.PositiveIntegerField(_("version"), unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    is_active = models.BooleanField(_("active"), default=False)
    is_fallback = models.BooleanField(_("fallback"), default=False)
    trained_at = models.DateTimeField(_("trained at"))
    window_start = models.DateField(_("window start"), null=True, blank=True)
    window_end = models.DateField(_("window end"), null=True, blank=True)
    horizon_days = models.PositiveSmallIntegerField(_("horizon (days)"))
    accounts = models.PositiveIntegerField(_("accounts"),
                                           default=0, help_text=_("Accounts in the history."))
    rows = models.PositiveIntegerField(_("snapshots"),
                                       default=0, help_text=_("Snapshots trained on."))
    positives = models.PositiveIntegerField(
        _("positives"), default=0, help_text=_("Accounts that opened a deal within the horizon."))
    needed_positives = models.PositiveIntegerField(_("positives needed"), default=0)
    # {"auc", "lift_by_decile", "precision_at_10", "calibration", "sizes", "candidates"}
    metrics = models.JSONField(_("metrics"), default=dict, blank=True)
    # [{"name", "label", "effect", "importance"}], strongest first.
    features = models.JSONField(_("features"), default=list, blank=True)
    # The fitted estimator and calibrator, serialized by skops (never pickle); loaded with
    # an explicit list of trusted types.
    payload = models.BinaryField(_("payload"), null=True, blank=True, editable=False)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("in-market model")
        verbose_name_plural = _("in-market models")
        ordering = ["-version"]
        constraints = [models.UniqueConstraint(fields=["is_active"],
                                               condition=models.Q(is_active=True),
                                               name="inmarket_one_active_model")]

    def __str__(self):
        return f"v{self.version} ({self.get_kind_display()})"

    @property
    def auc(self):
        return self.metrics.get("auc")


class InMarketSettings(models.Model):
    """The admin-set thresholds of the buying stages and of the 6QA (one row)."""

    awareness_min = models.FloatField(
        _("awareness from"), default=0.03, validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("Probability from which an account is in awareness."))
    consideration_min = models.FloatField(
        _("consideration from"),
        default=0.08, validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("Probability from which an account is in consideration."))
    decision_min = models.FloatField(
        _("decision from"), default=0.2, validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("Probability from which an account is in decision."))
    moderate_fit = models.PositiveSmallIntegerField(
        _("moderate fit"), default=50, validators=[MaxValueValidator(100)],
        help_text=_("The fit score of the moderate band (6QA needs at least this)."))
    high_fit = models.PositiveSmallIntegerField(
        _("high fit"), default=75, validators=[MaxValueValidator(100)],
        help_text=_("The fit score of the high band (the fallback rule)."))
    contact_fit_min = models.PositiveSmallIntegerField(
        _("minimum contact fit"), default=50, validators=[MaxValueValidator(100)],
        help_text=_("6QA needs an account contact fit of at least this (0: not required)."))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("in-market settings")
        verbose_name_plural = _("in-market settings")

    def __str__(self):
        return str(_("In-market settings"))

    @classmethod
    def current(cls):
        return cls.objects.order_by("pk").first() or cls.objects.get_or_create(pk=1)[0]


class SixQaQualification(models.Model):
    """The first time an account became 6QA: its move to the funnel's `qualified` stage is
    made once, when this row is inserted (the insert is the compare-and-set)."""

    account = models.OneToOneField(Account, verbose_name=_("account"),
                                   on_delete=models.CASCADE, primary_key=True,
                                   related_name="+")
    qualified_at = models.DateTimeField(_("qualified at"))
    model_version = models.PositiveIntegerField(_("model version"), null=True, blank=True)

    class Meta:
        verbose_name = _("6QA qualification")
        verbose_name_plural = _("6QA qualifications")

    def __str__(self):
        return f"{self.account_id} 6QA at {self.qualified_at:%Y-%m-%d}"


class TrainingJob(Job):
    """A training run of the in-market model: requested (API, admin) or scheduled."""

    class Trigger(models.TextChoices):
        REQUEST = "request", _("Requested")
        SCHEDULE = "schedule", _("Scheduled")

    task = "inmarket.tasks.run_training"

    trigger = models.CharField(_("trigger"),
                               max_length=10, choices=Trigger.choices, default=Trigger.REQUEST)
    activate = models.BooleanField(
        _("activate when trained"),
        default=True, help_text=_("Activate the new version by the rule (its holdout AUC); "
                                  "off: store it inactive, for an admin to activate."))
    total = models.PositiveIntegerField(_("total"), null=True, blank=True)
    done = models.PositiveIntegerField(_("done"), default=0)
    result = models.JSONField(_("result"), default=dict, blank=True)
    model = models.ForeignKey(InMarketModel, verbose_name=_("trained model"),
                              null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")

    class Meta(Job.Meta):
        verbose_name = _("training job")
        verbose_name_plural = _("training jobs")

    def __str__(self):
        return f"Training #{self.pk} ({self.status})"
