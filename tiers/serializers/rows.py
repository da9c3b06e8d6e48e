"""The rows of the bulk endpoints and CSV imports: one account, contact, intent signal or
engagement event, validated by the ingesters (`tiers.ingesters`). Stateless checks only; the
services match rows to what is stored."""

from datetime import timedelta

from rest_framework import serializers

from abmcrm.core.api.validators import not_in_future

from .. import selectors
from ..models import Account, Contact
from .fields import AccountOwnerField, AccountRefField, DomainField, TechnologiesField


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
    job_function = serializers.ChoiceField(
        Contact.JobFunction.choices, required=False, allow_blank=True,
        help_text="Sets the persona by hand; empty or left out: derived from the title.")
    seniority = serializers.ChoiceField(
        Contact.Seniority.choices, required=False, allow_blank=True,
        help_text="Sets the persona by hand; empty or left out: derived from the title.")
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
        value = value - timedelta(days=value.weekday())
        return not_in_future(value, what="The week")


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
        return not_in_future(value, what="The time")

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
