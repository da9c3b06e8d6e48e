from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from abmcrm.core.exceptions import AbmError

from . import scoring, services
from .models import (
    Account,
    CommitteeRole,
    Contact,
    EngagementEvent,
    EngagementKind,
    IcpCriterion,
    IcpPersona,
    IcpProfile,
    IntentSignal,
    PersonaMultiplier,
    PersonaReclassification,
    PersonaRule,
    RecomputeJob,
    Segment,
    Technology,
    Tier,
    TierAssignment,
    TierRule,
)
from .personas import Classifier


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    fields = ["first_name", "last_name", "email", "title", "buying_role", "job_function",
              "seniority", "contact_fit"]
    readonly_fields = ["job_function", "seniority", "contact_fit"]
    # Narrow inputs: five admin-wide text fields in a row made the account page 1,718 px
    # wide.
    formfield_overrides = {
        models.CharField: {"widget": forms.TextInput(attrs={"size": 14})},
        models.EmailField: {"widget": forms.EmailInput(attrs={"size": 24})},
    }


class TierAssignmentInline(admin.TabularInline):
    """Tier history: read-only; tiers change by the rules or an override, never by hand here."""

    model = TierAssignment
    fk_name = "account"
    extra = 0
    can_delete = False
    # The reason names the rule and the scores; the rows stay short.
    fields = ["created_at", "old_tier", "new_tier", "cause", "reason", "by"]
    readonly_fields = fields
    verbose_name = _("tier change")
    verbose_name_plural = _("tier history")
    ordering = ["-created_at", "-id"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("old_tier", "new_tier", "rule",
                                                            "rule__tier", "by")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "domain", "industry", "country", "employees", "estimated_acv",
                    "owner", "tier", "tier_locked", "fit_score", "intent_score",
                    "engagement_score", "is_customer"]
    list_filter = ["industry", "country", "is_customer", "tier", "tier_locked",
                   "has_recent_intent", "has_recent_engagement", "funding_stage",
                   ("owner", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["owner", "tier"]
    search_fields = ["name", "domain", "external_id"]
    autocomplete_fields = ["owner", "technologies"]
    readonly_fields = ["created_at", "updated_at", "tier", "tier_rule", "tier_locked",
                       "fit_score", "intent_score", "engagement_score", "topics",
                       "has_recent_intent", "has_recent_engagement", "scored_at",
                       "contact_fit", "coverage", "missing_roles"]
    inlines = [ContactInline, TierAssignmentInline]
    actions = ["recompute_selected", "unlock_tiers"]
    fieldsets = [
        (None, {"fields": ["name", "domain", "external_id", "owner"]}),
        (_("Tier and scores"), {"fields": ["tier", "tier_rule", "tier_locked", "fit_score",
                                        "intent_score", "engagement_score", "topics",
                                        "has_recent_intent", "has_recent_engagement",
                                        "scored_at"]}),
        (_("Buying committee"), {"fields": ["coverage", "missing_roles", "contact_fit"]}),
        (_("Firmographics"), {"fields": ["industry", "country", "region", "employees",
                                      "annual_revenue", "funding_stage", "customer_count",
                                      "maturity", "estimated_acv"]}),
        (_("Technographics"), {"fields": ["technologies"]}),
        (_("Customer"), {"fields": ["is_customer", "renewal_count"]}),
        (_("History"), {"fields": ["created_at", "updated_at"]}),
    ]

    def save_model(self, request, obj, form, change):
        """A change saves the fields the form changed only: the scores on the row (the
        recompute's, the in-market scoring's) may have been written since the form was
        read, and saving them back would undo that."""
        if not change:
            return super().save_model(request, obj, form, change)
        concrete = {field.name for field in Account._meta.concrete_fields}
        obj.save(update_fields=[*(name for name in form.changed_data if name in concrete),
                                "updated_at"])

    @admin.display(description=_("surging topics"))
    def topics(self, obj):
        return ", ".join(obj.surging_topics) or "—"

    @admin.action(description=_("Rescore and retier the selected accounts"))
    def recompute_selected(self, request, queryset):
        # In the worker, not in this request: a selection can be every account.
        job = services.recompute_start(user=request.user,
                                       account_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, _("Recompute job #%(id)s queued for %(count)s accounts; GET "
                                     "%(url)s shows its progress.")
                          % {"id": job.pk, "count": queryset.count(),
                             "url": f"/api/v1/tiers/recompute/{job.pk}/"}, messages.SUCCESS)

    @admin.action(description=_("Unlock the tier of the selected accounts (back to the rules)"))
    def unlock_tiers(self, request, queryset):
        count = 0
        for account in queryset.filter(tier_locked=True):
            try:
                services.account_tier_unlock(account=account, by=request.user)
            except AbmError as exc:
                self.message_user(request, f"{account}: {exc.message}", messages.ERROR)
                continue
            count += 1
        self.message_user(request, ngettext("%(count)d account unlocked.",
                                            "%(count)d accounts unlocked.", count)
                          % {"count": count}, messages.SUCCESS)


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["email", "first_name", "last_name", "title", "buying_role", "job_function",
                    "seniority", "persona_overridden", "contact_fit", "account", "account_match",
                    "account_match_score"]
    list_filter = ["buying_role", "job_function", "seniority", "persona_overridden",
                   "account_match"]
    list_select_related = ["account"]
    search_fields = ["email", "first_name", "last_name", "title", "account__name",
                     "account__domain"]
    autocomplete_fields = ["account"]
    readonly_fields = ["contact_fit", "account_match", "account_match_score"]

    def save_model(self, request, obj, form, change):
        """A function or seniority changed by hand overrides the rules (unless the override
        box was just cleared); otherwise the title decides."""
        data = {"persona_overridden": form.cleaned_data.get("persona_overridden")}
        if "persona_overridden" not in form.changed_data:
            data["persona_overridden"] = None
        for name in ("job_function", "seniority"):
            if name in form.changed_data and data["persona_overridden"] is not False:
                data[name] = form.cleaned_data[name]
        current = Contact.objects.filter(pk=obj.pk).first() if change else None
        if current is not None and "persona_overridden" not in form.changed_data:
            current.persona_overridden = obj.persona_overridden
        fields = services.persona_fields(title=obj.title, data=data, current=current,
                                         classifier=Classifier.from_db(),
                                         personas=scoring.active_personas())
        for name, value in fields.items():
            setattr(obj, name, value)
        if current is None or current.account_id != obj.account_id:
            obj.account_match, obj.account_match_score = Contact.AccountMatch.EXPLICIT, None
        super().save_model(request, obj, form, change)
        accounts = {obj.account_id, current.account_id if current else None}
        services.accounts_committee_refresh(account_ids=accounts)
        if current is not None and services.persona_of(current) != services.persona_of(obj):
            services.accounts_persona_rescore(account_ids=accounts)


@admin.register(PersonaRule)
class PersonaRuleAdmin(admin.ModelAdmin):
    """Editing a rule reclassifies every contact not set by hand (in the worker)."""

    list_display = ["priority", "keyword", "job_function", "seniority", "is_active"]
    list_display_links = ["keyword"]
    list_editable = ["priority", "is_active"]
    list_filter = ["job_function", "seniority", "is_active"]
    search_fields = ["keyword"]
    actions = ["reclassify"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.persona_rules_changed()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        services.persona_rules_changed()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        services.persona_rules_changed()

    @admin.action(description=_("Reclassify every contact by the rules now"))
    def reclassify(self, request, queryset):
        count = services.contacts_reclassify()
        self.message_user(request, _("Contacts reclassified; %(count)s account(s) changed.")
                          % {"count": count}, messages.SUCCESS)


@admin.register(PersonaReclassification)
class PersonaReclassificationAdmin(admin.ModelAdmin):
    """Whether a persona rule change still waits for its reclassification (read only: the
    rules' admin sets it, the task clears it, `manage.py redrive` queues it again)."""

    list_display = ["__str__", "requested_at", "queued_at"]
    readonly_fields = ["requested_at", "queued_at"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PersonaMultiplier)
class PersonaMultiplierAdmin(admin.ModelAdmin):
    """Saving rescores every account (in the worker)."""

    list_display = ["job_function", "seniority", "multiplier"]
    list_editable = ["multiplier"]
    list_display_links = ["job_function"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.accounts_rescore_all()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        services.accounts_rescore_all()


@admin.register(Technology)
class TechnologyAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "account_count"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(account_count=Count("accounts"))

    @admin.display(ordering="account_count", description=_("accounts"))
    def account_count(self, obj):
        return obj.account_count


class CommitteeRoleInline(admin.TabularInline):
    """The tier's required buying committee."""

    model = CommitteeRole
    extra = 0
    fields = ["buying_role", "count"]
    verbose_name = _("required buying role")
    verbose_name_plural = _("required buying committee")


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    list_display = ["number", "name", "engagement_model", "capacity", "engagement_multiplier",
                    "account_count"]
    inlines = [CommitteeRoleInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        tier = form.instance
        if any(formset.has_changed() for formset in formsets):
            services.tier_committee_changed(tier=tier)
        if "engagement_multiplier" in form.changed_data:
            services.accounts_rescore_all()

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(account_count=Count("accounts"))

    @admin.display(ordering="account_count", description=_("accounts"))
    def account_count(self, obj):
        return obj.account_count


@admin.register(TierRule)
class TierRuleAdmin(admin.ModelAdmin):
    list_display = ["priority", "name", "tier", "min_fit", "min_acv", "max_acv",
                    "recent_intent", "recent_engagement", "is_active"]
    list_display_links = ["name"]
    list_editable = ["priority", "is_active"]
    list_filter = ["tier", "is_active"]
    list_select_related = ["tier"]


class IcpCriterionInline(admin.TabularInline):
    model = IcpCriterion
    extra = 0
    fields = ["attribute", "values", "min_value", "max_value", "weight"]


class IcpPersonaInline(admin.TabularInline):
    model = IcpPersona
    extra = 0
    fields = ["job_function", "seniority", "weight"]


@admin.register(IcpProfile)
class IcpProfileAdmin(admin.ModelAdmin):
    list_display = ["name", "is_active", "updated_at"]
    inlines = [IcpCriterionInline, IcpPersonaInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if any(formset.model is IcpPersona and formset.has_changed() for formset in formsets):
            services.accounts_rescore_all()
    actions = ["activate"]

    @admin.action(description=_("Make the selected profile the active ICP"))
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one profile."), messages.ERROR)
            return
        services.icp_profile_activate(profile=queryset.get())
        self.message_user(request, _("Profile activated; recompute to rescore fit."),

                          messages.SUCCESS)


@admin.register(EngagementKind)
class EngagementKindAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "weight"]
    list_editable = ["weight"]
    search_fields = ["key", "name"]


@admin.register(IntentSignal)
class IntentSignalAdmin(admin.ModelAdmin):
    list_display = ["account", "topic", "score", "source", "week"]
    list_filter = ["source", "week"]
    list_select_related = ["account"]
    search_fields = ["topic", "account__name", "account__domain"]
    autocomplete_fields = ["account"]
    date_hierarchy = "week"


@admin.register(EngagementEvent)
class EngagementEventAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "account", "kind", "contact", "source", "external_id"]
    list_filter = ["kind", "source"]
    list_select_related = ["account", "kind", "contact"]
    search_fields = ["account__name", "account__domain", "external_id", "source"]
    autocomplete_fields = ["account", "contact"]
    date_hierarchy = "occurred_at"
    readonly_fields = ["dedupe_key"]

    def save_model(self, request, obj, form, change):
        obj.dedupe_key = services.engagement_dedupe_key(
            account_id=obj.account_id, kind_key=obj.kind.key, occurred_at=obj.occurred_at,
            contact_id=obj.contact_id, source=obj.source, external_id=obj.external_id)
        super().save_model(request, obj, form, change)


@admin.register(TierAssignment)
class TierAssignmentAdmin(admin.ModelAdmin):
    list_display = ["created_at", "account", "old_tier", "new_tier", "cause", "rule", "by"]
    list_filter = ["cause", "new_tier"]
    list_select_related = ["account", "old_tier", "new_tier", "rule", "rule__tier", "by"]
    search_fields = ["account__name", "account__domain", "reason"]
    readonly_fields = [f.name for f in TierAssignment._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RecomputeJob)
class RecomputeJobAdmin(admin.ModelAdmin):
    list_display = ["id", "status", "trigger", "done", "total", "created_by", "created_at",
                    "finished_at"]
    list_filter = ["status", "trigger"]
    list_select_related = ["created_by"]
    readonly_fields = ["status", "trigger", "account_ids", "total", "done", "result",
                       "message_text", "attempts", "created_by", "created_at", "queued_at",
                       "started_at", "heartbeat_at", "finished_at"]

    def has_add_permission(self, request):
        return False


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ["name", "filters", "created_by", "updated_at"]
    list_select_related = ["created_by"]
    search_fields = ["name"]
