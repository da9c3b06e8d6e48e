from django import forms
from django.contrib import admin

from .models import Alert, AlertTeam, EventReceipt, NotificationPreference, Play, PlayRun
from .serializers import PlaySerializer


class PlayAdminForm(forms.ModelForm):
    """The admin checks a play as the API does (`serializers.PlaySerializer`)."""

    class Meta:
        model = Play
        fields = ["name", "event", "conditions", "actions", "is_active"]

    def clean(self):
        cleaned = super().clean()
        form = PlaySerializer(data={k: cleaned.get(k) for k in self.Meta.fields})
        if not form.is_valid():
            for field, errors in form.errors.items():
                self.add_error(field if field in self.fields else None, str(errors))
        else:
            cleaned.update(form.validated_data)
        return cleaned


@admin.register(Play)
class PlayAdmin(admin.ModelAdmin):
    form = PlayAdminForm
    list_display = ["name", "event", "is_active", "created_by", "updated_at"]
    list_filter = ["event", "is_active"]
    search_fields = ["name"]
    list_select_related = ["created_by"]
    readonly_fields = ["created_by", "created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(PlayRun)
class PlayRunAdmin(admin.ModelAdmin):
    list_display = ["play", "event_type", "account", "created_at"]
    list_filter = ["event_type"]
    search_fields = ["play__name", "account__name", "event_id"]
    list_select_related = ["play", "account"]
    raw_id_fields = ["account"]
    readonly_fields = ["play", "event_id", "event_type", "account", "reason", "results",
                       "created_at"]


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "digest", "immediate_6qa", "language"]
    list_filter = ["digest", "immediate_6qa"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]


@admin.register(AlertTeam)
class AlertTeamAdmin(admin.ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]
    filter_horizontal = ["members"]


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["event_type", "user", "account", "occurred_at", "immediate", "sent_at"]
    list_filter = ["event_type", "immediate"]
    search_fields = ["user__username", "account__name"]
    list_select_related = ["user", "account"]
    raw_id_fields = ["user", "account", "play"]


@admin.register(EventReceipt)
class EventReceiptAdmin(admin.ModelAdmin):
    list_display = ["event_id", "received_at", "handled_at", "attempts"]
    readonly_fields = ["event_id", "received_at", "handled_at", "attempts", "last_error"]
    list_filter = [("handled_at", admin.EmptyFieldListFilter)]
