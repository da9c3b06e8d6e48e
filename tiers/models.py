from django.conf import settings
from django.db import models
from django.db.models.functions import Lower


class Technology(models.Model):
    """A product an account uses (technographics), e.g. Salesforce or an ERP."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "technologies"

    def __str__(self):
        return self.name


class Tier(models.Model):
    """A Goldilocks tier: 1 "just right", 2 "too big", 3 "too small"."""

    class EngagementModel(models.TextChoices):
        ONE_TO_ONE = "1:1", "1:1"
        ONE_TO_FEW = "1:few", "1:few"
        ONE_TO_MANY = "1:many", "1:many"

    number = models.PositiveSmallIntegerField(unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    engagement_model = models.CharField(
        max_length=10, choices=EngagementModel.choices, default=EngagementModel.ONE_TO_MANY
    )
    capacity = models.PositiveIntegerField(
        null=True, blank=True, help_text="Maximum number of accounts in this tier; empty: none."
    )

    class Meta:
        ordering = ["number"]

    def __str__(self):
        return f"Tier {self.number} – {self.name}"


class Account(models.Model):
    class FundingStage(models.TextChoices):
        BOOTSTRAPPED = "bootstrapped", "Bootstrapped"
        SEED = "seed", "Seed"
        SERIES_A = "series_a", "Series A"
        SERIES_B = "series_b", "Series B"
        SERIES_C_PLUS = "series_c_plus", "Series C+"
        PRIVATE_EQUITY = "private_equity", "Private equity"
        PUBLIC = "public", "Public"

    class Maturity(models.TextChoices):
        EMERGING = "emerging", "Emerging"
        DEVELOPING = "developing", "Developing"
        MATURE = "mature", "Mature"

    name = models.CharField(max_length=255)
    domain = models.CharField(
        max_length=255, unique=True, help_text="Normalised: lower case, no scheme, no www."
    )
    external_id = models.CharField(
        max_length=100, unique=True, null=True, blank=True, help_text="The id in the host CRM."
    )
    industry = models.CharField(max_length=100, blank=True, db_index=True)
    country = models.CharField(max_length=100, blank=True, db_index=True)
    region = models.CharField(max_length=100, blank=True)
    employees = models.PositiveIntegerField(null=True, blank=True)
    annual_revenue = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    funding_stage = models.CharField(max_length=20, choices=FundingStage.choices, blank=True)
    technologies = models.ManyToManyField(Technology, blank=True, related_name="accounts")
    customer_count = models.PositiveIntegerField(
        null=True, blank=True, help_text="Size of the account's own customer base."
    )
    maturity = models.CharField(max_length=20, choices=Maturity.choices, blank=True)
    estimated_acv = models.DecimalField(
        "estimated ACV", max_digits=14, decimal_places=2, null=True, blank=True
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_accounts",
        help_text="The sales rep who owns the account.",
    )
    is_customer = models.BooleanField(default=False)
    renewal_count = models.PositiveIntegerField(
        default=0, help_text="Renewal cycles completed as a customer."
    )
    # Scores and tier, kept current by the tiering services (issue: scoring and tiering).
    fit_score = models.PositiveSmallIntegerField(default=0, help_text="ICP fit, 0–100.")
    intent_score = models.PositiveSmallIntegerField(default=0, help_text="Intent, 0–100.")
    engagement_score = models.PositiveSmallIntegerField(
        default=0, help_text="Decayed, weighted engagement, 0–100."
    )
    surging_topics = models.JSONField(default=list, blank=True)
    has_recent_intent = models.BooleanField(default=False)
    has_recent_engagement = models.BooleanField(default=False)
    tier = models.ForeignKey(
        Tier, null=True, blank=True, on_delete=models.SET_NULL, related_name="accounts"
    )
    tier_locked = models.BooleanField(
        default=False, help_text="Set by a manual override: recomputation leaves the tier alone."
    )
    scored_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(Lower("name"), name="tiers_account_name_lower"),
            models.Index(fields=["owner", "name"]),
        ]

    def __str__(self):
        return self.name


class Contact(models.Model):
    class BuyingRole(models.TextChoices):
        DECISION_MAKER = "decision_maker", "Decision maker"
        CHAMPION = "champion", "Champion"
        INFLUENCER = "influencer", "Influencer"
        USER = "user", "User"
        BLOCKER = "blocker", "Blocker"
        OTHER = "other", "Other"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contacts")
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField()
    title = models.CharField(max_length=200, blank=True)
    buying_role = models.CharField(
        max_length=20, choices=BuyingRole.choices, default=BuyingRole.OTHER
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "email"], name="contact_email_per_account")
        ]

    def __str__(self):
        return self.full_name or self.email

    @property
    def full_name(self):
        return f"{self.first_name} {self.last_name}".strip()


class ImportJob(models.Model):
    """A CSV import run by a Celery task; progress and bad rows are readable while it runs."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=40)
    file = models.FileField(upload_to="imports/%Y/%m/")
    original_name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    rows_done = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True, help_text="Why the whole file failed, if it did.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Import #{self.pk} ({self.kind}, {self.status})"

    @property
    def progress(self):
        if not self.total_rows:
            return 1.0 if self.status == self.Status.DONE else 0.0
        return min(1.0, self.rows_done / self.total_rows)

