from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from . import selectors
from .domains import normalise_domain
from .models import Account, Contact, ImportJob, Tier

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
    customer_count = serializers.IntegerField(min_value=0, required=False, allow_null=True)
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
            "created_at", "updated_at",
        ]
        read_only_fields = ["id", "tier", "created_at", "updated_at"]

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
    class Meta:
        model = Tier
        fields = ["id", "number", "name", "description", "engagement_model", "capacity"]


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
        from .conf import app_settings

        if value.size > app_settings.IMPORT_MAX_BYTES:
            raise serializers.ValidationError(
                f"The file is {value.size // (1024 * 1024)} MB; the largest accepted is "
                f"{app_settings.IMPORT_MAX_BYTES // (1024 * 1024)} MB. Split it and upload "
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
