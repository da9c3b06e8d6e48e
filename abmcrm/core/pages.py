"""The CSV import pages: upload a file, then follow its import as it runs (the page polls the
import's API resource; without JavaScript it reloads itself until the import ends)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from . import ingest, roles, selectors
from .auth import login_required
from .forms import ImportForm, importable_kinds
from .models import ImportJob
from .paginator import ListPaginator


def _require_role(user):
    if not roles.has_role(user, *roles.ROLES):
        raise PermissionDenied(_("You need the Sales rep, Marketer or ABM admin role."))


def _kinds(user):
    """What each importable kind's file needs: [{kind, label, required, optional}]."""
    out = []
    for kind, label in importable_kinds(user):
        ingester = ingest.get_ingester(kind)
        out.append({"kind": kind, "label": label, "required": ingester.required_columns,
                    "optional": [c for c in ingester.columns
                                 if c not in ingester.required_columns]})
    return out


@login_required
def import_list(request):
    """Start an import (the kinds the user may import) and see the recent ones."""
    _require_role(request.user)
    form = ImportForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        job = ingest.import_start(kind=form.cleaned_data["kind"],
                                  file=form.cleaned_data["file"], user=request.user)
        messages.success(request, _("Import #%(pk)s queued: this page follows it.")
                         % {"pk": job.pk})
        return redirect("import-page", pk=job.pk)
    page = ListPaginator(selectors.import_job_list(user=request.user), 25).get_page(
        request.GET.get("page"))
    labels = dict(importable_kinds(request.user))
    for job in page:
        job.kind_label = labels.get(job.kind) or _kind_label(job.kind)
    return render(request, "abmcore/import_list.html", {
        "form": form, "page": page, "kinds": _kinds(request.user),
    }, status=400 if form.errors else 200)


def _kind_label(kind):
    ingester = ingest.get_ingester(kind)
    label = ingester.label if ingester else kind
    return label[:1].upper() + label[1:]


@login_required
def import_detail(request, pk):
    """One import: its progress, counts, warnings and bad rows."""
    _require_role(request.user)
    job = get_object_or_404(selectors.import_job_list(user=request.user), pk=pk)
    job.kind_label = _kind_label(job.kind)
    # What the progress script writes, in the reader's language.
    texts = {"statuses": dict(ImportJob.Status.choices), "warning": _("Warning:"),
             "done": _("Finished."), "line": _("Line"), "wrong": _("What is wrong")}
    return render(request, "abmcore/import_detail.html", {"job": job, "texts": texts})
