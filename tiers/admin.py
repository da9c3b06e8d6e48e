from django.contrib import admin, messages
from django.db.models import Count

from . import services
from .models import Account, Contact, ImportJob, Technology, Tier


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    fields = ["first_name", "last_name", "email", "title", "buying_role"]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "domain", "industry", "country", "employees", "estimated_acv",
                    "owner", "tier", "is_customer"]
    list_filter = ["industry", "country", "is_customer", "tier", "funding_stage",
                   ("owner", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["owner", "tier"]
    search_fields = ["name", "domain", "external_id"]
    autocomplete_fields = ["owner", "technologies"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [ContactInline]
    fieldsets = [
        (None, {"fields": ["name", "domain", "external_id", "owner", "tier"]}),
        ("Firmographics", {"fields": ["industry", "country", "region", "employees",
                                      "annual_revenue", "funding_stage", "customer_count",
                                      "maturity", "estimated_acv"]}),
        ("Technographics", {"fields": ["technologies"]}),
        ("Customer", {"fields": ["is_customer", "renewal_count"]}),
        ("History", {"fields": ["created_at", "updated_at"]}),
    ]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["email", "first_name", "last_name", "title", "buying_role", "account"]
    list_filter = ["buying_role"]
    list_select_related = ["account"]
    search_fields = ["email", "first_name", "last_name", "account__name", "account__domain"]
    autocomplete_fields = ["account"]


@admin.register(Technology)
class TechnologyAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "account_count"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(account_count=Count("accounts"))

    @admin.display(ordering="account_count")
    def account_count(self, obj):
        return obj.account_count


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    list_display = ["number", "name", "engagement_model", "capacity"]


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    """Upload a CSV here: the import runs in the background; reload to follow its progress."""

    list_display = ["id", "kind", "original_name", "status", "rows_done", "total_rows",
                    "created", "updated", "error_count", "created_by", "created_at"]
    list_filter = ["status", "kind"]
    list_select_related = ["created_by"]
    readonly_fields = ["status", "total_rows", "rows_done", "created", "updated",
                       "error_count", "errors", "message", "created_by", "started_at",
                       "finished_at", "original_name"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["kind", "file"]
        return ["kind", "original_name", *self.readonly_fields[:-1]]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "kind", "file"] if obj else []

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "kind":
            from django import forms

            from . import ingest

            return forms.ChoiceField(choices=[(k, k) for k in ingest.kinds()])
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            return
        job = services.import_start(kind=form.cleaned_data["kind"],
                                    file=form.cleaned_data["file"], user=request.user)
        obj.pk = job.pk
        messages.info(request, "Import queued: reload this page to follow its progress.")

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)
