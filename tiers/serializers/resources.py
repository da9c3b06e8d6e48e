"""The API's resources: accounts, contacts, tiers and rules, ICP, signals, jobs, segments."""

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from rest_framework import serializers

from abmcrm.core.api.fields import IdField, StorableJSONField
from abmcrm.core.api.serializers import datetime_text, decimal_text

from ..filters import AccountFilter
from ..models import (
    Account,
    Contact,
    EngagementEvent,
    EngagementKind,
    IcpCriterion,
    IcpPersona,
    IcpProfile,
    IntentSignal,
    RecomputeJob,
    Segment,
    Tier,
    TierAssignment,
    TierRule,
)
from .fields import DomainField, TechnologiesField
from .rows import account_matches, match_account

User = get_user_model()


class AccountSerializer(serializers.ModelSerializer):
    domain = DomainField(max_length=255)
    technologies = TechnologiesField(required=False)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, allow_null=True
    )
    tier = serializers.SlugRelatedField(slug_field="number", read_only=True, allow_null=True)

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

    def to_representation(self, account):
        """The fields DRF would produce, built by hand: accounts are listed 500 at a time,
        and DRF's per-field machinery was most of a list's time."""
        return {
            "id": account.pk, "name": account.name, "domain": account.domain,
            "external_id": account.external_id, "industry": account.industry,
            "country": account.country, "region": account.region,
            "employees": account.employees,
            "annual_revenue": decimal_text(account.annual_revenue),
            "funding_stage": account.funding_stage,
            "technologies": [technology.name for technology in account.technologies.all()],
            "customer_count": account.customer_count, "maturity": account.maturity,
            "estimated_acv": decimal_text(account.estimated_acv), "owner": account.owner_id,
            "is_customer": account.is_customer, "renewal_count": account.renewal_count,
            "tier": account.tier.number if account.tier_id else None,
            "tier_locked": account.tier_locked, "fit_score": account.fit_score,
            "intent_score": account.intent_score, "engagement_score": account.engagement_score,
            "surging_topics": account.surging_topics,
            "has_recent_intent": account.has_recent_intent,
            "has_recent_engagement": account.has_recent_engagement,
            "scored_at": datetime_text(account.scored_at),
            "created_at": datetime_text(account.created_at),
            "updated_at": datetime_text(account.updated_at),
        }

    def validate_domain(self, value):
        clash = Account.objects.filter(domain=value)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError(_("An account with this domain already exists."))
        return value

    def validate_external_id(self, value):
        return value or None


class ContactSerializer(serializers.ModelSerializer):
    job_function = serializers.ChoiceField(
        Contact.JobFunction.choices, required=False,
        help_text="Derived from the title by the persona rules; sending it sets the persona by "
                  "hand (persona_overridden).")
    seniority = serializers.ChoiceField(
        Contact.Seniority.choices, required=False,
        help_text="Derived from the title by the persona rules; sending it sets the persona by "
                  "hand (persona_overridden).")
    persona_overridden = serializers.BooleanField(
        required=False, help_text="True: set by hand, the rules leave it alone; send false to "
                                  "hand the persona back to the rules.")
    company = serializers.CharField(
        max_length=255, required=False, allow_blank=True, write_only=True,
        help_text="The contact's company: when no account is given, a free-mail address is "
                  "matched to the account by company name (a company address by its domain).")

    class Meta:
        model = Contact
        fields = ["id", "account", "company", "account_match", "account_match_score",
                  "first_name", "last_name", "email", "title", "buying_role",
                  "job_function", "seniority", "persona_overridden", "contact_fit",
                  "address_line1", "address_line2", "city", "postal_code", "state", "country",
                  "created_at", "updated_at"]
        read_only_fields = ["id", "account_match", "account_match_score", "contact_fit",
                            "created_at", "updated_at"]
        extra_kwargs = {"account": {"required": False, "help_text": (
            "The account; left out on create: matched by the e-mail's domain, or by company "
            "for a free-mail address (account_match says how).")}}
        validators = []  # uniqueness is checked in validate(), with a message on the field

    def validate_email(self, value):
        return value.strip().lower()

    def validate(self, attrs):
        company = attrs.pop("company", "")
        if attrs.get("account") is not None:
            if self.instance is None or attrs["account"] != self.instance.account:
                attrs.update(account_match=Contact.AccountMatch.EXPLICIT,
                             account_match_score=None)
        elif self.instance is None:
            attrs.update(match_account(account_matches([(attrs["email"], company)]),
                                       attrs["email"], company))
        account = attrs.get("account") or (self.instance and self.instance.account)
        email = attrs.get("email") or (self.instance and self.instance.email)
        clash = Contact.objects.filter(account=account, email=email)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError(
                {"email": [_("This account already has a contact with this e-mail.")]}
            )
        return attrs


