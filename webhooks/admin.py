"""Admin screens: subscriptions (the secret is write-only) with their recent deliveries, and
deliveries with a redeliver action."""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from abmcrm.core.exceptions import AbmError

from . import services
from .models import WebhookDelivery, WebhookSubscription
from .services import targets


class WebhookSubscriptionForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    secret = forms.CharField(
        label=_("secret"), required=False, min_length=16, widget=forms.PasswordInput,
        help_text=_("Signs every request. Leave empty to keep the current one."))
    events = forms.MultipleChoiceField(label=_("event types"), choices=(),
                                       widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = WebhookSubscription
        fields = ["url", "secret", "events", "preset", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["events"].choices = [(t, t) for t in services.subscribable_types()]
        if self.instance.pk is None:
            self.fields["secret"].required = True

    def clean_url(self):
        url = self.cleaned_data["url"]
        problem = targets.url_problem(url)
        if problem:
            raise forms.ValidationError(problem)
        return url

    def clean_secret(self):
        return self.cleaned_data["secret"] or self.instance.secret


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = WebhookSubscriptionForm
    list_display = ["url", "preset", "is_active", "paused_at", "failing_since", "created_at"]
    list_filter = ["is_active", "preset"]
    search_fields = ["url"]
    actions = ["send_test_event"]

    @admin.action(description=_("Send a test event"))
    def send_test_event(self, request, queryset):
        for subscription in queryset:
            services.subscription_test(subscription=subscription)
        messages.success(request, _("Test events queued."))


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "subscription", "event_type", "account_id", "status", "attempts",
                    "last_status_code", "next_attempt_at", "delivered_at"]
    list_filter = ["status", "subscription"]
    list_select_related = ["subscription"]
    search_fields = ["=account_id"]
    readonly_fields = [field.name for field in WebhookDelivery._meta.fields]
    actions = ["redeliver"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Redeliver"))
    def redeliver(self, request, queryset):
        done = 0
        for delivery in queryset:
            try:
                services.delivery_redeliver(delivery=delivery)
                done += 1
            except AbmError as exc:
                messages.warning(request, f"#{delivery.pk}: {exc}")
        messages.success(request, _("%(n)d deliveries queued again.") % {"n": done})
