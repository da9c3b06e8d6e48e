from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from abmcrm.core.api.fields import IdField
from tiers.models import Account, Contact, Tier

from .models import Budget, Campaign, OrderEvent, ProgramItem, ProgramOrder

User = get_user_model()
MONEY = {"max_digits": 12, "decimal_places": 2, "min_value": 0}
_DATETIME = serializers.DateTimeField()


class CampaignSerializer(serializers.ModelSerializer):
    fixed_cost = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0,
                                          required=False)
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), required=False,
                                               allow_null=True)

    class Meta:
        model = Campaign
        fields = ["id", "name", "code", "channel", "start_date", "end_date", "fixed_cost",
                  "owner", "created_at"]
        read_only_fields = ["id", "created_at"]

    def validate(self, attrs):
        start = attrs.get("start_date", getattr(self.instance, "start_date", None))
        end = attrs.get("end_date", getattr(self.instance, "end_date", None))
        if start and end and end < start:
            raise serializers.ValidationError({"end_date": [_("Ends before it starts.")]})
        return attrs


class TierNumbersField(serializers.ListField):
    """The tiers whose menu the item is on, as tier numbers: [1, 2]."""

    # A tier number is a small integer; a larger one is a field error, not an overflow.
    child = serializers.IntegerField(min_value=1, max_value=32767)

    def to_internal_value(self, data):
        numbers = super().to_internal_value(data)
        tiers = {tier.number: tier for tier in Tier.objects.filter(number__in=numbers)}
        unknown = sorted(set(numbers) - set(tiers))
        if unknown:
            raise serializers.ValidationError(
                _("No tier number %(numbers)s.") % {"numbers": ", ".join(map(str, unknown))})
        return [tiers[number] for number in dict.fromkeys(numbers)]

    def to_representation(self, value):
        return sorted(entry.tier.number for entry in value.all())


