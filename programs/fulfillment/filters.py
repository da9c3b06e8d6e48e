import django_filters
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tiers.filters import StrictBooleanFilter

from ..filters import AssigneeFilter
from ..models import Campaign, ProgramItem, ProgramOrder
from .selectors import FILTER_STATUSES, QUEUE_STATUSES


class FulfillmentQueueFilter(django_filters.FilterSet):
    """The queue page's filters. No status: approved and in progress (the queue)."""

    status = django_filters.ChoiceFilter(
        choices=[(s.value, s.label) for s in FILTER_STATUSES], method="filter_status",
        empty_label=_("Approved and in progress"),
    )
    kind = django_filters.ChoiceFilter(field_name="item__kind", choices=ProgramItem.Kind.choices,
                                       empty_label=_("Any kind"))
    campaign = django_filters.ModelChoiceFilter(
        field_name="item__campaign", queryset=Campaign.objects.only("id", "name"),
        empty_label=_("Any campaign"),
    )
    assignee = AssigneeFilter(label=_("Assignee: me, none, or a user id"))
    overdue = StrictBooleanFilter(method="filter_overdue")

    class Meta:
        model = ProgramOrder
        fields = []

    @property
    def qs(self):
        queryset = super().qs
        if not self.form.cleaned_data.get("status"):
            queryset = queryset.filter(status__in=QUEUE_STATUSES)
        return queryset

    def filter_status(self, queryset, name, value):
        return queryset.filter(status=value) if value else queryset

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        now = timezone.now()
        if value:
            return queryset.filter(status__in=QUEUE_STATUSES, due_at__lt=now)
        return queryset.exclude(status__in=QUEUE_STATUSES, due_at__lt=now)
