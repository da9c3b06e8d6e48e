"""The pipeline's serializers: rows as posted (one deal, a bulk list or CSV rows: the same
fields, validated by one reused serializer), deals as answered, moves, stages and the report
parameters. Stateless checks only: what depends on a deal's stored state (its stage, its
last change) is checked by the services."""

from datetime import date, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from abmcrm.core.conf import settings as core_conf
from abmcrm.core.ingest.rows import SparseRowsMixin
from funnel import selectors as funnel_selectors
from funnel.serializers import CampaignRefField
from tiers.models import Contact
from tiers.serializers.fields import AccountRefField

from . import conf, selectors
from .models import Channel, Opportunity, OpportunityContact, OpportunityStage

ROLES = Contact.BuyingRole
NEGATIVE = gettext_lazy("An amount can't be negative.")


def _ref(value):
    return str(value).strip().lower()


def _not_future(value):
    latest = timezone.now() + timedelta(hours=core_conf.ABMCRM_MAX_FUTURE_SKEW_HOURS)
    if value > latest:
        raise serializers.ValidationError(
            _("%(when)s is in the future; record it once it happened.")
            % {"when": value.isoformat()})
    return value


@extend_schema_field({"type": "string", "description": "A stage's slug or name (any case)."})
class StageRefField(serializers.Field):
    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int):
            raise serializers.ValidationError(_("Expected a stage's slug or name."))
        stages = self.context.get("stages_by_ref")
        if stages is None:
            stages = self.context["stages_by_ref"] = selectors.stages_by_ref()
        stage = stages.get(_ref(data))
        if stage is None:
            known = ", ".join(sorted({s.slug for s in stages.values()}))
            raise serializers.ValidationError(
                _("Unknown stage “%(ref)s”; expected one of: %(known)s.")
                % {"ref": data, "known": known})
        return stage

    def to_representation(self, value):
        return value.slug


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}], "nullable": True,
                      "description": "The owner's user id, username or e-mail."})
class OwnerRefField(serializers.Field):
    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int):
            raise serializers.ValidationError(_("Expected a user id, username or e-mail."))
        users = self.context.get("users_by_ref")
        if users is None:
            users = selectors.users_by_ref([data])
        user = users.get(_ref(data))
        if user is None:
            raise serializers.ValidationError(
                _("No user with id, username or e-mail “%(ref)s” (or several share that "
                  "e-mail: give the username).") % {"ref": data})
        return user

    def to_representation(self, value):
        return value.pk


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}], "nullable": True,
                      "description": "The lead's id, external_id or e-mail."})
class LeadRefField(serializers.Field):
    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int):
            raise serializers.ValidationError(_("Expected a lead id, external_id or e-mail."))
        leads = self.context.get("leads_by_ref")
        if leads is None:
            leads = funnel_selectors.leads_by_ref([data], only=("id", "email", "account_id"))
        lead = leads.get(_ref(data))
        if lead is None:
            raise serializers.ValidationError(
                _("No lead with id, external_id or e-mail “%(ref)s”.") % {"ref": data})
        return lead

    def to_representation(self, value):
        return value.pk


@extend_schema_field({
    "type": "array",
    "description": 'The buying committee: [{"contact": id or e-mail, "role": "champion"}]; '
                   'in CSV "email:role;email:role". The role defaults to the contact\'s own.',
    "items": {"type": "object", "properties": {
        "contact": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
        "role": {"type": "string", "enum": list(ROLES.values)}}},
})
class CommitteeField(serializers.Field):
    """The buying committee as given: [(contact ref, role or None)]. The contacts are looked
    up by the row serializer, which knows the deal's account."""

    def to_internal_value(self, data):
        if isinstance(data, str):  # a CSV cell not split yet
            data = [part for part in data.split(";") if part.strip()]
        if not isinstance(data, list):
            raise serializers.ValidationError(
                _('Expected a list of {"contact": id or e-mail, "role": …}.'))
        if len(data) > 100:
            raise serializers.ValidationError(_("At most 100 contacts per deal."))
        members = []
        for item in data:
            if isinstance(item, str):
                ref, _sep, role = item.rpartition(":") if ":" in item else (item, "", "")
                ref, role = ref.strip(), role.strip() or None
            elif isinstance(item, dict):
                ref, role = item.get("contact"), item.get("role")
            else:
                ref, role = item, None
            if isinstance(ref, bool) or not isinstance(ref, str | int) or not str(ref).strip():
                raise serializers.ValidationError(
                    _("Each member needs a contact (its id or e-mail)."))
            if role is not None and role not in ROLES.values:
                raise serializers.ValidationError(
                    _("“%(role)s” is not a buying role; expected one of: %(known)s.")
                    % {"role": role, "known": ", ".join(ROLES.values)})
            members.append((str(ref).strip(), role))
        return members

    def to_representation(self, value):
        return value


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}],
                      "description": "The account's id, external_id or domain."})
