import django_filters

from .models import WebhookDelivery


class WebhookDeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=WebhookDelivery.Status.choices)
    type = django_filters.CharFilter(field_name="event_type")
    account = django_filters.NumberFilter(field_name="account_id")

    class Meta:
        model = WebhookDelivery
        fields = ["status", "type", "account"]
