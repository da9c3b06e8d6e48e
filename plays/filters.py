"""The plays list's filters (the API)."""

import django_filters

from abmcrm.core.api.filters import StrictBooleanFilter

from .models import EventType, Play


class PlayFilter(django_filters.FilterSet):
    event = django_filters.ChoiceFilter(choices=EventType.choices)
    is_active = StrictBooleanFilter()

    class Meta:
        model = Play
        fields = ["event", "is_active"]
