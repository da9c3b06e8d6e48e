
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from abmcrm.core.api.serializers import datetime_text, decimal_text
from abmcrm.core.api.validators import not_in_future
from tiers import selectors as tier_selectors

from . import selectors
from .models import Channel, Lead, PipelineQuota, Stage, StageTransition

SIDE_NAMES = {Stage.Side.ABM: gettext_lazy("ABM"),
              Stage.Side.DEMAND_GEN: gettext_lazy("demand-gen")}
THE_TIME = gettext_lazy("The time")
RECORD_ONCE_HAPPENED = gettext_lazy("Record a transition once it has happened.")



def _ref(value):
    return str(value).strip().lower()


class CampaignRefField(serializers.CharField):
    """A campaign by id, name or code."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        campaigns = self.context.get("campaigns_by_ref")
        if campaigns is None:
            campaigns = selectors.campaigns_by_ref([value])
        campaign = campaigns.get(_ref(value))
        if campaign is None:
            raise serializers.ValidationError(_("No campaign with id, name or code “%(value)s”.")
                                              % {"value": value})
        return campaign


class TransitionRowSerializer(serializers.Serializer):
    """One transition as posted to the API or read from a CSV row. Stateless checks only:
    the checks against the entity's current stage happen when the batch is applied."""

    account = serializers.CharField(max_length=255, required=False,
                                    help_text="Account id, external_id or domain.")
    lead = serializers.CharField(max_length=254, required=False,
                                 help_text="Lead id, external_id or e-mail.")
    to_stage = serializers.CharField(max_length=50, help_text="Stage slug.")
    from_stage = serializers.CharField(max_length=50, required=False, allow_null=True,
                                       help_text="Stage slug; refused unless it is current.")
    occurred_at = serializers.DateTimeField(
        required=False, help_text="When it happened; default: now. Not in the future.")
    channel = serializers.ChoiceField(Channel.choices, required=False, allow_blank=True)
    campaign = CampaignRefField(required=False, allow_null=True)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0,
                                      required=False, allow_null=True)
    external_id = serializers.CharField(max_length=100, required=False, allow_null=True,
                                        allow_blank=True)
    reopen = serializers.BooleanField(required=False, default=False,
                                      help_text="Explicitly reopen a won or lost entity.")

    def _stage(self, slug, field):
        stages = self.context.get("stages")
        if stages is None:
            stages = self.context["stages"] = selectors.stage_map()
        stage = stages.get(_ref(slug))
        if stage is None:
            raise serializers.ValidationError({field: [
                _("Unknown stage “%(stage)s”; expected one of: %(stages)s.")
                % {"stage": slug, "stages": ", ".join(stages)}]})
        return stage

    def validate_occurred_at(self, value):
        # A date in the future would block every real move of the entity after it. (Lazy
        # texts: translated only for a refusal, not once for each of 10,000 rows.)
        return not_in_future(value, what=THE_TIME, hint=RECORD_ONCE_HAPPENED)

    def validate(self, attrs):
        attrs.setdefault("occurred_at", timezone.now())
        account, lead = attrs.pop("account", None), attrs.pop("lead", None)
        if bool(account) == bool(lead):
            raise serializers.ValidationError({"non_field_errors": [
                _("Give exactly one of “account” (id, external_id or domain) or “lead” "
                  "(id, external_id or e-mail).")]})
        if account:
            accounts = self.context.get("accounts_by_ref")
            if accounts is None:
                accounts = tier_selectors.accounts_by_ref([account])
            attrs["account"] = accounts.get(_ref(account))
            if attrs["account"] is None:
                raise serializers.ValidationError({"account": [
                    _("No account with id, external_id or domain “%(value)s”.")
                    % {"value": account}]})
            side = Stage.Side.ABM
        else:
            leads = self.context.get("leads_by_ref")
            if leads is None:
                leads = selectors.leads_by_ref([lead])
            attrs["lead"] = leads.get(_ref(lead))
            if attrs["lead"] is None:
                raise serializers.ValidationError({"lead": [
                    _("No lead with id, external_id or e-mail “%(value)s”.") % {"value": lead}]})
            side = Stage.Side.DEMAND_GEN
        attrs["to_stage"] = self._stage(attrs["to_stage"], "to_stage")
        if attrs.get("from_stage"):
            attrs["from_stage"] = self._stage(attrs["from_stage"], "from_stage")
        else:
            attrs["from_stage"] = None
        for field in ("to_stage", "from_stage"):
            stage = attrs[field]
            if stage is not None and not stage.on_side(side):
                moves = (_("an account moves along the %(side)s side.")
                         if side == Stage.Side.ABM
                         else _("a lead moves along the %(side)s side.")) % {
                    "side": SIDE_NAMES[side]}
                raise serializers.ValidationError({field: [
                    _("“%(stage)s” belongs to the %(side)s side; %(moves)s")
                    % {"stage": stage.slug, "side": SIDE_NAMES[stage.side], "moves": moves}]})
        if attrs.get("amount") is not None and not attrs["to_stage"].takes_amount:
            raise serializers.ValidationError({"amount": [
                _("An amount is recorded only on moves to an opportunity or won stage.")]})
        if attrs["reopen"] and attrs["to_stage"].is_terminal:
            raise serializers.ValidationError({"reopen": [
                _("A reopen moves a won or lost entity back to an open stage, not to "
                  "“%(stage)s”.") % {"stage": attrs["to_stage"].slug}]})
        attrs["external_id"] = (attrs.get("external_id") or "").strip() or None
        attrs.setdefault("channel", "")
        attrs.setdefault("campaign", None)
        attrs.setdefault("amount", None)
        return attrs


class StageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Stage
        fields = ["id", "slug", "name", "side", "position", "is_won", "is_lost",
                  "is_opportunity", "is_handoff"]


class TransitionSerializer(serializers.ModelSerializer):
    from_stage = serializers.SlugRelatedField(slug_field="slug", read_only=True,
                                              allow_null=True)  # null: entered the funnel
    to_stage = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    # Declared: a read-only model field loses allow_blank, and "" (no channel) is common.
    channel = serializers.ChoiceField(Channel.choices, allow_blank=True, read_only=True)
    side = serializers.SerializerMethodField()

    class Meta:
        model = StageTransition
        fields = ["id", "account", "lead", "side", "from_stage", "to_stage", "occurred_at",
                  "channel", "campaign", "amount", "is_reopen", "recorded_by", "external_id",
                  "created_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(["abm", "demand_gen"]))
    def get_side(self, obj):
        return Stage.Side.ABM if obj.account_id else Stage.Side.DEMAND_GEN

    def to_representation(self, transition):
        """The fields DRF would produce, built by hand: transitions are listed 500 at a time,
        and DRF's per-field machinery was most of a list's time."""
        return {
            "id": transition.pk, "account": transition.account_id, "lead": transition.lead_id,
            "side": self.get_side(transition),
            "from_stage": transition.from_stage.slug if transition.from_stage_id else None,
            "to_stage": transition.to_stage.slug, "occurred_at":
                datetime_text(transition.occurred_at),
            "channel": transition.channel, "campaign": transition.campaign_id,
            "amount": decimal_text(transition.amount), "is_reopen": transition.is_reopen,
            "recorded_by": transition.recorded_by_id, "external_id": transition.external_id,
            "created_at": datetime_text(transition.created_at),
        }


class TransitionBatchResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.DictField())
    results = serializers.ListField(child=serializers.DictField())


class LeadRowSerializer(serializers.Serializer):
    """One lead as written by the bulk endpoint and the CSV import (upsert by e-mail)."""

    email = serializers.EmailField(max_length=254)
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    company = serializers.CharField(max_length=255, required=False, allow_blank=True)
    account = serializers.CharField(max_length=255, required=False, allow_null=True,
                                    help_text="Account id, external_id or domain; by default "
                                              "the account of the e-mail's domain.")
    channel = serializers.ChoiceField(Channel.choices, required=False, allow_blank=True)
    campaign = CampaignRefField(required=False, allow_null=True)
    created_at = serializers.DateTimeField(required=False)
    external_id = serializers.CharField(max_length=100, required=False, allow_null=True,
                                        allow_blank=True)

    def validate_email(self, value):
        return value.strip().lower()

    def validate_created_at(self, value):
        # The lead enters the funnel at this time: a time far ahead would block its moves.
        return not_in_future(value, what=_("The creation time"))

    def validate_account(self, value):
        if value in (None, ""):
            return None
        accounts = self.context.get("accounts_by_ref")
        if accounts is None:
            accounts = tier_selectors.accounts_by_ref([value])
        account = accounts.get(_ref(value))
        if account is None:
            raise serializers.ValidationError(
                _("No account with id, external_id or domain “%(value)s”.") % {"value": value})
        return account

    def validate_external_id(self, value):
        return (value or "").strip() or None


class LeadSerializer(serializers.ModelSerializer):
    stage = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    campaign = serializers.PrimaryKeyRelatedField(
        queryset=selectors.Campaign.objects.all(), required=False, allow_null=True)

    class Meta:
        model = Lead
        fields = ["id", "email", "first_name", "last_name", "company", "account",
                  "account_match", "account_match_score", "channel",
                  "campaign", "external_id", "created_at", "stage", "entered_at",
                  "stage_changed_at", "updated_at"]
        read_only_fields = ["id", "account_match", "account_match_score", "stage",
                            "entered_at", "stage_changed_at", "updated_at"]
        extra_kwargs = {"created_at": {"required": False},
                        "account": {"required": False, "allow_null": True}}

    def validate_created_at(self, value):
        # The lead enters the funnel at this time: a time far ahead would block its moves.
        return not_in_future(value, what=_("The creation time"))

    def validate_email(self, value):
        value = value.strip().lower()
        clash = Lead.objects.filter(email=value)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError(_("A lead with this e-mail already exists."))
        return value

    def validate_external_id(self, value):
        return (value or "").strip() or None


class PipelineQuotaSerializer(serializers.ModelSerializer):
    month = serializers.DateField(help_text="Any day of the month; stored as its first day.")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)

    class Meta:
        model = PipelineQuota
        fields = ["id", "month", "channel", "amount"]
        validators = []

    def validate_month(self, value):
        return value.replace(day=1)

    def validate(self, attrs):
        month = attrs.get("month") or (self.instance and self.instance.month)
        channel = attrs.get("channel") or (self.instance and self.instance.channel)
        clash = PipelineQuota.objects.filter(month=month, channel=channel)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError({"channel": [
                _("There is already a %(channel)s quota for %(month)s; change that one.")
                % {"channel": channel, "month": f"{month:%Y-%m}"}]})
        return attrs
