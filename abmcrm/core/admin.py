from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from . import ingest
from .models import ImportJob


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    """Upload a CSV here: the import runs in the background; reload to follow its progress."""

    list_display = ["id", "kind", "original_name", "status", "rows_done", "total_rows",
                    "created", "updated", "error_count", "created_by", "created_at"]
    list_filter = ["status", "kind"]
    list_select_related = ["created_by"]
    readonly_fields = ["status", "total_rows", "rows_done", "created", "updated",
                       "error_count", "bad_rows", "message_text", "attempts", "created_by",
                       "queued_at", "started_at", "heartbeat_at", "finished_at",
                       "original_name"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["kind", "file"]
        return ["kind", "original_name", *self.readonly_fields[:-1]]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "kind", "file"] if obj else []

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "kind":
            return forms.ChoiceField(choices=[(k, k) for k in ingest.kinds()])
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            return
        job = ingest.import_start(kind=form.cleaned_data["kind"],
                                  file=form.cleaned_data["file"], user=request.user)
        obj.pk = job.pk
        messages.info(request, _("Import queued: reload this page to follow its progress."))

    def response_add(self, request, obj, post_url_continue=None):
        # Straight to the job, where its progress and bad rows show.
        return redirect("admin:abmcore_importjob_change", obj.pk)

    @admin.display(description=_("Bad rows"))
    def bad_rows(self, obj):
        if not obj.errors:
            return "—"
        items = format_html_join(
            "", "<li>{} {}: {}</li>",
            ((pgettext("CSV", "line"), error.get("line", error.get("index")),
              ingest.errors_text(error["errors"]))
             for error in obj.errors),
        )
        more = obj.error_count - len(obj.errors)
        return format_html("<ul>{}</ul>{}", items,
                           _("… and %(count)s more.") % {"count": more} if more > 0 else "")


    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)
