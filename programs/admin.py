"""Admin screens: menus per tier (add, remove, reorder, activate, order counts), budgets
with committed / spent / remaining, orders with their history. Actions call services."""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from abmcrm.core.exceptions import AbmError
from abmcrm.core.formats import money
from tiers.admin import TierAdmin
from tiers.models import Tier

from . import services
from .fulfillment import admin as fulfillment_admin  # noqa: F401 - registers its screens
from .fulfillment.providers import provider_names
from .models import Budget, Campaign, MenuEntry, OrderEvent, ProgramItem, ProgramOrder


class MenuEntryInline(admin.TabularInline):
    model = MenuEntry
    extra = 0
    fields = ["position", "item", "tier"]
    autocomplete_fields = ["item"]
    ordering = ["tier", "position", "id"]


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "channel", "start_date", "end_date", "fixed_cost", "owner",
                    "item_count"]
    list_filter = ["channel"]
    list_select_related = ["owner"]
    search_fields = ["name", "code"]
    prepopulated_fields = {"code": ["name"]}
    autocomplete_fields = ["owner"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(item_count=Count("items"))

    @admin.display(ordering="item_count", description=_("items"))
    def item_count(self, obj):
        return obj.item_count


def _activated(count):
    return ngettext("%(count)d item activated.", "%(count)d items activated.",
                    count) % {"count": count}


def _deactivated(count):
    return ngettext("%(count)d item deactivated.", "%(count)d items deactivated.",
                    count) % {"count": count}


@admin.action(description=_("Activate the selected items"))
def activate_items(modeladmin, request, queryset):
    count = queryset.update(is_active=True)
    modeladmin.message_user(request, _activated(count), messages.SUCCESS)


@admin.action(description=_("Deactivate the selected items (they leave every menu)"))
def deactivate_items(modeladmin, request, queryset):
    count = queryset.update(is_active=False)
    modeladmin.message_user(request, _deactivated(count), messages.SUCCESS)


# How each configured provider is named in the admin; others by their configured name.
PROVIDER_LABELS = {"manual": _("By hand (a marketer works the fulfillment queue)"),
                   "gifting": _("Gifting platform"), "ad_audience": _("Ad audience platform")}


class ProgramItemForm(forms.ModelForm):
    """The fulfillment method picked from the configured providers, not typed."""

    fulfillment_method = forms.ChoiceField(label=_("Fulfillment method"), help_text=_(
        "Who sends it: a marketer by hand, or a connected gifting or ad platform (set up by "
        "your developers)."))

    class Meta:
        model = ProgramItem
        fields = ["name", "kind", "description", "campaign", "unit_cost", "currency",
                  "lead_time_days", "is_active", "active_from", "active_until",
                  "limit_per_account", "limit_period", "needs_contact", "auto_approve_up_to",
                  "fulfillment_method"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        names = provider_names()
        current = self.instance.fulfillment_method if self.instance.pk else None
        if current and current not in names:
            names.append(current)  # a provider removed from the settings stays visible
        self.fields["fulfillment_method"].choices = [
            (name, PROVIDER_LABELS.get(name, name)) for name in names]


@admin.register(ProgramItem)
class ProgramItemAdmin(admin.ModelAdmin):
    form = ProgramItemForm
    list_display = ["name", "kind", "campaign", "unit_cost", "currency", "lead_time_days",
                    "menus", "is_active", "auto_approve_up_to", "limit_per_account",
                    "limit_period", "order_count"]
    list_filter = ["is_active", "kind", "campaign", "menu_entries__tier", "needs_contact"]
    list_select_related = ["campaign"]
    search_fields = ["name", "description", "campaign__name"]
    autocomplete_fields = ["campaign"]
    actions = [activate_items, deactivate_items]
    inlines = [MenuEntryInline]
    fieldsets = [
        (None, {"fields": ["name", "kind", "description", "campaign"]}),
        (_("Cost and timing"), {"fields": ["unit_cost", "currency", "lead_time_days"]}),
        (_("Availability"), {"fields": ["is_active", "active_from", "active_until",
                                        "limit_per_account", "limit_period", "needs_contact"]}),
        (_("Approval and fulfillment"), {"fields": ["auto_approve_up_to",
                                                    "fulfillment_method"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            order_count=Count("orders", distinct=True)
        ).prefetch_related("menu_entries__tier")

    @admin.display(ordering="order_count", description=_("orders"))
    def order_count(self, obj):
        return obj.order_count

    @admin.display(description=_("on menus of"))
    def menus(self, obj):
        return ", ".join(f"T{entry.tier.number}" for entry in obj.menu_entries.all()) or "—"


@admin.register(MenuEntry)
class MenuEntryAdmin(admin.ModelAdmin):
    """Each tier's menu, in order: filter by tier, edit positions in place to reorder, add an
    item to a menu or delete an entry to take it off."""

    list_display = ["tier", "position", "item", "item_kind", "item_cost", "item_active",
                    "order_count"]
    list_display_links = ["item"]
    list_editable = ["position"]
    list_filter = ["tier", "item__is_active", "item__kind"]
    list_select_related = ["tier", "item"]
    search_fields = ["item__name"]
    autocomplete_fields = ["item"]
    ordering = ["tier__number", "position", "id"]
    actions = ["activate", "deactivate"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(order_count=Count("item__orders"))

    @admin.display(description=_("kind"))
    def item_kind(self, obj):
        return obj.item.get_kind_display()

    @admin.display(description=_("cost"))
    def item_cost(self, obj):
        return f"{obj.item.unit_cost} {obj.item.currency}"

    @admin.display(boolean=True, description=_("active"))
    def item_active(self, obj):
        return obj.item.is_active

    @admin.display(ordering="order_count", description=_("times ordered"))
    def order_count(self, obj):
        return obj.order_count

    @admin.action(description=_("Activate the items of the selected entries"))
    def activate(self, request, queryset):
        count = ProgramItem.objects.filter(menu_entries__in=queryset).update(is_active=True)
        self.message_user(request, _activated(count), messages.SUCCESS)

    @admin.action(description=_("Deactivate the items of the selected entries"))
    def deactivate(self, request, queryset):
        count = ProgramItem.objects.filter(menu_entries__in=queryset).update(is_active=False)
        self.message_user(request, _deactivated(count), messages.SUCCESS)


class TierMenuInline(admin.TabularInline):
    model = MenuEntry
    extra = 0
    fields = ["position", "item"]
    autocomplete_fields = ["item"]
    ordering = ["position", "id"]
    verbose_name = _("menu item")
    verbose_name_plural = _("menu (edit positions to reorder)")


class TierWithMenuAdmin(TierAdmin):
    inlines = [*getattr(TierAdmin, "inlines", []), TierMenuInline]


# The tiers app registers Tier; programs adds the tier's menu to that screen.
if admin.site.is_registered(Tier):
    admin.site.unregister(Tier)
admin.site.register(Tier, TierWithMenuAdmin)


class BudgetForm(forms.ModelForm):
    """A limit below what is already booked is refused on the field, with what was typed
    kept (the save then re-checks it against approvals made meanwhile)."""

    class Meta:
        model = Budget
        fields = ["name", "start_date", "end_date", "scope", "tier", "item", "campaign",
                  "limit"]

    def clean_limit(self):
        limit = self.cleaned_data["limit"]
        if self.instance.pk and limit is not None:
            used = self.instance.committed + self.instance.spent
            if limit < used:
                raise forms.ValidationError(
                    _("%(used)s is already committed or spent in this budget: the limit "
                      "cannot be lower.") % {"used": money(used)})
        return limit


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin):
    form = BudgetForm
    list_display = ["name", "scope", "target", "start_date", "end_date", "limit", "committed",
                    "spent", "remaining"]
    list_filter = ["scope", "tier", "start_date"]
    list_select_related = ["tier", "item", "campaign"]
    search_fields = ["name"]
    autocomplete_fields = ["item", "campaign"]
    readonly_fields = ["committed", "spent", "remaining"]
    fields = ["name", "start_date", "end_date", "scope", "tier", "item", "campaign", "limit",
              "committed", "spent", "remaining"]

    @admin.display(description=_("for"))
    def target(self, obj):
        return obj.tier or obj.item or obj.campaign or "everything"

    @admin.display(description=_("remaining"))
    def remaining(self, obj):
        return obj.remaining

    def save_model(self, request, obj, form, change):
        if change:
            try:
                services.budget_update(budget=obj, **{name: form.cleaned_data[name]
                                                      for name in form.changed_data})
            except AbmError as exc:
                # An approval committed money between the form's check and this save: say
                # so once, and send the admin back to the form (see response_change).
                request._abm_budget_refused = exc.message
            return
        super().save_model(request, obj, form, change)

    def message_user(self, request, message, *args, **kwargs):
        if getattr(request, "_abm_budget_refused", None):
            return  # no "changed successfully" beside the refusal
        super().message_user(request, message, *args, **kwargs)

    def response_change(self, request, obj):
        refused = getattr(request, "_abm_budget_refused", None)
        if refused:
            messages.error(request, _("Not saved: %(reason)s") % {"reason": refused})
            return redirect(request.path)
        return super().response_change(request, obj)

    def log_change(self, request, obj, message):
        if not getattr(request, "_abm_budget_refused", None):
            super().log_change(request, obj, message)


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    fields = ["at", "from_status", "to_status", "by", "note"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class RejectForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea, help_text=_("The rep reads this."))


# What the admin says once orders have moved, by the move.
_DONE = {
    "approved": lambda n: ngettext("%(count)d order approved.", "%(count)d orders approved.", n),
    "rejected": lambda n: ngettext("%(count)d order rejected.", "%(count)d orders rejected.", n),
    "cancelled": lambda n: ngettext("%(count)d order cancelled.", "%(count)d orders cancelled.",
                                    n),
}


def _run(modeladmin, request, queryset, service, verb, **kwargs):
    done = 0
    for order in queryset.select_related("item"):
        try:
            service(order=order, by=request.user, **kwargs)
            done += 1
        except AbmError as exc:
            modeladmin.message_user(request, f"#{order.pk}: {exc.message}", messages.ERROR)
    if done:
        modeladmin.message_user(request, _DONE[verb](done) % {"count": done}, messages.SUCCESS)


@admin.register(ProgramOrder)
class ProgramOrderAdmin(admin.ModelAdmin):
    list_display = ["id", "account", "item", "tier", "cost", "currency", "status",
                    "requested_by", "assignee", "created_at", "due_at"]
    list_filter = ["status", "tier", "item__kind", "item__campaign", "created_at"]
    list_select_related = ["account", "item", "tier", "requested_by", "assignee"]
    search_fields = ["account__name", "account__domain", "item__name", "note"]
    date_hierarchy = "created_at"
    inlines = [OrderEventInline]
    actions = ["approve", "reject", "cancel"]
    readonly_fields = ["account", "item", "tier", "contact", "cost", "currency", "status",
                       "requested_by", "approved_at", "due_at", "closed_at", "reason",
                       "budgets", "created_at", "updated_at"]
    fields = ["account", "item", "tier", "contact", "note", "cost", "currency", "status",
              "reason", "requested_by", "assignee", "budgets", "approved_at", "due_at",
              "closed_at", "external_reference", "created_at", "updated_at"]
    autocomplete_fields = ["assignee"]

    def has_add_permission(self, request):
        return False  # orders are placed through the menu, which checks tiers and limits

    @admin.action(description=_("Approve the selected orders"), permissions=["approve"])
    def approve(self, request, queryset):
        _run(self, request, queryset, services.order_approve, "approved")

    @admin.action(description=_("Reject the selected orders…"), permissions=["approve"])
    def reject(self, request, queryset):
        if "apply" in request.POST:
            form = RejectForm(request.POST)
            if form.is_valid():
                _run(self, request, queryset, services.order_reject, "rejected",
                     reason=form.cleaned_data["reason"])
                return None
        else:
            form = RejectForm()
        return render(request, "admin/programs/reject_orders.html", {
            **self.admin_site.each_context(request), "title": _("Reject orders"),

            "orders": queryset, "form": form,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME, "opts": self.model._meta,
        })

    @admin.action(description=_("Cancel the selected orders"), permissions=["approve"])
    def cancel(self, request, queryset):
        _run(self, request, queryset, services.order_cancel, "cancelled")

    def has_approve_permission(self, request):
        return services.may_approve(request.user)
