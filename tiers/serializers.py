from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from . import selectors
from .domains import normalise_domain
from .models import (
    Account,
    Contact,
    EngagementEvent,
    EngagementKind,
    IcpCriterion,
    IcpProfile,
    ImportJob,
    IntentSignal,
    RecomputeJob,
    Segment,
    Tier,
    TierAssignment,
    TierRule,
)

User = get_user_model()


class DomainField(serializers.CharField):
    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            return normalise_domain(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc


class TechnologiesField(serializers.ListField):
    """A list of technology names; a string is split on ';' (as in CSV)."""

    child = serializers.CharField(max_length=100)

    def __init__(self, **kwargs):
        kwargs.setdefault("child", serializers.CharField(max_length=100))
        kwargs.setdefault("max_length", 100)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = [part for part in data.split(";")]
        names = super().to_internal_value(data)
        seen, result = set(), []
        for name in (n.strip() for n in names):
            if name and name.lower() not in seen:
                seen.add(name.lower())
                result.append(name)
        return result

    def to_representation(self, value):
        return [technology.name for technology in value.all()]


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}],
                      "description": "The owner's user id, or username."})
class AccountOwnerField(serializers.Field):
    """A user id; a username is accepted too (CSV exports name people, not ids)."""

    default_error_messages = {"unknown": "No user with id or username “{value}”."}

    def to_internal_value(self, data):
        users = self.context.get("users_by_ref")
        if users is None:
            users = selectors.users_by_ref([data])
        user = users.get(str(data).strip())
        if user is None:
            self.fail("unknown", value=data)
        return user

    def to_representation(self, value):
        return value.pk


class AccountRowSerializer(serializers.Serializer):
    """One account as written by the bulk endpoint and the CSV import."""

    name = serializers.CharField(max_length=255)
    domain = DomainField(max_length=255)
    external_id = serializers.CharField(max_length=100, required=False, allow_null=True)
    industry = serializers.CharField(max_length=100, required=False, allow_blank=True)
    country = serializers.CharField(max_length=100, required=False, allow_blank=True)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True)
    employees = serializers.IntegerField(min_value=0, max_value=10_000_000, required=False,
                                         allow_null=True)
    annual_revenue = serializers.DecimalField(max_digits=16, decimal_places=2, min_value=0,
                                              required=False, allow_null=True)
    funding_stage = serializers.ChoiceField(Account.FundingStage.choices, required=False,
                                            allow_blank=True)
    technologies = TechnologiesField(required=False)
    customer_count = serializers.IntegerField(min_value=0, max_value=2_147_483_647,
                                              required=False, allow_null=True)
    maturity = serializers.ChoiceField(Account.Maturity.choices, required=False, allow_blank=True)
    estimated_acv = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0,
                                             required=False, allow_null=True)
    owner = AccountOwnerField(required=False, allow_null=True)
    is_customer = serializers.BooleanField(required=False)
    renewal_count = serializers.IntegerField(min_value=0, max_value=1000, required=False)


class ContactRowSerializer(serializers.Serializer):
    account = serializers.CharField(max_length=255)
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    email = serializers.EmailField(max_length=254)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    buying_role = serializers.ChoiceField(Contact.BuyingRole.choices, required=False)
    address_line1 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    address_line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True)
    state = serializers.CharField(max_length=100, required=False, allow_blank=True)
    country = serializers.CharField(max_length=100, required=False, allow_blank=True)

    def validate_account(self, value):
        accounts = self.context.get("accounts_by_ref")
        if accounts is None:
            accounts = selectors.accounts_by_ref([value])
        account = accounts.get(str(value).strip().lower())
        if account is None:
            raise serializers.ValidationError(
                f"No account with id, external_id or domain “{value}”."
            )
        return account

    def validate_email(self, value):
        return value.strip().lower()


class AccountSerializer(serializers.ModelSerializer):
    domain = DomainField(max_length=255)
    technologies = TechnologiesField(required=False)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, allow_null=True
    )
    tier = serializers.SlugRelatedField(slug_field="number", read_only=True)

    class Meta:
        model = Account
        fields = [
            "id", "name", "domain", "external_id", "industry", "country", "region",
            "employees", "annual_revenue", "funding_stage", "technologies", "customer_count",
            "maturity", "estimated_acv", "owner", "is_customer", "renewal_count", "tier",
            "tier_locked", "fit_score", "intent_score", "engagement_score", "surging_topics",
            "has_recent_intent", "has_recent_engagement", "scored_at",
            "created_at", "updated_at",
        ]
        read_only_fields = ["id", "tier", "tier_locked", "fit_score", "intent_score",
                            "engagement_score", "surging_topics", "has_recent_intent",
                            "has_recent_engagement", "scored_at", "created_at", "updated_at"]

    def validate_domain(self, value):
        clash = Account.objects.filter(domain=value)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError("An account with this domain already exists.")
        return value

    def validate_external_id(self, value):
        return value or None


class ContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = ["id", "account", "first_name", "last_name", "email", "title", "buying_role",
                  "address_line1", "address_line2", "city", "postal_code", "state", "country",
                  "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators = []  # uniqueness is checked in validate(), with a message on the field

    def validate_email(self, value):
        return value.strip().lower()

    def validate(self, attrs):
        account = attrs.get("account") or (self.instance and self.instance.account)
        email = attrs.get("email") or (self.instance and self.instance.email)
        clash = Contact.objects.filter(account=account, email=email)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError(
                {"email": ["This account already has a contact with this e-mail."]}
            )
        return attrs


class TierSerializer(serializers.ModelSerializer):
    account_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Tier
        fields = ["id", "number", "name", "description", "engagement_model", "capacity",
                  "account_count"]


class ImportJobSerializer(serializers.ModelSerializer):
    progress = serializers.FloatField(read_only=True)

    class Meta:
        model = ImportJob
        fields = [
            "id", "kind", "original_name", "status", "total_rows", "rows_done", "progress",
            "created", "updated", "error_count", "errors", "message", "created_at",
            "started_at", "finished_at",
        ]
        read_only_fields = fields


class ImportCreateSerializer(serializers.Serializer):
    kind = serializers.CharField()
    file = serializers.FileField()

    def validate_kind(self, value):
        from . import ingest

        if ingest.get_ingester(value) is None:
            raise serializers.ValidationError(
                f"Unknown kind “{value}”; expected one of: {', '.join(ingest.kinds())}."
            )
        return value

    def validate_file(self, value):
        from .conf import settings

        if value.size > settings.ABMCRM_IMPORT_MAX_BYTES:
            raise serializers.ValidationError(
                f"The file is {value.size // (1024 * 1024)} MB; the largest accepted is "
                f"{settings.ABMCRM_IMPORT_MAX_BYTES // (1024 * 1024)} MB. Split it and upload "
                "the parts."
            )
        if value.size == 0:
            raise serializers.ValidationError(
                "The file is empty: the first line must name the columns."
            )
        return value


class BulkResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.DictField())


# Scoring and tiering -----------------------------------------------------------------------