class TierSerializer(serializers.ModelSerializer):
    account_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Tier
        fields = ["id", "number", "name", "description", "engagement_model", "capacity",
                  "engagement_multiplier", "account_count"]


class TierCommitteeSerializer(serializers.Serializer):
    """A tier's required buying committee."""

    roles = serializers.DictField(
        child=serializers.IntegerField(min_value=0, max_value=20),
        help_text='Buying role → contacts required (0–20), e.g. {"decision_maker": 1, '
                  '"champion": 1, "influencer": 2}. Roles left out are not required.')

    def validate_roles(self, value):
        unknown = sorted(set(value) - set(Contact.BuyingRole.values))
        if unknown:
            raise serializers.ValidationError(
                f"Unknown buying role(s): {', '.join(unknown)}. Known: "
                f"{', '.join(Contact.BuyingRole.values)}.")
        return value


class IcpPersonaSerializer(serializers.ModelSerializer):
    class Meta:
        model = IcpPersona
        fields = ["id", "profile", "job_function", "seniority", "weight"]
        validators = []  # the pair is checked in validate(), with a message on the field

    def validate(self, attrs):
        profile = attrs.get("profile", getattr(self.instance, "profile", None))
        key = {name: attrs.get(name, getattr(self.instance, name, "")) for name in
               ("job_function", "seniority")}
        clash = IcpPersona.objects.filter(profile=profile, **key)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError({"seniority": [
                "This profile already has a persona with this function and seniority."]})
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
    values = StorableJSONField(required=False, help_text="For set attributes: the values "
                                                         "that match.")

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
                    _("“%(attribute)s” needs a non-empty list of values (strings).")
                    % {"attribute": attribute}]})
        elif low is None and high is None:
            raise serializers.ValidationError({"min_value": [
                _("“%(attribute)s” needs min_value, max_value or both.")
                % {"attribute": attribute}]})
        elif low is not None and high is not None and low > high:
            raise serializers.ValidationError({"max_value": [
                _("max_value must not be below min_value.")]})
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
                _("max_acv (exclusive) must be above min_acv.")]})
        return attrs


class TierAssignmentSerializer(serializers.ModelSerializer):
    # Null: untiered (old_tier: first placed; new_tier: taken out), by the system (by).
    old_tier = serializers.SlugRelatedField(slug_field="number", read_only=True, allow_null=True)
    new_tier = serializers.SlugRelatedField(slug_field="number", read_only=True, allow_null=True)
    by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

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
            raise serializers.ValidationError(_("No tier %(number)s.") % {"number": value})
        return tier


class TierUnlockSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class RecomputeJobSerializer(serializers.ModelSerializer):
    progress = serializers.FloatField(read_only=True)
    message = serializers.CharField(source="message_text", read_only=True)

    class Meta:
        model = RecomputeJob
        fields = ["id", "status", "trigger", "account_ids", "total", "done", "progress",
                  "result", "message", "attempts", "created_at", "started_at",
                  "finished_at"]
        read_only_fields = fields


class RecomputeStartSerializer(serializers.Serializer):
    accounts = serializers.ListField(child=IdField(),
                                     required=False, allow_null=True, max_length=100_000,
                                     help_text="Account ids; leave out to recompute all.")


class SegmentSerializer(serializers.ModelSerializer):
    account_count = serializers.IntegerField(read_only=True, allow_null=True)
    filters = StorableJSONField(required=False,
                                help_text='The account list filters, e.g. {"tier": "1"}.')

    class Meta:
        model = Segment
        fields = ["id", "name", "description", "filters", "account_count", "created_by",
                  "created_at", "updated_at"]
        read_only_fields = ["id", "account_count", "created_by", "created_at", "updated_at"]

    def validate_filters(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError(_("Expected an object of account list filters."))
        known = set(AccountFilter.base_filters) - {"ordering"}
        unknown = sorted(set(value) - known)
        if unknown:
            raise serializers.ValidationError(
                _("Unknown filter(s): %(unknown)s. Known: %(known)s.")
                % {"unknown": ", ".join(unknown), "known": ", ".join(sorted(known))}

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
    in_market_probability = serializers.FloatField(allow_null=True)
    buying_stage = serializers.ChoiceField(Account.BuyingStage.choices, allow_null=True)
    is_6qa = serializers.BooleanField()
    model_version = serializers.IntegerField(allow_null=True)
    contact_fit = serializers.IntegerField(help_text="The account's contact fit, 0–100.")
    coverage = serializers.IntegerField(
        allow_null=True,
        help_text="Share of the tier's required buying committee present, in percent; null: "
                  "not computed yet (then `missing_roles` is empty and says nothing).")
    missing_roles = serializers.ListField(child=serializers.CharField(),
                                         help_text="Buying roles the committee lacks.")
    explanation = serializers.DictField()
