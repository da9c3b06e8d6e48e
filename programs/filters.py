import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from abmcrm.core.api.filters import IdFilter, StableOrderingFilter, StrictBooleanFilter
from abmcrm.core.ids import as_id

from .models import Budget, Campaign, ProgramItem, ProgramOrder

Status = ProgramOrder.Status
OVERDUE_STATUSES = [Status.APPROVED, Status.IN_PROGRESS]


def _validate_assignee(value):
    if value.strip().lower() not in ("", "me", "none") and as_id(value) is None:
        raise forms.ValidationError(_("Give a user id, `me` or `none`."), code="invalid")


class AssigneeFilter(django_filters.CharFilter):
    """Orders by assignee: `me`, `none` (unassigned) or a user id; anything else is an
    error, not an empty list."""

    def __init__(self, **kwargs):
        super().__init__(validators=[_validate_assignee], **kwargs)

    def filter(self, queryset, value):
        value = (value or "").strip().lower()
        if not value:
            return queryset
        if value == "me":
            user = getattr(self.parent.request, "user", None)
            return queryset.filter(assignee_id=user.pk if user else None)
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        return queryset.filter(assignee_id=as_id(value))


class CampaignFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(field_name="name", lookup_expr="icontains")

    class Meta:
        model = Campaign
        fields = ["channel", "owner"]


class ProgramItemFilter(django_filters.FilterSet):
    tier = django_filters.NumberFilter(method="filter_tier",
                                       label=_("On this tier's menu (tier number), in menu order"))
    active = StrictBooleanFilter(method="filter_active", label=_("Active today"))

    class Meta:
        model = ProgramItem
        fields = ["kind", "campaign", "is_active", "needs_contact"]

    def filter_tier(self, queryset, name, value):
        return queryset.filter(menu_entries__tier__number=value).order_by(
            "menu_entries__position", "pk")

    def filter_active(self, queryset, name, value):
        today = timezone.localdate()
        active = (Q(is_active=True) & (Q(active_from__isnull=True) | Q(active_from__lte=today))
                  & (Q(active_until__isnull=True) | Q(active_until__gte=today)))
        return queryset.filter(active) if value else queryset.exclude(active)


class OrderFilter(django_filters.FilterSet):
    """Used by the API (`GET /api/v1/orders/`) and the fulfillment queue."""

    status = django_filters.MultipleChoiceFilter(choices=Status.choices)
    account = IdFilter(field_name="account_id")
    item = IdFilter(field_name="item_id")
    tier = django_filters.NumberFilter(field_name="tier__number", label=_("Tier number"))
    requested_by = IdFilter(field_name="requested_by_id")
    campaign = IdFilter(field_name="item__campaign_id")
    created_after = django_filters.DateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.DateTimeFilter(field_name="created_at", lookup_expr="lt")
    assignee = AssigneeFilter(label=_("A user id, `me`, or `none` (unassigned)"))
    overdue = StrictBooleanFilter(
        method="filter_overdue", label=_("Approved or in progress, and past its due date"))
    ordering = StableOrderingFilter(
        fields=("created_at", "cost", "due_at", "status", "approved_at", "id"))

    class Meta:
        model = ProgramOrder
        fields = []

    def filter_overdue(self, queryset, name, value):
        overdue = Q(due_at__lt=timezone.now(), status__in=OVERDUE_STATUSES)
        return queryset.filter(overdue) if value else queryset.exclude(overdue)


class BudgetFilter(django_filters.FilterSet):
    active_on = django_filters.DateFilter(method="filter_active_on",
                                          label=_("Budgets whose period contains this date"))
    tier = django_filters.NumberFilter(field_name="tier__number")

    class Meta:
        model = Budget
        fields = ["scope", "item", "campaign"]

    def filter_active_on(self, queryset, name, value):
        return queryset.filter(start_date__lte=value, end_date__gte=value)
