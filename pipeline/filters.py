"""The deals' filters: the list API, the report, the forecast, attribution and the pipeline
page share them (one FilterSet, so the same parameters select the same deals everywhere)."""

import re

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.core.validators import RegexValidator
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from abmcrm.core.ids import as_id
from programs.models import Campaign

from . import selectors
from .models import Channel, Opportunity


def _validate_owner(value):
    if value.strip().lower() not in ("", "me", "none") and as_id(value) is None:
        raise forms.ValidationError(_("Give a user id, “me” or “none”."), code="invalid")


def _validate_stage(value):
    if value.strip() and value.strip().lower() not in selectors.stages_by_ref():
        raise forms.ValidationError(
            _("Unknown stage “%(stage)s”."), code="invalid", params={"stage": value})


class OpportunityFilter(django_filters.FilterSet):
    owner = django_filters.CharFilter(method="filter_owner", validators=[_validate_owner],
                                      label=_("Owner: a user id, “me” or “none”"))
    stage = django_filters.CharFilter(method="filter_stage", validators=[_validate_stage],
                                      label=_("Stage (slug or name)"))
    status = django_filters.ChoiceFilter(choices=Opportunity.Status.choices)
    product = django_filters.CharFilter(field_name="product", lookup_expr="iexact")
    campaign = django_filters.ModelChoiceFilter(queryset=Campaign.objects.all())
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    tier = django_filters.CharFilter(
        method="filter_tier", label=_("The account's tier number (1, 2, 3…); “none”: untiered"),
        validators=[RegexValidator(r"^\s*(\d+|none|null|untiered)\s*$",
                                   _("Expected a tier number or “none”."),
                                   flags=re.IGNORECASE)])
    opened_after = django_filters.IsoDateTimeFilter(field_name="opened_at", lookup_expr="gte")
    opened_before = django_filters.IsoDateTimeFilter(field_name="opened_at", lookup_expr="lt")
    closed_after = django_filters.IsoDateTimeFilter(field_name="closed_at", lookup_expr="gte")
    closed_before = django_filters.IsoDateTimeFilter(field_name="closed_at", lookup_expr="lt")
    amount_min = django_filters.NumberFilter(field_name="amount", lookup_expr="gte")
    amount_max = django_filters.NumberFilter(field_name="amount", lookup_expr="lte")
    search = django_filters.CharFilter(
        method="filter_search", label=_("Name, external id, product or account contains"))
    ordering = django_filters.OrderingFilter(
        fields=("opened_at", "close_date", "closed_at", "amount", "name", "updated_at",
                "stage_changed_at", ("stage__position", "stage")))

    class Meta:
        model = Opportunity
        fields = ["account", "owner", "stage", "status", "product", "campaign", "channel",
                  "lead", "external_id"]

    def filter_owner(self, queryset, name, value):
        value = value.strip().lower()
        if value == "me":
            user = getattr(self.request, "user", None)
            return queryset.filter(owner_id=getattr(user, "pk", None))
        if value == "none":
            return queryset.filter(owner__isnull=True)
        return queryset.filter(owner_id=as_id(value))

    def filter_stage(self, queryset, name, value):
        stage = selectors.stages_by_ref().get(value.strip().lower())
        return queryset.filter(stage=stage)

    def filter_tier(self, queryset, name, value):
        value = value.strip().lower()
        if value in ("none", "null", "untiered"):
            return queryset.filter(account__tier__isnull=True)
        return queryset.filter(account__tier__number=int(value))

    def filter_search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(
            Q(name__icontains=value) | Q(external_id__icontains=value)
            | Q(product__icontains=value) | Q(account__name__icontains=value)
            | Q(account__domain__icontains=value))


def owner_choices():
    """The users who own deals, for the page's owner picker."""
    return get_user_model().objects.filter(opportunities__isnull=False).distinct().order_by(
        "username")