class DealAccountField(AccountRefField):
    pass


class OpportunityRowSerializer(serializers.Serializer):
    """One deal as posted, as a bulk item or as a CSV row. `context["instance"]` is the deal
    being changed (a PATCH), whose account the buying committee is checked against."""

    account = DealAccountField()
    name = serializers.CharField(max_length=255, required=False, allow_blank=True,
                                 help_text="Default: the account's name and the product.")
    external_id = serializers.CharField(max_length=100, required=False, allow_null=True,
                                        allow_blank=True, help_text="The deal's id in the CRM.")
    owner = OwnerRefField(required=False, allow_null=True)
    product = serializers.CharField(max_length=200, required=False, allow_blank=True)
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, required=False, allow_null=True,
        error_messages={"min_value": NEGATIVE})
    currency = serializers.CharField(min_length=3, max_length=3, required=False,
                                     help_text="ISO 4217; default ABMCRM_CURRENCY.")
    stage = StageRefField(required=False, help_text="Default: the first open stage.")
    opened_at = serializers.DateTimeField(required=False, help_text="Default: now.")
    close_date = serializers.DateField(required=False, allow_null=True,
                                       help_text="The expected close date.")
    closed_at = serializers.DateTimeField(
        required=False, allow_null=True,
        help_text="When it was won or lost (default: now); only for won or lost deals.")
    lost_reason = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    campaign = CampaignRefField(required=False, allow_null=True,
                                help_text="Campaign id, name or code.")
    channel = serializers.ChoiceField(Channel.choices, required=False, allow_blank=True)
    lead = LeadRefField(required=False, allow_null=True)
    contacts = CommitteeField(required=False)
    reopen = serializers.BooleanField(
        required=False, default=False,
        help_text="Needed to move a won or lost deal back to an open stage.")

    def validate_external_id(self, value):
        return (value or "").strip() or None

    def validate_currency(self, value):
        value = value.strip().upper()
        if not (value.isascii() and value.isalpha() and len(value) == 3):
            raise serializers.ValidationError(_("Expected a 3-letter currency code (ISO 4217)."))
        return value

    validate_opened_at = staticmethod(_not_future)

    def validate_closed_at(self, value):
        return None if value is None else _not_future(value)

    def validate(self, attrs):
        stage = attrs.get("stage")
        if stage is not None and not stage.is_closed and attrs.get("closed_at"):
            raise serializers.ValidationError({"closed_at": [
                _("Only a won or lost deal has a closed_at; “%(stage)s” is open.")
                % {"stage": stage.slug}]})
        if (attrs.get("opened_at") and attrs.get("closed_at")
                and attrs["closed_at"] < attrs["opened_at"]):
            raise serializers.ValidationError({"closed_at": [
                _("closed_at (%(closed)s) is before opened_at (%(opened)s).")
                % {"closed": attrs["closed_at"].isoformat(),
                   "opened": attrs["opened_at"].isoformat()}]})
        if stage is not None and stage.is_won and "amount" in attrs and attrs["amount"] is None:
            raise serializers.ValidationError({"amount": [
                _("A won deal needs an amount (its won revenue).")]})
        if attrs.get("reopen") and stage is not None and stage.is_closed:
            raise serializers.ValidationError({"reopen": [
                _("A reopen moves a won or lost deal back to an open stage, not to "
                  "“%(stage)s”.") % {"stage": stage.slug}]})
        if attrs.get("lead") is not None and attrs.get("account") is not None:
            lead = attrs["lead"]
            if lead.account_id is not None and lead.account_id != attrs["account"].pk:
                raise serializers.ValidationError({"lead": [
                    _("Lead %(lead)s belongs to another account.") % {"lead": lead.email}]})
        if "contacts" in attrs:
            instance = self.context.get("instance")
            account = attrs.get("account") or (instance.account if instance else None)
            attrs["contacts"] = self._committee(attrs["contacts"], account)
        return attrs

    def _committee(self, members, account):
        """[(contact ref, role)] → [(contact, role)], each a contact of the deal's account."""
        found = self.context.get("contacts_by_ref")
        if found is None:
            found = selectors.contacts_by_ref([ref for ref, _role in members])
        committee, seen = [], set()
        for ref, role in members:
            candidates = found.get(ref.lower(), [])
            contact = next((c for c in candidates if account and c.account_id == account.pk),
                           None)
            if contact is None:
                if candidates:
                    message = _("Contact “%(ref)s” is not a contact of %(account)s; a buying "
                                "committee is made of the deal's account's contacts.")
                else:
                    message = _("No contact with id or e-mail “%(ref)s”.")
                raise serializers.ValidationError({"contacts": [
                    message % {"ref": ref, "account": account.domain if account else "—"}]})
            if contact.pk in seen:
                raise serializers.ValidationError({"contacts": [
                    _("Contact “%(ref)s” is listed twice.") % {"ref": ref}]})
            seen.add(contact.pk)
            committee.append((contact, role or contact.buying_role))
        return committee