class ProgramItemSerializer(serializers.ModelSerializer):
    campaign = serializers.PrimaryKeyRelatedField(queryset=Campaign.objects.all())
    unit_cost = serializers.DecimalField(**MONEY)
    auto_approve_up_to = serializers.DecimalField(**MONEY, required=False, allow_null=True)
    tiers = TierNumbersField(source="menu_entries", required=False)
    order_count = serializers.IntegerField(read_only=True, default=0)
    # The field's name before the one spelling (fulfillment): still read and written.
    fulfilment_method = serializers.CharField(
        source="fulfillment_method", max_length=50, required=False,
        help_text="Deprecated: the same as fulfillment_method.")

    class Meta:
        model = ProgramItem
        fields = [
            "id", "name", "kind", "description", "campaign", "unit_cost", "currency",
            "lead_time_days", "tiers", "is_active", "active_from", "active_until",
            "auto_approve_up_to", "limit_per_account", "limit_period", "needs_contact",
            "fulfillment_method", "fulfilment_method", "order_count", "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "order_count", "created_at", "updated_at"]

    def validate_currency(self, value):
        value = value.strip().upper()
        if len(value) != 3 or not value.isalpha():
            raise serializers.ValidationError(_("A three-letter ISO 4217 code, e.g. USD."))
        return value

    def validate(self, attrs):
        start = attrs.get("active_from", getattr(self.instance, "active_from", None))
        end = attrs.get("active_until", getattr(self.instance, "active_until", None))
        if start and end and end < start:
            raise serializers.ValidationError(
                {"active_until": [_("The active window ends before it starts.")]})
        return attrs


class OrderEventSerializer(serializers.ModelSerializer):
    by = serializers.SerializerMethodField()

    class Meta:
        model = OrderEvent
        fields = ["from_status", "to_status", "by", "note", "at"]

    def get_by(self, event) -> str | None:
        return event.by.get_username() if event.by else None


class ProgramOrderSerializer(serializers.ModelSerializer):
    account_name = serializers.CharField(source="account.name", read_only=True)
    item_name = serializers.CharField(source="item.name", read_only=True)
    kind = serializers.CharField(source="item.kind", read_only=True)
    campaign = serializers.IntegerField(source="item.campaign_id", read_only=True)
    tier = serializers.SlugRelatedField(slug_field="number", read_only=True, allow_null=True)
    requested_by_name = serializers.CharField(source="requested_by.username", read_only=True)
    events = OrderEventSerializer(many=True, read_only=True)

    class Meta:
        model = ProgramOrder
        fields = [
            "id", "account", "account_name", "item", "item_name", "kind", "campaign", "tier",
            "contact", "note", "cost", "currency", "status", "requested_by",
            "requested_by_name", "assignee", "approved_at", "due_at", "closed_at", "reason",
            "external_reference", "created_at", "updated_at", "events",
        ]
        read_only_fields = fields

    def to_representation(self, order):
        """The same fields DRF would produce, built by hand: orders are listed 500 at a
        time and returned by every POST, and DRF's generic field machinery dominated.
        Reads an order loaded as a list row (`selectors.order_rows`: its related values
        annotated, its history attached as `event_rows`) or with its related objects."""
        when = _DATETIME.to_representation
        row = order.__dict__
        if "row_account_name" in row:
            account_name, item_name, kind = (row["row_account_name"], row["row_item_name"],
                                             row["row_item_kind"])
            campaign, tier, requested_by_name = (row["row_campaign"], row["row_tier_number"],
                                                 row["row_requested_by_name"])
        else:
            account_name, item_name, kind = order.account.name, order.item.name, order.item.kind
            campaign = order.item.campaign_id
            tier = order.tier.number if order.tier_id else None
            requested_by_name = order.requested_by.username
        if "event_rows" in row:
            events = [{**event, "at": when(event["at"])} for event in row["event_rows"]]
        else:
            events = [{
                "from_status": event.from_status, "to_status": event.to_status,
                "by": event.by.get_username() if event.by_id else None, "note": event.note,
                "at": when(event.at),
            } for event in order.events.all()]
        return {
            "id": order.pk, "account": order.account_id, "account_name": account_name,
            "item": order.item_id, "item_name": item_name, "kind": kind,
            "campaign": campaign, "tier": tier,
            "contact": order.contact_id, "note": order.note, "cost": f"{order.cost:.2f}",
            "currency": order.currency, "status": order.status,
            "requested_by": order.requested_by_id, "requested_by_name": requested_by_name,
            "assignee": order.assignee_id, "approved_at": when(order.approved_at),
            "due_at": when(order.due_at), "closed_at": when(order.closed_at),
            "reason": order.reason, "external_reference": order.external_reference,
            "created_at": when(order.created_at), "updated_at": when(order.updated_at),
            "events": events,
        }


class OrderCreateSerializer(serializers.Serializer):
    account = serializers.PrimaryKeyRelatedField(queryset=Account.objects.all())
    items = serializers.ListField(child=IdField(),
                                  allow_empty=False, max_length=100)
    contact = serializers.PrimaryKeyRelatedField(
        queryset=Contact.objects.all(), required=False, allow_null=True,
        help_text="The recipient of every item that needs one and has none in `contacts`.")
    contacts = serializers.DictField(
        child=serializers.PrimaryKeyRelatedField(queryset=Contact.objects.all()),
        required=False, default=dict,
        help_text='Per-item recipients: {"<item id>": <contact id>}. An item that needs no '
                  "recipient gets a contact only when named here.")
    note = serializers.CharField(required=False, allow_blank=True, max_length=5000,
                                 default="")

    def validate_contacts(self, value):
        mapped = {}
        for key, contact in value.items():
            if not str(key).isdigit() or int(key) < 1:
                raise serializers.ValidationError(
                    _("“%(key)s” is not an item id: the keys are the ids of ordered items.")
                    % {"key": key})
            mapped[int(key)] = contact
        return mapped


class OrderApproveSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class OrderRejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=5000)


class OrderCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="",
                                   max_length=5000)


class MenuLineSerializer(serializers.Serializer):
    """One line of an account's menu (built from `selectors.MenuLine`)."""

    id = serializers.IntegerField(source="item.pk")
    name = serializers.CharField(source="item.name")
    kind = serializers.CharField(source="item.kind")
    description = serializers.CharField(source="item.description")
    campaign = serializers.IntegerField(source="item.campaign_id")
    campaign_name = serializers.CharField(source="item.campaign.name")
    position = serializers.IntegerField()
    cost = serializers.DecimalField(source="item.unit_cost", max_digits=12, decimal_places=2)
    currency = serializers.CharField(source="item.currency")
    lead_time_days = serializers.IntegerField(source="item.lead_time_days")
    needs_contact = serializers.BooleanField(source="item.needs_contact")
    auto_approve_up_to = serializers.DecimalField(source="item.auto_approve_up_to",
                                                  max_digits=12, decimal_places=2,
                                                  allow_null=True)
    limit_per_account = serializers.IntegerField(source="item.limit_per_account",
                                                 allow_null=True)
    limit_period = serializers.CharField(source="item.limit_period")
    ordered_in_period = serializers.IntegerField()
    can_order = serializers.BooleanField()
    reason = serializers.CharField()
    reason_code = serializers.CharField()
    budget_remaining = serializers.DecimalField(max_digits=14, decimal_places=2,
                                                allow_null=True)
    budget_name = serializers.CharField()
    suggested = serializers.SerializerMethodField(
        help_text="Suggested for this account by an app above programs, e.g. a play: "
                  '{"play": id, "reason": "…"}; null when not suggested.')

    @extend_schema_field({"type": "object", "nullable": True, "additionalProperties": True})
    def get_suggested(self, line):
        return line.suggestion.as_api() if line.suggestion is not None else None


class BudgetSerializer(serializers.ModelSerializer):
    tier = serializers.SlugRelatedField(slug_field="number", queryset=Tier.objects.all(),
                                        required=False, allow_null=True)
    item = serializers.PrimaryKeyRelatedField(queryset=ProgramItem.objects.all(),
                                              required=False, allow_null=True)
    campaign = serializers.PrimaryKeyRelatedField(queryset=Campaign.objects.all(),
                                                  required=False, allow_null=True)
    limit = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    remaining = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)

    class Meta:
        model = Budget
        fields = ["id", "name", "start_date", "end_date", "scope", "tier", "item", "campaign",
                  "limit", "committed", "spent", "remaining", "created_at"]
        read_only_fields = ["id", "committed", "spent", "remaining", "created_at"]

    def validate(self, attrs):
        def get(name):
            return attrs.get(name, getattr(self.instance, name, None))

        errors = {}
        if get("start_date") and get("end_date") and get("end_date") < get("start_date"):
            errors["end_date"] = [_("The period ends before it starts.")]
        scope = get("scope") or Budget.Scope.ALL
        targets = {"tier": Budget.Scope.TIER, "item": Budget.Scope.ITEM,
                   "campaign": Budget.Scope.CAMPAIGN}
        for name, needs in targets.items():
            if scope == needs and get(name) is None:
                errors[name] = [_("A budget with scope “%(scope)s” needs a %(field)s.")
                                % {"scope": scope, "field": name}]
            if scope != needs and get(name) is not None:
                errors[name] = [_("Only a budget with scope “%(needs)s” has a %(field)s; this "
                                  "one's scope is “%(scope)s”.")
                                % {"needs": needs, "field": name, "scope": scope}]
        if self.instance is not None and "limit" in attrs:
            used = self.instance.committed + self.instance.spent
            if attrs["limit"] < used:
                errors["limit"] = [_("%(used)s is already committed or spent: the limit "
                                     "cannot be lower.") % {"used": used}]

        if errors:
            raise serializers.ValidationError(errors)
        return attrs
