import json
import re

import django_filters
from django.contrib.auth import get_user_model
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db.models import Exists, OuterRef, Q, TextField
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy as _

from abmcrm.core.api.filters import StableOrderingFilter, StrictBooleanFilter

from .models import Account, Contact, EngagementEvent, IntentSignal, RecomputeJob, Technology


class AccountFilter(django_filters.FilterSet):
    industry = django_filters.CharFilter(field_name="industry", lookup_expr="iexact")
    country = django_filters.CharFilter(field_name="country", lookup_expr="iexact")
    region = django_filters.CharFilter(field_name="region", lookup_expr="iexact")
    owner = django_filters.ModelChoiceFilter(queryset=get_user_model().objects.all())
    is_customer = StrictBooleanFilter()
    technology = django_filters.CharFilter(method="filter_technology",
                                           label=_("Uses technology (name or slug)"))
    employees_min = django_filters.NumberFilter(field_name="employees", lookup_expr="gte")
    employees_max = django_filters.NumberFilter(field_name="employees", lookup_expr="lte")
    revenue_min = django_filters.NumberFilter(field_name="annual_revenue", lookup_expr="gte")
    revenue_max = django_filters.NumberFilter(field_name="annual_revenue", lookup_expr="lte")
    search = django_filters.CharFilter(method="filter_search", label=_("Name or domain contains"))
    tier = django_filters.CharFilter(
        method="filter_tier", label=_("Tier number (1, 2, 3…); “none”: untiered"),
        validators=[RegexValidator(r"^\s*(\d+|none|null|untiered)\s*$",
                                   _("Expected a tier number or “none”."),
                                   flags=re.IGNORECASE)])
    fit_min = django_filters.NumberFilter(field_name="fit_score", lookup_expr="gte",
                                          label=_("Fit score at least"))
    surging = StrictBooleanFilter(field_name="has_recent_intent",
                                  label=_("Has a surging intent topic"))
    topic = django_filters.CharFilter(method="filter_topic", label=_("Surging on this topic"))
    engaged = StrictBooleanFilter(field_name="has_recent_engagement",
                                  label=_("Recent meaningful engagement"))
    tier_locked = StrictBooleanFilter()
    # The in-market prediction (stored here by the `inmarket` app's scoring).
    buying_stage = django_filters.MultipleChoiceFilter(
        choices=Account.BuyingStage.choices, label="Buying stage (repeat for several)")
    is_6qa = StrictBooleanFilter(label="6QA: qualified, in market now")
    in_market_min = django_filters.NumberFilter(
        field_name="in_market_probability", lookup_expr="gte",
        label="In-market probability at least (0–1)",
        validators=[MinValueValidator(0), MaxValueValidator(1)])
    coverage_max = django_filters.NumberFilter(
        field_name="coverage", lookup_expr="lte",
        label="Buying-committee coverage at most (percent)")
    missing_role = django_filters.ChoiceFilter(
        choices=Contact.BuyingRole.choices, method="filter_missing_role",
        label="The buying committee lacks this role")
    ordering = StableOrderingFilter(
        fields=("name", "domain", "employees", "annual_revenue", "estimated_acv", "created_at",
                "updated_at", "country", "industry", "fit_score", "intent_score",
                "engagement_score", "contact_fit", "coverage")
    )

    class Meta:
        model = Account
        fields = ["industry", "country", "region", "owner", "is_customer", "funding_stage",
                  "maturity"]

    def filter_technology(self, queryset, name, value):
        # Exists, not a join: no duplicate rows and no DISTINCT over the whole list.
        technologies = Technology.accounts.through.objects.filter(
            account_id=OuterRef("pk")
        ).filter(Q(technology__slug__iexact=value) | Q(technology__name__iexact=value))
        return queryset.filter(Exists(technologies))

    def filter_search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(domain__icontains=value))

    def filter_tier(self, queryset, name, value):
        value = value.strip().lower()
        if value in ("none", "null", "0", "untiered"):
            return queryset.filter(tier__isnull=True)
        return queryset.filter(tier__number=int(value))

    def filter_topic(self, queryset, name, value):
        # The list is JSON; a quoted, case-insensitive match on its text finds one name
        # exactly (JSONField `contains` is not available on SQLite).
        needle = json.dumps(value.strip())
        return queryset.annotate(_topics_text=Cast("surging_topics", TextField())).filter(
            _topics_text__icontains=needle)


    def filter_missing_role(self, queryset, name, value):
        # As for topics: a quoted match on the list's JSON text finds one role exactly.
        return queryset.annotate(_missing_text=Cast("missing_roles", TextField())).filter(
            _missing_text__contains=json.dumps(value))


class IntentSignalFilter(django_filters.FilterSet):
    week_from = django_filters.DateFilter(field_name="week", lookup_expr="gte")
    week_to = django_filters.DateFilter(field_name="week", lookup_expr="lte")

    class Meta:
        model = IntentSignal
        fields = ["account", "topic", "source"]


class EngagementEventFilter(django_filters.FilterSet):
    kind = django_filters.CharFilter(field_name="kind__key")
    since = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lte")

    class Meta:
        model = EngagementEvent
        fields = ["account", "contact", "source"]


class ContactFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", label=_("Name, e-mail or title"))

    class Meta:
        model = Contact
        fields = ["account", "buying_role", "job_function", "seniority", "persona_overridden"]

    def filter_search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(
            Q(first_name__icontains=value) | Q(last_name__icontains=value)
            | Q(email__icontains=value) | Q(title__icontains=value)
        )


class RecomputeJobFilter(django_filters.FilterSet):
    trigger = django_filters.ChoiceFilter(
        choices=[*RecomputeJob.Trigger.choices, ("all", _("All"))], method="filter_trigger",

        label=_("What started it; by default requested and scheduled recomputes"))
    status = django_filters.ChoiceFilter(choices=RecomputeJob.Status.choices)

    class Meta:
        model = RecomputeJob
        fields = []

    def filter_trigger(self, queryset, name, value):
        return queryset if value == "all" else queryset.filter(trigger=value)