class AccountRefField(serializers.Field):
    """An account by id, external_id or domain (looked up in bulk by the ingester)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int):
            raise serializers.ValidationError("Expected an account id, external_id or domain.")
        value = str(data).strip()
        if not value or len(value) > 255:
            raise serializers.ValidationError("Expected an account id, external_id or domain.")
        accounts = self.context.get("accounts_by_ref")
        if accounts is None:
            accounts = selectors.accounts_by_ref([value], only=("id", "domain", "external_id"))
        account = accounts.get(value.strip().lower())
        if account is None:
            raise serializers.ValidationError(
                f"No account with id, external_id or domain “{value}”."
            )
        return account

    def to_representation(self, value):
        return value.pk


def _not_in_future(value, *, what):
    from datetime import datetime, timedelta

    from django.utils import timezone

    from .conf import settings as conf

    skew = timedelta(hours=conf.ABMCRM_MAX_FUTURE_SKEW_HOURS)
    now = timezone.now()
    if isinstance(value, datetime):
        if value > now + skew:
            raise serializers.ValidationError(
                f"{what} {value.isoformat()} is in the future; at most "
                f"{conf.ABMCRM_MAX_FUTURE_SKEW_HOURS} hours ahead is accepted."
            )
    elif value > timezone.localdate(now) + skew:
        raise serializers.ValidationError(f"{what} {value.isoformat()} is in the future.")
    return value


class IntentSignalRowSerializer(serializers.Serializer):
    account = AccountRefField()
    topic = serializers.CharField(max_length=200)
    score = serializers.IntegerField(min_value=0, max_value=100)
    source = serializers.CharField(max_length=50)
    week = serializers.DateField(help_text="The Monday of the week (another day of the week is "
                                           "moved to its Monday).")

    def validate_source(self, value):
        return value.strip().lower()

    def validate_week(self, value):
        from datetime import timedelta

        value = value - timedelta(days=value.weekday())
        return _not_in_future(value, what="The week")


class EngagementEventRowSerializer(serializers.Serializer):
    account = AccountRefField()
    contact = serializers.CharField(max_length=254, required=False, allow_null=True,
                                    allow_blank=True, help_text="A contact id or e-mail.")
    kind = serializers.CharField(max_length=50)
    occurred_at = serializers.DateTimeField()
    source = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    external_id = serializers.CharField(max_length=200, required=False, allow_null=True,
                                        allow_blank=True)

    def validate_kind(self, value):
        kinds = self.context.get("kinds")
        if kinds is None:
            kinds = selectors.engagement_kinds_by_key()
        kind = kinds.get(value.strip().lower())
        if kind is None:
            raise serializers.ValidationError(
                f"Unknown kind “{value}”; expected one of: {', '.join(sorted(kinds))}."
            )
        return kind

    def validate_occurred_at(self, value):
        return _not_in_future(value, what="The time")

    def validate_external_id(self, value):
        return (value or "").strip() or None

    def validate(self, attrs):
        ref = (attrs.get("contact") or "").strip()
        attrs["contact"] = None
        if ref:
            contacts = self.context.get("contacts_by_ref")
            if contacts is None:
                contacts = selectors.contacts_by_ref([ref])
            contact = contacts.get((attrs["account"].pk, ref.lower()))
            if contact is None:
                raise serializers.ValidationError({"contact": [
                    f"No contact “{ref}” (id or e-mail) on account {attrs['account'].domain}."
                ]})
            attrs["contact"] = contact
        return attrs


class IntentSignalSerializer(serializers.ModelSerializer):
    class Meta:
        model = IntentSignal
        fields = ["id", "account", "topic", "score", "source", "week", "created_at",
                  "updated_at"]
        read_only_fields = fields


class EngagementEventSerializer(serializers.ModelSerializer):
    kind = serializers.SlugRelatedField(slug_field="key", read_only=True)

    class Meta:
        model = EngagementEvent
        fields = ["id", "account", "contact", "kind", "occurred_at", "source", "external_id",
                  "created_at"]
        read_only_fields = fields


class EngagementKindSerializer(serializers.ModelSerializer):
    is_meaningful = serializers.BooleanField(read_only=True)

    class Meta:
        model = EngagementKind
        fields = ["id", "key", "name", "weight", "is_meaningful"]


class IcpCriterionSerializer(serializers.ModelSerializer):
    label = serializers.CharField(read_only=True)

    class Meta:
        model = IcpCriterion
        fields = ["id", "profile", "attribute", "values", "min_value", "max_value", "weight",
                  "label"]

    def validate(self, attrs):
        attribute = attrs.get("attribute", getattr(self.instance, "attribute", None))
        values = attrs.get("values", getattr(self.instance, "values", []))
        low = attrs.get("min_value", getattr(self.instance, "min_value", None))
        high = attrs.get("max_value", getattr(self.instance, "max_value", None))
        if attribute in IcpCriterion.SET_ATTRIBUTES:
            if not isinstance(values, list) or not values or not all(
                isinstance(v, str) and v.strip() for v in values
            ):
                raise serializers.ValidationError({"values": [
                    f"“{attribute}” needs a non-empty list of values (strings)."]})
        elif low is None and high is None:
            raise serializers.ValidationError({"min_value": [
                f"“{attribute}” needs min_value, max_value or both."]})
        elif low is not None and high is not None and low > high:
            raise serializers.ValidationError({"max_value": [
                "max_value must not be below min_value."]})
        return attrs


class IcpProfileSerializer(serializers.ModelSerializer):
    criteria = IcpCriterionSerializer(many=True, read_only=True)
    is_active = serializers.BooleanField(required=False, default=False)

    class Meta:
        model = IcpProfile
        fields = ["id", "name", "description", "is_active", "criteria", "created_at",
                  "updated_at"]
        read_only_fields = ["id", "criteria", "created_at", "updated_at"]
        validators = []  # activating one profile deactivates the others (the service)


class IcpSuggestionSerializer(serializers.Serializer):
    attribute = serializers.CharField()
    value = serializers.CharField()
    label = serializers.CharField()
    min_value = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    max_value = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    customers = serializers.IntegerField(help_text="Customers with 2+ renewals having it.")
    customers_share = serializers.FloatField()
    others = serializers.IntegerField(help_text="Other accounts having it.")
    others_share = serializers.FloatField()
    lift = serializers.FloatField(allow_null=True,
                                  help_text="customers_share ÷ others_share; null: no other "
                                            "account has it.")


class IcpSuggestionApplySerializer(serializers.Serializer):
    attribute = serializers.CharField()
    value = serializers.CharField(max_length=200)
    weight = serializers.IntegerField(min_value=1, max_value=100, default=1)


class TierRuleSerializer(serializers.ModelSerializer):
    tier = serializers.SlugRelatedField(slug_field="number", queryset=Tier.objects.all())

    class Meta:
        model = TierRule
        fields = ["id", "name", "tier", "priority", "min_fit", "min_acv", "max_acv",
                  "recent_intent", "recent_engagement", "is_active"]

    def validate(self, attrs):
        low = attrs.get("min_acv", getattr(self.instance, "min_acv", None))
        high = attrs.get("max_acv", getattr(self.instance, "max_acv", None))
        if low is not None and high is not None and low >= high:
            raise serializers.ValidationError({"max_acv": [
                "max_acv (exclusive) must be above min_acv."]})
        return attrs


class TierAssignmentSerializer(serializers.ModelSerializer):
    old_tier = serializers.SlugRelatedField(slug_field="number", read_only=True)
    new_tier = serializers.SlugRelatedField(slug_field="number", read_only=True)
    by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = TierAssignment
        fields = ["id", "account", "old_tier", "new_tier", "rule", "cause", "reason",
                  "fit_score", "intent_score", "engagement_score", "by", "created_at"]
        read_only_fields = fields


class TierOverrideSerializer(serializers.Serializer):
    tier = serializers.IntegerField(allow_null=True, help_text="1, 2, 3… or null: untiered.")
    reason = serializers.CharField(max_length=2000)

    def validate_tier(self, value):
        if value is None:
            return None
        tier = Tier.objects.filter(number=value).first()
        if tier is None:
            raise serializers.ValidationError(f"No tier {value}.")
        return tier


class TierUnlockSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class RecomputeJobSerializer(serializers.ModelSerializer):
    progress = serializers.FloatField(read_only=True)

    class Meta:
        model = RecomputeJob
        fields = ["id", "status", "account_ids", "total", "done", "progress", "result",
                  "message", "created_at", "started_at", "finished_at"]
        read_only_fields = fields


class RecomputeStartSerializer(serializers.Serializer):
    accounts = serializers.ListField(child=serializers.IntegerField(min_value=1),
                                     required=False, allow_null=True, max_length=100_000,
                                     help_text="Account ids; leave out to recompute all.")


class SegmentSerializer(serializers.ModelSerializer):
    account_count = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Segment
        fields = ["id", "name", "description", "filters", "account_count", "created_by",
                  "created_at", "updated_at"]
        read_only_fields = ["id", "account_count", "created_by", "created_at", "updated_at"]

    def validate_filters(self, value):
        from .filters import AccountFilter

        if not isinstance(value, dict):
            raise serializers.ValidationError("Expected an object of account list filters.")
        known = set(AccountFilter.base_filters) - {"ordering"}
        unknown = sorted(set(value) - known)
        if unknown:
            raise serializers.ValidationError(
                f"Unknown filter(s): {', '.join(unknown)}. Known: {', '.join(sorted(known))}."
            )
        data = {key: "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
                for key, v in value.items()}
        filterset = AccountFilter(data, queryset=Account.objects.none())
        if not filterset.is_valid():
            raise serializers.ValidationError(
                {key: [str(m) for m in messages] for key, messages in
                 filterset.errors.items()})
        return data


class AccountScoresSerializer(serializers.Serializer):
    """The shape of GET /api/v1/accounts/{id}/scores/ (documentation)."""

    account = serializers.IntegerField()
    fit_score = serializers.IntegerField()
    intent_score = serializers.IntegerField()
    engagement_score = serializers.IntegerField()
    surging_topics = serializers.ListField(child=serializers.CharField())
    has_recent_intent = serializers.BooleanField()
    has_recent_engagement = serializers.BooleanField()
    tier = serializers.IntegerField(allow_null=True)
    tier_locked = serializers.BooleanField()
    tier_rule = serializers.DictField(allow_null=True)
    scored_at = serializers.DateTimeField(allow_null=True)
    explanation = serializers.DictField()
