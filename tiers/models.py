from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from abmcrm.core.db.indexes import TrigramIndex
from abmcrm.core.formats import money, number
from abmcrm.core.models import Job


class Technology(models.Model):
    """A product an account uses (technographics), e.g. Salesforce or an ERP."""

    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)

    class Meta:
        verbose_name = _("technology")
        ordering = ["name"]
        verbose_name_plural = _("technologies")

    def __str__(self):
        return self.name


class Tier(models.Model):
    """A Goldilocks tier: 1 "just right", 2 "too big", 3 "too small"."""

    class EngagementModel(models.TextChoices):
        ONE_TO_ONE = "1:1", "1:1"
        ONE_TO_FEW = "1:few", "1:few"
        ONE_TO_MANY = "1:many", "1:many"

    number = models.PositiveSmallIntegerField(_("number"), unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    engagement_model = models.CharField(
        _("engagement model"),
        max_length=10, choices=EngagementModel.choices, default=EngagementModel.ONE_TO_MANY
    )
    capacity = models.PositiveIntegerField(
        _("capacity"),
        null=True, blank=True, help_text=_("Maximum number of accounts in this tier; empty: none.")
    )
    engagement_multiplier = models.DecimalField(
        _("engagement multiplier"),
        max_digits=5, decimal_places=2, default=Decimal("1"), db_default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text=_("Engagement of this tier's accounts counts this many times (compounds with "
                    "the persona multipliers); 1: as is."),
    )

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = ["number"]

    def __str__(self):
        return f"Tier {self.number} – {self.name}"


class BuyingStage(models.TextChoices):
    """Where an account stands in its buying journey (the in-market prediction)."""

    TARGET = "target", _("Target")
    AWARENESS = "awareness", _("Awareness")
    CONSIDERATION = "consideration", _("Consideration")
    DECISION = "decision", _("Decision")
    PURCHASE = "purchase", _("Purchase")


class Account(models.Model):
    BuyingStage = BuyingStage

    class FundingStage(models.TextChoices):
        BOOTSTRAPPED = "bootstrapped", _("Bootstrapped")
        SEED = "seed", _("Seed")
        SERIES_A = "series_a", _("Series A")
        SERIES_B = "series_b", _("Series B")
        SERIES_C_PLUS = "series_c_plus", _("Series C+")
        PRIVATE_EQUITY = "private_equity", _("Private equity")
        PUBLIC = "public", _("Public")

    class Maturity(models.TextChoices):
        EMERGING = "emerging", _("Emerging")
        DEVELOPING = "developing", _("Developing")
        MATURE = "mature", _("Mature")

    name = models.CharField(_("name"), max_length=255)
    domain = models.CharField(
        _("domain"),
        max_length=255, unique=True, help_text=_("Normalised: lower case, no scheme, no www.")
    )
    external_id = models.CharField(
        _("external id"),
        max_length=100, unique=True, null=True, blank=True, help_text=_("The id in the host CRM.")
    )
    industry = models.CharField(_("industry"), max_length=100, blank=True, db_index=True)
    country = models.CharField(_("country"), max_length=100, blank=True, db_index=True)
    region = models.CharField(_("region"), max_length=100, blank=True)
    employees = models.PositiveIntegerField(_("employees"), null=True, blank=True)
    annual_revenue = models.DecimalField(_("annual revenue"),
                                         max_digits=16, decimal_places=2, null=True, blank=True)
    funding_stage = models.CharField(_("funding stage"),
                                     max_length=20, choices=FundingStage.choices, blank=True)
    technologies = models.ManyToManyField(Technology, verbose_name=_("technologies"),
                                          blank=True, related_name="accounts")
    customer_count = models.PositiveIntegerField(
        _("customer base"),
        null=True, blank=True, help_text=_("Size of the account's own customer base.")
    )
    maturity = models.CharField(_("maturity"), max_length=20, choices=Maturity.choices, blank=True)
    estimated_acv = models.DecimalField(
        _("estimated ACV"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    # No index of its own: the (owner, name) index leads with it.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_accounts",
        help_text=_("The sales rep who owns the account."),
        db_index=False,
    )
    is_customer = models.BooleanField(_("customer"), default=False)
    renewal_count = models.PositiveIntegerField(
        _("renewals"), default=0, help_text=_("Renewal cycles completed as a customer.")
    )
    # Scores and tier, kept current by the tiering services (issue: scoring and tiering).
    fit_score = models.PositiveSmallIntegerField(_("fit score"),
                                                 default=0, help_text=_("ICP fit, 0–100."))
    intent_score = models.PositiveSmallIntegerField(_("intent score"),
                                                    default=0, help_text=_("Intent, 0–100."))
    engagement_score = models.PositiveSmallIntegerField(
        _("engagement score"), default=0, help_text=_("Decayed, weighted engagement, 0–100.")
    )
    surging_topics = models.JSONField(_("surging topics"), default=list, blank=True)
    has_recent_intent = models.BooleanField(_("recent intent"), default=False)
    has_recent_engagement = models.BooleanField(_("recent engagement"), default=False)
    tier = models.ForeignKey(
        Tier, verbose_name=_("tier"),
        null=True, blank=True, on_delete=models.SET_NULL, related_name="accounts"
    )
    tier_rule = models.ForeignKey(
        "TierRule", verbose_name=_("tier rule"),
        null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text=_("The rule that placed the account in its tier (empty: untiered or manual)."),
    )
    tier_locked = models.BooleanField(
        _("tier locked"),
        default=False, help_text=_("Set by a manual override: recomputation leaves the tier alone.")
    )
    scored_at = models.DateTimeField(
        _("scored at"),
        null=True, blank=True, help_text=_("When the scores last changed (or were first computed).")
    )
    # The buying committee, kept current by the recompute and by contact changes
    # (`tiers.committee`). Other apps read these three fields.
    # Database defaults too: rows inserted by raw SQL (benchmarks, host loaders) get them.
    # Until the committee is first computed `coverage` is empty (NULL): a default of 0 % next
    # to the default of no missing role said "nothing covered" and "every role filled" at
    # once. Empty coverage means the other two say nothing yet.
    contact_fit = models.PositiveSmallIntegerField(
        _("contact fit"), default=0, db_default=0,
        help_text=_("How well the contacts filling the required buying committee match the ICP "
                    "personas, 0–100."))
    coverage = models.PositiveSmallIntegerField(
        _("coverage"), null=True, blank=True,
        help_text=_("Share of the tier's required buying committee present, in percent (0–100; "
                    "100 when the tier requires nobody); empty: not computed yet (the next "
                    "recompute or contact change computes it)."))
    missing_roles = models.JSONField(
        _("missing roles"), default=list, db_default=[], blank=True,
        help_text=_('Buying roles the committee still lacks, e.g. ["decision_maker"].'))
    # The in-market prediction, written by the `inmarket` app's scoring (which runs after each
    # recompute) and kept here, like the scores, so that the account list filters and the
    # scores API read them without importing the app above (docs/internals/design-decisions).
    in_market_probability = models.FloatField(
        _("in-market probability"),
        null=True, blank=True, help_text=_("The chance (0–1) the account opens a deal soon."))
    # Database defaults too, as the committee's: raw-SQL inserts get them.
    buying_stage = models.CharField(_("buying stage"),
                                    max_length=20, choices=BuyingStage.choices, blank=True,
                                    db_default="")
    is_6qa = models.BooleanField(
        _("6QA"), default=False, db_default=False,
        help_text=_("Fit, contact fit and buying stage together say it is likely to buy now."))
    in_market_model_version = models.PositiveIntegerField(
        _("in-market model version"),
        null=True, blank=True, help_text=_("The in-market model version that scored it."))
    in_market_reasons = models.JSONField(_("in-market reasons"),
                                         default=list, db_default=[], blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ["name", "id"]
        # The list's default and offered orderings, each with the id that breaks ties (so a
        # page is read from the index, not sorted from the whole table), and the search.
        # Not the scores: a recompute rewrites them, and it stays fast because no index
        # holds them (HOT updates; see docs/internals/performance.md).
        indexes = [
            models.Index(fields=["name", "id"], name="tiers_account_name_id"),
            models.Index(fields=["owner", "name"]),
            models.Index(fields=["employees", "id"], name="tiers_account_employees_id"),
            models.Index(fields=["annual_revenue", "id"], name="tiers_account_revenue_id"),
            models.Index(fields=["estimated_acv", "id"], name="tiers_account_acv_id"),
            models.Index(fields=["created_at", "id"], name="tiers_account_created_id"),
            TrigramIndex(Upper("name"), name="tiers_account_name_search"),
            TrigramIndex(Upper("domain"), name="tiers_account_domain_search"),
        ]

    def __str__(self):
        return self.name

    @property
    def committee_computed(self):
        """Whether the buying committee fields were computed (else they say nothing yet)."""
        return self.coverage is not None

    @property
    def missing_roles_text(self):
        """The missing roles as a rep reads them: "a decision maker, an influencer"."""
        return ", ".join(str(MISSING_ROLE_NAMES.get(role, role)) for role in self.missing_roles)


class Contact(models.Model):
    class BuyingRole(models.TextChoices):
        DECISION_MAKER = "decision_maker", _("Decision maker")
        CHAMPION = "champion", _("Champion")
        INFLUENCER = "influencer", _("Influencer")
        USER = "user", _("User")
        BLOCKER = "blocker", _("Blocker")
        OTHER = "other", _("Other")

    class JobFunction(models.TextChoices):
        MARKETING = "marketing", _("Marketing")
        SALES = "sales", _("Sales")
        FINANCE = "finance", _("Finance")
        IT = "it", _("IT")
        ENGINEERING = "engineering", _("Engineering")
        OPERATIONS = "operations", _("Operations")
        HR = "hr", _("HR")
        LEGAL = "legal", _("Legal")
        EXECUTIVE = "executive", _("Executive")
        OTHER = "other", _("Other")

    class Seniority(models.TextChoices):
        C_LEVEL = "c_level", _("C-level")
        VP = "vp", _("VP")
        DIRECTOR = "director", _("Director")
        MANAGER = "manager", _("Manager")
        SENIOR = "senior", _("Senior")
        ENTRY = "entry", _("Entry")

    class AccountMatch(models.TextChoices):
        EXPLICIT = "explicit", _("Given")
        DOMAIN = "domain", _("E-mail domain")
        COMPANY = "company", _("Company name")

    account = models.ForeignKey(Account, verbose_name=_("account"),
                                on_delete=models.CASCADE, related_name="contacts")
    # How the account was found when a row named a company rather than the account
    # (`tiers.companies.match_accounts`): recorded so that a doubtful match can be reviewed.
    account_match = models.CharField(
        _("account match"),
        max_length=10, choices=AccountMatch.choices, default=AccountMatch.EXPLICIT,
        db_default=AccountMatch.EXPLICIT,
        help_text=_("How the account was found: given, by the e-mail's domain, or by company "
                    "name for a free-mail address."))
    account_match_score = models.PositiveSmallIntegerField(
        _("account match score"), null=True, blank=True,
        help_text=_("The match's score, 0–100 (100 for a domain; empty when given)."))
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    email = models.EmailField(_("e-mail"))
    title = models.CharField(_("job title"), max_length=200, blank=True)
    buying_role = models.CharField(
        _("buying role"), max_length=20, choices=BuyingRole.choices, default=BuyingRole.OTHER
    )
    # The persona, derived from the title by the persona rules (`tiers.personas`) unless set
    # by hand (persona_overridden: a reclassification leaves it alone).
    job_function = models.CharField(_("job function"), max_length=20, choices=JobFunction.choices,
                                    default=JobFunction.OTHER, db_default=JobFunction.OTHER)
    seniority = models.CharField(_("seniority"), max_length=20, choices=Seniority.choices,
                                 default=Seniority.ENTRY, db_default=Seniority.ENTRY)
    persona_overridden = models.BooleanField(
        _("persona set by hand"), default=False, db_default=False,
        help_text=_("Function and seniority set by hand: the persona rules leave them alone."))
    contact_fit = models.PositiveSmallIntegerField(
        _("contact fit"), default=0, db_default=0,
        help_text=_("How well the persona matches the ICP personas, 0–100."))
    # The shipping address gifts and direct mail go to.
    address_line1 = models.CharField(_("address line 1"), max_length=200, blank=True)
    address_line2 = models.CharField(_("address line 2"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    state = models.CharField(_("state / province"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["last_name", "first_name", "id"]
        # The list's default and offered orderings, with the id that breaks ties.
        indexes = [
            models.Index(fields=["last_name", "first_name", "id"],
                         name="tiers_contact_name_id"),
            models.Index(fields=["first_name", "id"], name="tiers_contact_first_name_id"),
            models.Index(fields=["email", "id"], name="tiers_contact_email_id"),
            models.Index(fields=["created_at", "id"], name="tiers_contact_created_id"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["account", "email"], name="contact_email_per_account")
        ]

    def __str__(self):
        return self.full_name or self.email

    @property
    def full_name(self):
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def has_address(self):
        return bool(self.address_line1 and self.city and self.country)


# Scoring and tiering -----------------------------------------------------------------------

SCORE_VALIDATORS = [MinValueValidator(0), MaxValueValidator(100)]


class IcpProfile(models.Model):
    """The ideal customer profile: weighted criteria on account attributes. One is active."""

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name_plural = _("ICP profiles")
        ordering = ["-is_active", "name", "id"]
        verbose_name = _("ICP profile")
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True),
                                    name="one_active_icp_profile"),
        ]

    def __str__(self):
        return f"{self.name}{' (active)' if self.is_active else ''}"


# How a range criterion's attribute is named in its label ("Employees 200–5,000").
RANGE_NAMES = {"employees": _("Employees"),
               "annual_revenue": _("Annual revenue"),
               "customer_count": _("Customer base")}


class IcpCriterion(models.Model):
    """One weighted test on an account: a set of values, a range, or a technology used."""

    class Attribute(models.TextChoices):
        INDUSTRY = "industry", _("Industry in")
        COUNTRY = "country", _("Country in")
        REGION = "region", _("Region in")
        FUNDING_STAGE = "funding_stage", _("Funding stage in")
        MATURITY = "maturity", _("Maturity in")
        TECHNOLOGY = "technology", _("Uses a technology among")
        EMPLOYEES = "employees", _("Employees between")
        ANNUAL_REVENUE = "annual_revenue", _("Annual revenue between")
        CUSTOMER_COUNT = "customer_count", _("Customer base between")

    SET_ATTRIBUTES = ("industry", "country", "region", "funding_stage", "maturity", "technology")
    RANGE_ATTRIBUTES = ("employees", "annual_revenue", "customer_count")

    profile = models.ForeignKey(IcpProfile, verbose_name=_("profile"),
                                on_delete=models.CASCADE, related_name="criteria")
    attribute = models.CharField(_("attribute"), max_length=20, choices=Attribute.choices)
    values = models.JSONField(_("values"), default=list, blank=True,
                              help_text=_("For set attributes: the values that match."))
    min_value = models.DecimalField(_("minimum"),
                                    max_digits=16, decimal_places=2, null=True, blank=True,
                                    help_text=_("For range attributes: the minimum (inclusive)."))
    max_value = models.DecimalField(_("maximum"),
                                    max_digits=16, decimal_places=2, null=True, blank=True,
                                    help_text=_("For range attributes: the maximum (inclusive)."))
    weight = models.PositiveSmallIntegerField(_("weight"),
                                              default=1, validators=[MinValueValidator(1),
                                                                     MaxValueValidator(100)])
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["profile", "id"]
        verbose_name = _("ICP criterion")
        verbose_name_plural = _("ICP criteria")

    def __str__(self):
        return self.label

    @property
    def label(self):
        """The criterion as people read it: "Industry in Software, Finance", "Employees
        200–5,000", "Annual revenue ≥ 5,000,000 USD"."""
        if self.attribute in self.SET_ATTRIBUTES:
            values = ", ".join(str(value)[:1].upper() + str(value)[1:] for value in self.values)
            return f"{self.get_attribute_display()} {values}"
        name = RANGE_NAMES.get(self.attribute, self.attribute)
        amount = money if self.attribute == self.Attribute.ANNUAL_REVENUE else number
        if self.min_value is not None and self.max_value is not None:
            return f"{name} {number(self.min_value)}–{amount(self.max_value)}"
        if self.min_value is not None:
            return f"{name} ≥ {amount(self.min_value)}"
        if self.max_value is not None:
            return f"{name} ≤ {amount(self.max_value)}"
        return f"{name}: {gettext('any value')}"


class IntentSignal(models.Model):
    """A weekly intent score for one topic from one source (Bombora, G2, first party…)."""

    account = models.ForeignKey(Account, verbose_name=_("account"),
                                on_delete=models.CASCADE, related_name="intent_signals")
    topic = models.CharField(_("topic"), max_length=200)
    score = models.PositiveSmallIntegerField(_("score"), validators=SCORE_VALIDATORS)
    source = models.CharField(_("source"), max_length=50)
    week = models.DateField(_("week"), help_text=_("The Monday of the week observed."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("intent signal")
        verbose_name_plural = _("intent signals")
        ordering = ["-week", "topic", "id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "topic", "source", "week"],
                                    name="intent_signal_once_per_week"),
            models.CheckConstraint(condition=Q(score__lte=100), name="intent_score_0_100"),
        ]
        indexes = [models.Index(fields=["account", "week"])]

    def __str__(self):
        return f"{self.topic} {self.score} ({self.source}, {self.week})"


class EngagementKind(models.Model):
    """A kind of engagement and its weight. Weight 0 means not meaningful engagement."""

    key = models.SlugField(_("key"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    weight = models.PositiveSmallIntegerField(
        _("weight"), default=0, validators=[MaxValueValidator(100)],
        help_text=_("Points a fresh event adds to the engagement score; 0: not meaningful."),
    )

    class Meta:
        verbose_name = _("engagement kind")
        verbose_name_plural = _("engagement kinds")
        ordering = ["-weight", "key"]

    def __str__(self):
        return self.name

    @property
    def is_meaningful(self):
        return self.weight > 0


class EngagementEvent(models.Model):
    """Something an account did with us, matched to the account (never scored per lead)."""

    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.CASCADE,
                                related_name="engagement_events")
    contact = models.ForeignKey(Contact, verbose_name=_("contact"),
                                null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="engagement_events")
    kind = models.ForeignKey(EngagementKind, verbose_name=_("kind"),
                             on_delete=models.PROTECT, related_name="events")
    occurred_at = models.DateTimeField(_("occurred at"))
    source = models.CharField(_("source"),
                              max_length=100, blank=True, help_text=_("Source or campaign code."))
    external_id = models.CharField(_("external id"), max_length=200, null=True, blank=True)
    dedupe_key = models.CharField(
        _("deduplication key"), max_length=210, unique=True, editable=False,
        help_text=_("external_id when given, else a hash of account, kind, time, contact, source."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("engagement event")
        verbose_name_plural = _("engagement events")
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["account", "occurred_at"])]

    def __str__(self):
        return f"{self.kind_id} at {self.occurred_at:%Y-%m-%d %H:%M}"


class TierRule(models.Model):
    """Rules are tried in priority order; the first the account matches gives its tier."""

    class Requirement(models.TextChoices):
        YES = "yes", _("Yes")
        NO = "no", _("No")
        ANY = "any", _("Don't care")

    name = models.CharField(_("name"), max_length=200)
    tier = models.ForeignKey(Tier, verbose_name=_("tier"),
                             on_delete=models.CASCADE, related_name="rules")
    priority = models.PositiveIntegerField(_("priority"),
                                           default=100, help_text=_("Lower runs first."))
    min_fit = models.PositiveSmallIntegerField(_("minimum fit"),
                                               default=0, validators=SCORE_VALIDATORS)
    min_acv = models.DecimalField(_("minimum ACV"), max_digits=14, decimal_places=2, null=True,
                                  blank=True, help_text=_("Inclusive."))
    max_acv = models.DecimalField(_("maximum ACV"), max_digits=14, decimal_places=2, null=True,
                                  blank=True, help_text=_("Exclusive."))
    recent_intent = models.CharField(_("recent intent"), max_length=3, choices=Requirement.choices,
                                     default=Requirement.ANY)
    recent_engagement = models.CharField(_("recent engagement"),
                                         max_length=3, choices=Requirement.choices,
                                         default=Requirement.ANY)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("tier rule")
        verbose_name_plural = _("tier rules")
        ordering = ["priority", "id"]

    def __str__(self):
        return f"#{self.priority} {self.name} → Tier {self.tier.number}"

    def matches_q(self, prefix=""):
        """The rule as a filter on Account's stored scores."""
        q = Q(**{f"{prefix}fit_score__gte": self.min_fit})
        if self.min_acv is not None:
            q &= Q(**{f"{prefix}estimated_acv__gte": self.min_acv})
        if self.max_acv is not None:
            q &= Q(**{f"{prefix}estimated_acv__lt": self.max_acv})
        for requirement, field in ((self.recent_intent, "has_recent_intent"),
                                   (self.recent_engagement, "has_recent_engagement")):
            if requirement != self.Requirement.ANY:
                q &= Q(**{f"{prefix}{field}": requirement == self.Requirement.YES})
        return q


class TierAssignment(models.Model):
    """History: one row per change of an account's tier."""

    class Cause(models.TextChoices):
        RULES = "rules", _("Rules")
        OVERRIDE = "override", _("Manual override")
        UNLOCK = "unlock", _("Unlocked")

    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.CASCADE,
                                related_name="tier_assignments")
    old_tier = models.ForeignKey(Tier, verbose_name=_("old tier"),
                                 null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    new_tier = models.ForeignKey(Tier, verbose_name=_("new tier"),
                                 null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    rule = models.ForeignKey(TierRule, verbose_name=_("rule"),
                             null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="assignments")
    cause = models.CharField(_("cause"), max_length=10, choices=Cause.choices, default=Cause.RULES)
    reason = models.TextField(_("reason"))
    fit_score = models.PositiveSmallIntegerField(_("fit score"), default=0)
    intent_score = models.PositiveSmallIntegerField(_("intent score"), default=0)
    engagement_score = models.PositiveSmallIntegerField(_("engagement score"), default=0)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True,
                           on_delete=models.SET_NULL, help_text=_("Empty: the system."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("tier change")
        verbose_name_plural = _("tier history")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "-created_at"])]

    def __str__(self):
        def tier(value):
            return gettext("Tier %(number)s") % {"number": value.number} if value else \
                gettext("untiered")

        return f"{self.account}: {tier(self.old_tier)} → {tier(self.new_tier)}"


class PersonaReclassification(models.Model):
    """One row (pk 1): whether the persona rules changed since every contact was last
    reclassified. Set in the transaction that changes the rules, cleared by the task that
    reclassifies (`tiers.tasks.reclassify_personas`) if no change came meanwhile; so a task
    that could not be queued (the broker was down) is queued again by `manage.py redrive`."""

    requested_at = models.DateTimeField(
        _("requested at"),
        null=True, blank=True, help_text=_("When the rules last changed; empty: nothing pending."))
    queued_at = models.DateTimeField(
        _("queued at"),
        null=True, blank=True, help_text=_("When its task was last queued; empty: not queued."))

    class Meta:
        verbose_name = _("persona reclassification")
        verbose_name_plural = _("persona reclassifications")

    def __str__(self):
        return f"Persona reclassification (pending since {self.requested_at})" \
            if self.requested_at else "Persona reclassification (done)"


class RecomputeJob(Job):
    """A rescoring and retiering run, with readable progress: started by someone (the API,
    the admin, `manage.py recompute_tiers`), by the schedule, or by a change to accounts'
    data (an ingest of signals or events, an account edited), which rescores those accounts."""

    class Trigger(models.TextChoices):
        REQUEST = "request", _("Requested")
        SCHEDULE = "schedule", _("Scheduled")
        CHANGE = "change", _("Accounts' data changed")

    task = "tiers.tasks.run_recompute"

    trigger = models.CharField(_("trigger"),
                               max_length=10, choices=Trigger.choices, default=Trigger.REQUEST)
    account_ids = models.JSONField(_("accounts"), null=True, blank=True,
                                   help_text=_("The accounts to recompute; empty: all."))
    total = models.PositiveIntegerField(_("total"), null=True, blank=True)
    done = models.PositiveIntegerField(_("done"), default=0)
    result = models.JSONField(_("result"), default=dict, blank=True)

    class Meta(Job.Meta):
        verbose_name = _("recompute job")
        verbose_name_plural = _("recompute jobs")

    def __str__(self):
        return f"Recompute #{self.pk} ({self.status})"


class Segment(models.Model):
    """A saved, named filter over accounts (the account list's filters)."""

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    filters = models.JSONField(_("filters"), default=dict, blank=True,
                               help_text=_('The account list filters, e.g. {"tier": "1"}.'))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"),
                                   null=True, blank=True,
                                   on_delete=models.SET_NULL)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name", "id"]

    def __str__(self):
        return self.name


# How a missing buying role is said ("missing: a decision maker").
MISSING_ROLE_NAMES = {
    Contact.BuyingRole.DECISION_MAKER: _("a decision maker"),
    Contact.BuyingRole.CHAMPION: _("a champion"),
    Contact.BuyingRole.INFLUENCER: _("an influencer"),
    Contact.BuyingRole.USER: _("a user"),
    Contact.BuyingRole.BLOCKER: _("a blocker"),
    Contact.BuyingRole.OTHER: _("another contact"),
}


# Personas and buying committees ------------------------------------------------------------

class PersonaRule(models.Model):
    """A title keyword and the job function and/or seniority it means. A contact's title is
    matched against every active rule (whole words, case and punctuation ignored: "Sr. Dir."
    matches "sr" and "dir"); for each of function and seniority the matching rule with the
    lowest priority wins, then the one found earliest in the title. A match inside a longer
    one is ignored ("president" in "Vice President")."""

    keyword = models.CharField(_("keyword"), max_length=100,
                               help_text=_('A word or phrase, e.g. "vp", "head of", "cfo".'))
    job_function = models.CharField(_("job function"),
                                    max_length=20, choices=Contact.JobFunction.choices,
                                    blank=True, help_text=_("Empty: says nothing of the function."))
    seniority = models.CharField(_("seniority"),
                                 max_length=20, choices=Contact.Seniority.choices, blank=True,
                                 help_text=_("Empty: says nothing of the seniority."))
    priority = models.PositiveIntegerField(_("priority"), default=100, help_text=_("Lower wins."))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("persona rule")
        verbose_name_plural = _("persona rules")
        ordering = ["priority", "keyword", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(job_function="", seniority=""),
                                   name="persona_rule_says_something"),
        ]

    def __str__(self):
        meaning = " · ".join(filter(None, [self.get_job_function_display(),
                                           self.get_seniority_display()]))
        return f"#{self.priority} “{self.keyword}” → {meaning}"


class IcpPersona(models.Model):
    """Part of the ICP: a function × seniority the team sells to and its weight. A contact's
    fit is the highest weight of the active profile's personas it matches (empty function or
    seniority: any)."""

    profile = models.ForeignKey(IcpProfile, verbose_name=_("profile"),
                                on_delete=models.CASCADE, related_name="personas")
    job_function = models.CharField(_("job function"),
                                    max_length=20, choices=Contact.JobFunction.choices,
                                    blank=True, help_text=_("Empty: any function."))
    seniority = models.CharField(_("seniority"),
                                 max_length=20, choices=Contact.Seniority.choices, blank=True,
                                 help_text=_("Empty: any seniority."))
    weight = models.PositiveSmallIntegerField(
        _("weight"), default=100, validators=SCORE_VALIDATORS,
        help_text=_("The contact fit (0–100) of a contact with this persona."))

    class Meta:
        ordering = ["profile", "-weight", "id"]
        verbose_name = _("ICP persona")
        verbose_name_plural = _("ICP personas")
        constraints = [
            models.UniqueConstraint(fields=["profile", "job_function", "seniority"],
                                    name="icp_persona_once_per_profile"),
        ]

    def __str__(self):
        return (f"{self.get_job_function_display() or gettext('any function')} × "
                f"{self.get_seniority_display() or gettext('any seniority')} ({self.weight})")


class PersonaMultiplier(models.Model):
    """Engagement by contacts of this persona counts this many times (empty: any). With
    several matching, the highest applies; it compounds with the tier's multiplier."""

    job_function = models.CharField(_("job function"),
                                    max_length=20, choices=Contact.JobFunction.choices,
                                    blank=True, help_text=_("Empty: any function."))
    seniority = models.CharField(_("seniority"),
                                 max_length=20, choices=Contact.Seniority.choices, blank=True,
                                 help_text=_("Empty: any seniority."))
    multiplier = models.DecimalField(
        _("multiplier"), max_digits=5, decimal_places=2, default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))])

    class Meta:
        verbose_name = _("persona multiplier")
        verbose_name_plural = _("persona multipliers")
        ordering = ["-multiplier", "id"]
        constraints = [
            models.UniqueConstraint(fields=["job_function", "seniority"],
                                    name="persona_multiplier_once"),
        ]

    def __str__(self):
        return (f"{self.get_job_function_display() or gettext('any function')} × "
                f"{self.get_seniority_display() or gettext('any seniority')}: "
                f"×{self.multiplier}")


class CommitteeRole(models.Model):
    """A seat of a tier's required buying committee: how many contacts of a buying role an
    account of the tier should have."""

    tier = models.ForeignKey(Tier, verbose_name=_("tier"),
                             on_delete=models.CASCADE, related_name="committee")
    buying_role = models.CharField(_("buying role"),
                                   max_length=20, choices=Contact.BuyingRole.choices)
    count = models.PositiveSmallIntegerField(_("contacts needed"),
                                             default=1, validators=[MaxValueValidator(20)])

    class Meta:
        verbose_name = _("committee role")
        verbose_name_plural = _("committee roles")
        ordering = ["tier", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tier", "buying_role"],
                                    name="committee_role_once_per_tier"),
            models.CheckConstraint(condition=Q(count__lte=20), name="committee_count_0_20"),
        ]

    def __str__(self):
        return f"Tier {self.tier.number}: {self.count} × {self.get_buying_role_display()}"
