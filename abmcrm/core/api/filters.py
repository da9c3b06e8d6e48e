"""Filters every app's FilterSets use."""

import django_filters
from django import forms


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
        raise forms.ValidationError("Give true or false.", code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = _StrictNullBooleanField
