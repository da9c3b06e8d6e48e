import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from abmcrm.core.api.filters import StableOrderingFilter, StrictBooleanFilter

from .models import Channel, Lead, Stage, StageTransition


class LeadFilter(django_filters.FilterSet):
    stage = django_filters.CharFilter(field_name="stage__slug", label=_("Current stage (slug)"))
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    has_account = StrictBooleanFilter(field_name="account", lookup_expr="isnull",
                                      exclude=True)
    search = django_filters.CharFilter(method="filter_search",
                                       label=_("E-mail, name or company contains"))
    ordering = StableOrderingFilter(
        fields=("created_at", "email", "company", "entered_at", "stage_changed_at"))

    class Meta:
        model = Lead
        fields = ["account", "campaign", "channel"]

    def filter_search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(
            Q(email__icontains=value) | Q(first_name__icontains=value)
            | Q(last_name__icontains=value) | Q(company__icontains=value))


class TransitionFilter(django_filters.FilterSet):
    stage = django_filters.CharFilter(field_name="to_stage__slug",
                                      label=_("Stage moved to (slug)"))
    from_stage = django_filters.CharFilter(field_name="from_stage__slug")
    side = django_filters.ChoiceFilter(
        choices=[(Stage.Side.ABM, _("ABM")), (Stage.Side.DEMAND_GEN, _("Demand gen"))],

        method="filter_side")
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    occurred_after = django_filters.IsoDateTimeFilter(field_name="occurred_at",
                                                      lookup_expr="gte")
    occurred_before = django_filters.IsoDateTimeFilter(field_name="occurred_at",
                                                       lookup_expr="lt")
    ordering = StableOrderingFilter(fields=("occurred_at", "created_at", "id"))

    class Meta:
        model = StageTransition
        fields = ["account", "lead", "campaign", "channel", "external_id"]

    def filter_side(self, queryset, name, value: str):
        if value == Stage.Side.ABM:
            return queryset.filter(account__isnull=False)
        return queryset.filter(lead__isnull=False)