class OpportunityBulkRowSerializer(SparseRowsMixin, OpportunityRowSerializer):
    """A bulk or CSV item: upserted by its `external_id`, which it must carry. Validated by
    one serializer for a whole batch, visiting only the fields a row carries."""

    external_id = serializers.CharField(max_length=100,
                                        help_text="The deal's id in the CRM (the upsert key).")

    def validate_external_id(self, value):
        value = value.strip()
        if not value:
            raise serializers.ValidationError(_("This field may not be blank."))
        return value


class CommitteeMemberSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="contact.email", read_only=True)
    name = serializers.CharField(source="contact.full_name", read_only=True)

    class Meta:
        model = OpportunityContact
        fields = ["contact", "email", "name", "role"]
        read_only_fields = fields


class OpportunitySerializer(serializers.ModelSerializer):
    """A deal as answered."""

    stage = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    stage_name = serializers.CharField(source="stage.name", read_only=True)
    probability = serializers.IntegerField(source="stage.probability", read_only=True)
    weighted_amount = serializers.DecimalField(max_digits=16, decimal_places=2, read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True)
    contacts = CommitteeMemberSerializer(source="committee", many=True, read_only=True)

    class Meta:
        model = Opportunity
        fields = ["id", "account", "account_name", "name", "external_id", "owner", "product",
                  "amount", "currency", "stage", "stage_name", "probability", "status",
                  "weighted_amount", "opened_at", "close_date", "closed_at", "lost_reason",
                  "campaign", "channel", "lead", "contacts", "stage_changed_at", "version",
                  "created_at", "updated_at"]
        read_only_fields = fields


class MoveSerializer(serializers.Serializer):
    """`POST …/{id}/move/`."""

    stage = StageRefField()
    at = serializers.DateTimeField(required=False, help_text="When it moved; default: now.")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0,
                                      required=False, allow_null=True,
                                      error_messages={"min_value": NEGATIVE})
    lost_reason = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    reopen = serializers.BooleanField(required=False, default=False)

    validate_at = staticmethod(_not_future)


class StageChangeSerializer(serializers.Serializer):
    from_stage = serializers.CharField(source="from_stage.slug", allow_null=True, default=None)
    to_stage = serializers.CharField(source="to_stage.slug")
    at = serializers.DateTimeField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    is_reopen = serializers.BooleanField()
    by = serializers.IntegerField(source="by_id", allow_null=True)


class OpportunityStageSerializer(serializers.ModelSerializer):
    class Meta:
        model = OpportunityStage
        fields = ["id", "slug", "name", "position", "probability", "is_won", "is_lost"]

    def validate_slug(self, value):
        return value.strip().lower()

    def validate(self, attrs):
        instance = self.instance
        won = attrs.get("is_won", instance.is_won if instance else False)
        lost = attrs.get("is_lost", instance.is_lost if instance else False)
        if won and lost:
            raise serializers.ValidationError({"is_lost": [
                _("A stage is won or lost, not both.")]})
        if instance is not None and (won != instance.is_won or lost != instance.is_lost) \
                and instance.opportunities.exists():
            # Deals keep their status with their stage: a stage in use can't change kind.
            raise serializers.ValidationError({"is_won": [
                _("Deals are at this stage: it can't become (or stop being) a won or lost "
                  "stage. Add a new stage and move the deals instead.")]})
        probability = attrs.get("probability", instance.probability if instance else None)
        if probability is not None and probability > 100:
            raise serializers.ValidationError({"probability": [
                _("A probability is between 0 and 100.")]})
        names = selectors.stages_by_ref()
        for field in ("slug", "name"):
            value = attrs.get(field)
            clash = names.get(_ref(value)) if value else None
            if clash is not None and (instance is None or clash.pk != instance.pk):
                raise serializers.ValidationError({field: [
                    _("“%(value)s” already names the stage “%(stage)s”.")
                    % {"value": value, "stage": clash.slug}]})
        return attrs


# Report parameters -------------------------------------------------------------------------

def _in_range(value):
    # The reports count up to the day after `end`, which must exist.
    if value >= date.max - timedelta(days=1):
        raise serializers.ValidationError(_("Pick a date before 9999-12-31."))
    return value


class PeriodSerializer(serializers.Serializer):
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)

    validate_start = validate_end = staticmethod(_in_range)

    def validate(self, attrs):
        today = timezone.localdate()
        attrs.setdefault("end", today)
        attrs.setdefault("start", attrs["end"] - timedelta(
            days=conf.settings.ABMCRM_PIPELINE_DEFAULT_PERIOD_DAYS))
        if attrs["start"] > attrs["end"]:
            raise serializers.ValidationError({"end": [_("The end is before the start.")]})
        return attrs
