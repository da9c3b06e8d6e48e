from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from . import services
from .models import (
    AccountSnapshot,
    InMarketModel,
    InMarketSettings,
    SixQaQualification,
    TrainingJob,
)


@admin.register(InMarketModel)
class InMarketModelAdmin(admin.ModelAdmin):
    list_display = ["version", "kind", "is_active", "is_fallback", "trained_at", "positives",
                    "accounts", "auc"]
    list_filter = ["is_active", "is_fallback", "kind"]
    readonly_fields = ["version", "kind", "is_active", "is_fallback", "trained_at",
                       "window_start", "window_end", "horizon_days", "accounts", "rows",
                       "positives", "needed_positives", "metrics", "features", "note"]
    exclude = ["payload"]
    actions = ["activate"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("payload")

    @admin.display(description=_("AUC"))
    def auc(self, obj):
        return obj.auc

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Activate (or roll back to) the selected version"))
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one version."), messages.ERROR)
            return
        model = services.model_activate(model=queryset.get())
        self.message_user(request, _("Version %(v)s is active; the accounts are being "
                                     "rescored.") % {"v": model.version})


@admin.register(InMarketSettings)
class InMarketSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "awareness_min", "consideration_min", "decision_min",
                    "moderate_fit", "contact_fit_min", "updated_at"]

    def has_add_permission(self, request):
        return not InMarketSettings.objects.exists()


@admin.register(TrainingJob)
class TrainingJobAdmin(admin.ModelAdmin):
    list_display = ["pk", "status", "trigger", "done", "total", "created_at", "finished_at"]
    list_filter = ["status", "trigger"]
    list_select_related = ["model"]
    readonly_fields = [field.name for field in TrainingJob._meta.fields]
    actions = ["train"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Train a new version now"))
    def train(self, request, queryset):
        services.training_start(user=request.user)
        self.message_user(request, _("Training queued."))


@admin.register(AccountSnapshot)
class AccountSnapshotAdmin(admin.ModelAdmin):
    list_display = ["account", "week", "as_of", "fit_score", "intent_score", "engagement_30d",
                    "open_deals", "funnel_stage"]
    list_filter = ["week"]
    list_select_related = ["account"]
    raw_id_fields = ["account"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SixQaQualification)
class SixQaQualificationAdmin(admin.ModelAdmin):
    list_display = ["account", "qualified_at", "model_version"]
    list_select_related = ["account"]
    raw_id_fields = ["account"]
