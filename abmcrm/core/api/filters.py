"""Filters every app's FilterSets use."""

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _
from django_filters.constants import EMPTY_VALUES
from rest_framework import filters

from ..ids import MAX_ID


class _StrictNullBooleanField(forms.NullBooleanField):
    """true or false (also 1/0, yes/no); empty means either. Anything else is an error: read
    as "either", `?overdue=maybe` would quietly answer everything."""

    widget = forms.TextInput  # the select widget turns an unknown value into "either" first
    TRUE, FALSE, EITHER = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}, {"", "unknown"}

    def to_python(self, value):
        if isinstance(value, bool) or value is None:
            return value
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        if text in self.EITHER:
            return None
        raise forms.ValidationError(_("Give true or false."), code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = _StrictNullBooleanField


def _with_tie_break(ordering):
    """`ordering` (field names, "-" for descending) ending with the primary key, in the
    direction of the last key: rows that tie on the asked order come in a fixed order (a
    page never repeats or skips a row), and a (field, id) index serves both."""
    ordering = list(ordering)
    if not ordering or any(term.lstrip("-") in ("pk", "id") for term in ordering):
        return ordering
    return [*ordering, "-pk" if ordering[-1].startswith("-") else "pk"]


class OrderingFilter(filters.OrderingFilter):
    """DRF's `?ordering=` (REST_FRAMEWORK["DEFAULT_FILTER_BACKENDS"]), with the primary key
    breaking ties (see `_with_tie_break`)."""

    def get_ordering(self, request, queryset, view):
        ordering = super().get_ordering(request, queryset, view)
        return _with_tie_break(ordering) if ordering else ordering


class StableOrderingFilter(django_filters.OrderingFilter):
    """A FilterSet's `ordering`, with the primary key breaking ties."""

    def filter(self, qs, value):
        if value in EMPTY_VALUES:
            return qs
        ordering = [self.get_ordering_value(param) for param in value
                    if param not in EMPTY_VALUES]
        return qs.order_by(*_with_tie_break(ordering))


class IdFilter(django_filters.NumberFilter):
    """A row's id in a query string: a positive integer within the id column's range, else
    a 400 (a foreign key's lookup, unlike an integer field's, sends a number past the range
    to the database: OverflowError on SQLite)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)
