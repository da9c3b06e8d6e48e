from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from abmcrm.core.exceptions import AbmError

from . import services
from .models import Opportunity, OpportunityContact, OpportunityStage, OpportunityStageChange


@admin.register(OpportunityStage)
class OpportunityStageAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "position", "probability", "is_won", "is_lost"]
    list_editable = ["name", "position", "probability"]

    def get_readonly_fields(self, request, obj=None):
        # A stage in use keeps its kind: its deals' status was set from it.
        if obj is not None and obj.opportunities.exists():
            return ["is_won", "is_lost"]
        return []


class CommitteeInline(admin.TabularInline):
    model = OpportunityContact
    extra = 0
    fields = ["contact", "role"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class StageChangeInline(admin.TabularInline):
    model = OpportunityStageChange
    extra = 0
    fields = ["at", "from_stage", "to_stage", "amount", "is_reopen", "by"]
    readonly_fields = fields
    can_delete = False
    ordering = ["at", "id"]

    def has_add_permission(self, request, obj=None):
        return False


class OpportunityAdminForm(forms.ModelForm):
    """The service's refusals shown on the form's fields, before anything is saved."""

    class Meta:
        model = Opportunity
        fields = ["name", "account", "external_id", "owner", "product", "amount", "currency",
                  "opened_at", "close_date", "lost_reason", "campaign", "channel", "lead"]

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is not None and not self.errors:
            data = {name: cleaned.get(name) for name in self.changed_data
                    if name in services.PLAIN_FIELDS}
            errors = services.opportunity_check(opportunity=self.instance, **data) or {}
            for name, msgs in errors.items():
                self.add_error(name if name in self.fields else None, msgs)
        return cleaned


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    """Deals are created through the API, a CSV import or the CRM sync; here they are read
    and their plain fields corrected (through the same service). Stage changes go through
    the pipeline page or `…/move/`, which keep the history."""

    list_display = ["name", "account", "stage", "status", "amount", "currency", "owner",
                    "opened_at", "close_date", "closed_at"]
    list_filter = ["status", "stage", "channel"]
    list_select_related = ["account", "stage", "owner"]
    search_fields = ["name", "external_id", "product", "account__name", "account__domain"]
    autocomplete_fields = ["account", "lead"]
    date_hierarchy = "opened_at"
    readonly_fields = ["stage", "status", "closed_at", "stage_changed_at", "version",
                       "created_at", "updated_at"]
    fields = ["name", "account", "external_id", "owner", "product", "amount", "currency",
              "stage", "status", "opened_at", "close_date", "closed_at", "lost_reason",
              "campaign", "channel", "lead", "stage_changed_at", "version", "created_at",
              "updated_at"]
    inlines = [CommitteeInline, StageChangeInline]
    form = OpportunityAdminForm

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        stored = Opportunity.objects.select_related("stage").prefetch_related(
            "committee").get(pk=obj.pk)
        data = {name: form.cleaned_data[name] for name in form.changed_data
                if name in services.PLAIN_FIELDS}
        try:
            services.opportunity_update(opportunity=stored, by=request.user, **data)
        except AbmError as exc:
            details = " ".join(" ".join(map(str, msgs)) for msgs in (exc.detail or {}).values())
            messages.error(request, _("Not saved: %(reason)s") % {
                "reason": details or exc.message})

    # Deletes go through the service too (the deal touches of the account's other deals).
    def delete_model(self, request, obj):
        services.opportunity_delete(opportunity=obj)

    def delete_queryset(self, request, queryset):
        for deal in queryset:
            services.opportunity_delete(opportunity=deal)


@admin.register(OpportunityStageChange)
class OpportunityStageChangeAdmin(admin.ModelAdmin):
    """Append-only history: read here."""

    list_display = ["at", "opportunity", "from_stage", "to_stage", "amount", "is_reopen", "by"]
    list_filter = ["to_stage", "is_reopen"]
    list_select_related = ["opportunity", "from_stage", "to_stage", "by"]
    search_fields = ["opportunity__name", "opportunity__external_id"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
