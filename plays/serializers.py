"""Validation of plays (the API, the page and the admin share `PlaySerializer`) and of the
notification preferences. A play that could never run as written is refused with each field's
error, never stored."""

from django.conf import settings as django_settings
from django.utils.translation import gettext as _
from rest_framework import serializers

from programs.models import MenuEntry

from .models import EventType, NotificationPreference, Play, PlayRun

# tiers.models.Account.BuyingStage once the in-market model is installed; spelled here so that
# a play can be written before the first prediction.
BUYING_STAGES = ["target", "awareness", "consideration", "decision", "purchase"]
CONDITIONS = {"tier", "topics", "buying_stage", "fit_min"}
ACTION_TYPES = {"suggest": {"type", "items"}, "notify": {"type"},
                "order": {"type", "items", "max_per_account", "period"}}
PERIODS = ["month", "quarter", "year"]
MAX_ITEMS = 50


def _whole(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _validate_conditions(value):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise serializers.ValidationError(_('Give the conditions as an object, e.g. {"tier": '
                                            '[1], "fit_min": 70}, or leave them out.'))
    errors = {}
    for key in sorted(set(value) - CONDITIONS):
        errors[key] = [_("Unknown condition: use tier, topics, buying_stage or fit_min.")]
    tiers = value.get("tier")
    if "tier" in value and not (isinstance(tiers, list) and tiers and len(tiers) <= 20
                                and all(_whole(t) and 1 <= t <= 100 for t in tiers)):
        errors["tier"] = [_("Give a list of tier numbers, e.g. [1, 2].")]
    topics = value.get("topics")
    if "topics" in value and not (
            isinstance(topics, list) and topics and len(topics) <= 50
            and all(isinstance(t, str) and t.strip() and len(t) <= 200 for t in topics)):
        errors["topics"] = [_('Give a list of topics, e.g. ["crm software"].')]
    stages = value.get("buying_stage")
    if "buying_stage" in value and not (
            isinstance(stages, list) and stages
            and all(isinstance(s, str) and s in BUYING_STAGES for s in stages)):
        errors["buying_stage"] = [_("Give a list of buying stages among: %(stages)s.")
                                  % {"stages": ", ".join(BUYING_STAGES)}]
    fit = value.get("fit_min")
    if "fit_min" in value and not (_whole(fit) and 0 <= fit <= 100):
        errors["fit_min"] = [_("Give a whole number from 0 to 100.")]
    if errors:
        raise serializers.ValidationError(errors)
    cleaned = dict(value)
    if "topics" in cleaned:
        cleaned["topics"] = sorted({t.strip().lower() for t in cleaned["topics"]})
    if "tier" in cleaned:
        cleaned["tier"] = sorted(set(cleaned["tier"]))
    return cleaned


def _validate_actions(value):
    if not isinstance(value, list) or not value:
        raise serializers.ValidationError(
            _('Give one or more actions, e.g. [{"type": "suggest", "items": [12]}, '
              '{"type": "notify"}].'))
    if len(value) > 10:
        raise serializers.ValidationError(_("A play has at most 10 actions."))
    errors, cleaned, wanted = [], [], set()
    for action in value:
        problems = {}
        kind = action.get("type") if isinstance(action, dict) else None
        if kind not in ACTION_TYPES:
            errors.append({"type": [_("Choose suggest, notify or order.")]})
            cleaned.append(None)
            continue
        for key in sorted(set(action) - ACTION_TYPES[kind]):
            problems[key] = [_("Not a field of a %(type)s action.") % {"type": kind}]
        entry = {"type": kind}
        if kind in ("suggest", "order"):
            items = action.get("items")
            if not (isinstance(items, list) and items and len(items) <= MAX_ITEMS
                    and all(_whole(i) and 0 < i < 2**63 for i in items)):
                problems["items"] = [_("Give a list of program item ids, e.g. [12, 14].")]
            elif len(set(items)) != len(items):
                problems["items"] = [_("Each program item once.")]
            else:
                entry["items"] = items
                wanted.update(items)
        if kind == "order":
            cap = action.get("max_per_account", 1)
            if not (_whole(cap) and 1 <= cap <= 100):
                problems["max_per_account"] = [_("Give a whole number from 1 to 100.")]
            period = action.get("period", "quarter")
            if period not in PERIODS:
                problems["period"] = [_("Choose month, quarter or year.")]
            entry.update(max_per_account=cap, period=period)
        errors.append(problems)
        cleaned.append(entry)
    if wanted:
        on_menus = set(MenuEntry.objects.filter(item_id__in=wanted)
                       .values_list("item_id", flat=True))
        for problems, entry in zip(errors, cleaned, strict=True):
            off = [i for i in (entry or {}).get("items", []) if i not in on_menus]
            if off:
                problems.setdefault("items", []).append(
                    _("Not on any tier's menu (or no such program item): %(ids)s.")
                    % {"ids": ", ".join(map(str, off))})
    if any(errors):
        raise serializers.ValidationError(errors)
    return cleaned


class PlaySerializer(serializers.ModelSerializer):
    event = serializers.ChoiceField(
        choices=EventType.choices,
        error_messages={"invalid_choice": "“{input}” is not an event type a play can react to."})
    conditions = serializers.JSONField(required=False, allow_null=True,
                                       help_text='{"tier": [1], "topics": ["…"], '
                                                 '"buying_stage": ["decision"], "fit_min": 70}')
    actions = serializers.JSONField(help_text='[{"type": "suggest", "items": [12]}, {"type": '
                                              '"notify"}, {"type": "order", "items": [12], '
                                              '"max_per_account": 1, "period": "quarter"}]')
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Play
        fields = ["id", "name", "event", "conditions", "actions", "is_active", "created_by",
                  "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]

    def validate_name(self, value):
        value = value.strip()
        if not value:
            raise serializers.ValidationError(_("Give the play a name."))
        return value

    def validate_conditions(self, value):
        return _validate_conditions(value)

    def validate_actions(self, value):
        return _validate_actions(value)


class PlayRunSerializer(serializers.ModelSerializer):
    """One line of a play's log: the event, the account, what it did and why."""

    account_name = serializers.CharField(source="account.name", default=None, read_only=True)

    class Meta:
        model = PlayRun
        fields = ["id", "event_id", "event_type", "account", "account_name", "reason",
                  "results", "created_at"]


def language_choices():
    return list(django_settings.LANGUAGES)


class NotificationPreferenceSerializer(serializers.ModelSerializer):
    language = serializers.ChoiceField(choices=[("", "")] + [(c, str(n)) for c, n in
                                                              django_settings.LANGUAGES],
                                       required=False, allow_blank=True)

    class Meta:
        model = NotificationPreference
        fields = ["digest", "immediate_6qa", "language", "slack_webhook_url"]

    def validate_slack_webhook_url(self, value):
        if value and not value.startswith("https://") and not django_settings.DEBUG:
            raise serializers.ValidationError(_("Use the https:// URL Slack gives you."))
        return value
