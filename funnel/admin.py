from django.contrib import admin

from .models import AccountFunnel, Lead, PipelineQuota, Stage, StageTransition


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "side", "position", "is_won", "is_lost", "is_opportunity",
                    "is_handoff"]
    list_editable = ["name", "position"]
    list_filter = ["side"]

    def has_delete_permission(self, request, obj=None):
        return False  # transitions point at stages; rename or reorder instead


class TransitionInline(admin.TabularInline):
    model = StageTransition
    fk_name = "lead"
    extra = 0
    fields = ["occurred_at", "from_stage", "to_stage", "channel", "campaign", "amount",
              "is_reopen", "external_id"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ["email", "first_name", "last_name", "company", "account", "account_match",
                    "account_match_score", "channel",
                    "campaign", "stage", "created_at"]
    list_filter = ["stage", "channel", "account_match"]
    list_select_related = ["account", "campaign", "stage"]
    search_fields = ["email", "first_name", "last_name", "company"]
    autocomplete_fields = ["account"]
    readonly_fields = ["stage", "previous_stage", "entered_at", "stage_changed_at",
                       "updated_at", "account_match", "account_match_score"]
    inlines = [TransitionInline]


@admin.register(AccountFunnel)
class AccountFunnelAdmin(admin.ModelAdmin):
    list_display = ["account", "stage", "entered_at", "stage_changed_at", "entry_channel",
                    "entry_campaign"]
    list_filter = ["stage", "entry_channel"]
    list_select_related = ["account", "stage", "entry_campaign"]
    search_fields = ["account__name", "account__domain"]
    readonly_fields = ["account", "stage", "previous_stage", "entered_at", "stage_changed_at",
                       "entry_channel", "entry_campaign"]

    def has_add_permission(self, request):
        return False


@admin.register(StageTransition)
class StageTransitionAdmin(admin.ModelAdmin):
    """Append-only history: read here, recorded through the API or a CSV import."""

    list_display = ["occurred_at", "account", "lead", "from_stage", "to_stage", "channel",
                    "campaign", "amount", "is_reopen", "recorded_by"]
    list_filter = ["to_stage", "channel", "is_reopen"]
    list_select_related = ["account", "lead", "from_stage", "to_stage", "campaign",
                           "recorded_by"]
    search_fields = ["account__domain", "lead__email", "external_id"]
    date_hierarchy = "occurred_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PipelineQuota)
class PipelineQuotaAdmin(admin.ModelAdmin):
    list_display = ["month", "channel", "amount"]
    list_filter = ["channel"]
    date_hierarchy = "month"

    def save_model(self, request, obj, form, change):
        obj.month = obj.month.replace(day=1)
        super().save_model(request, obj, form, change)
