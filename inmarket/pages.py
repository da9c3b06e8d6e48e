"""The backtest page, `/models/in-market/` (marketers and admins): the active model's metrics,
the check on the accounts scored a horizon ago (drawn as SVG), the features that matter, and
the fallback message while there are too few deals. Admins (those the API lets train and
activate: `IsAbmAdmin`) also start a training here and follow its job, and activate or roll
back a version. Plain HTML forms; a small script follows a running training, and without
JavaScript the page reloads itself until the job ends."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from abmcrm.core import roles
from abmcrm.core.permissions import IsAbmAdmin

from . import selectors, services, svg
from .conf import settings
from .models import TrainingJob


def may_train(request):
    """The API's rule for `POST models/in-market/train/` and `…/{version}/activate/`, so the
    page shows the buttons to exactly those the API lets use them."""
    return IsAbmAdmin().has_permission(request, None)


def _require_admin(request):
    if not may_train(request):
        raise PermissionDenied(IsAbmAdmin.message)


def _shown_job(request):
    """The training job the page follows: the one named by `?job=` (just started), else the
    latest one still running; None when there is none (or `?job=` names nothing)."""
    jobs = selectors.training_job_list().order_by("-created_at", "-id")
    wanted = request.GET.get("job", "")
    if wanted:
        # ASCII digits only: str.isdigit() accepts "²", which int() refuses.
        return (jobs.filter(pk=int(wanted)).first()
                if wanted.isascii() and wanted.isdigit() else None)
    return jobs.exclude(status__in=TrainingJob.FINISHED).first()


def _job_messages(request, job):
    """The outcome of a finished job, as the page's messages."""
    if job is None or not job.is_finished:
        return
    if job.status == TrainingJob.Status.FAILED:
        messages.error(request, _("Training #%(id)s failed: %(message)s")
                       % {"id": job.pk, "message": job.message_text or _("no reason given")})
        return
    result = job.result or {}
    if result.get("fallback"):
        text = _("Training #%(id)s finished: too few deals for a model, version v%(version)s "
                 "uses the rule.")
    elif result.get("active"):
        text = _("Training #%(id)s finished: version v%(version)s is active.")
    else:
        text = _("Training #%(id)s finished: version v%(version)s is stored but not active "
                 "(activate it below if you want it).")
    messages.success(request, text % {"id": job.pk, "version": result.get("version", "–")})


@login_required
def backtest(request):
    if not roles.is_marketer(request.user):
        raise PermissionDenied(_("Only marketers and ABM admins see the in-market model."))
    job = _shown_job(request)
    if request.GET.get("job"):
        _job_messages(request, job)
    model = selectors.model_list().filter(is_active=True).first()
    check = selectors.backtest()
    charts = {}
    if check:
        charts = {
            "stage": mark_safe(svg.share_chart(  # noqa: S308 - escaped in svg
                check["by_stage"], key="stage", label_key="label",
                title=_("Share that opened a deal, by buying stage then"),
                css_class="backtest-stage-chart")),
            "decile": mark_safe(svg.share_chart(  # noqa: S308 - escaped in svg
                check["by_decile"], key="decile", label_key="decile",
                title=_("Share that opened a deal, by decile then (1: most likely)"),
                css_class="backtest-decile-chart")),
        }
    return render(request, "inmarket/backtest.html", {
        "model": model, "check": check, "charts": charts,
        "features": selectors.feature_rows(model),
        "versions": list(selectors.model_list()[:10]),
        "horizon": settings.ABMCRM_INMARKET_HORIZON_DAYS,
        "minimum": settings.ABMCRM_INMARKET_MIN_POSITIVES,
        "is_admin": roles.is_abm_admin(request.user),
        "may_train": may_train(request),
        "job": job,
        "job_texts": {"statuses": dict(TrainingJob.Status.choices),
                      "running": _("Training runs in the background; this page follows it.")},
    })


@login_required
@require_POST
def backtest_train(request):
    """Start a training (the API's job, through the same service) and follow it on the page."""
    _require_admin(request)
    activate = request.POST.get("activate") in ("on", "true", "1")
    job = services.training_start(user=request.user, activate=activate)
    messages.info(request, _("Training #%(id)s started.") % {"id": job.pk})
    return redirect(f"{reverse('inmarket-backtest')}?job={job.pk}#training")


@login_required
@require_POST
def backtest_activate(request, version):
    """Make a version the active one (a roll back when it is older), as the API's
    `POST models/in-market/{version}/activate/`: the accounts are rescored by a recompute."""
    _require_admin(request)
    model = selectors.model_list().filter(version=version).first()
    if model is None:
        raise Http404(_("No such model version."))
    if model.is_active:
        messages.info(request, _("Version v%(version)s is already active.")
                      % {"version": model.version})
    else:
        services.model_activate(model=model)
        messages.success(request, _("Version v%(version)s is active; the accounts are being "
                                    "rescored with it.") % {"version": model.version})
    return redirect(f"{reverse('inmarket-backtest')}#versions")
