"""The pipeline's pages: `/pipeline/` (the board of open deals by stage, the forecast drawn as
SVG, win rate and cycle by owner, product and tier, the attribution table and its CSV), a
deal moved from the board, the account page's Opportunities panel and the funnel dashboard's
Campaign ROI panel. Plain forms, no JavaScript; the same services and reports as the API."""

from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from abmcrm.core import roles
from abmcrm.core.exceptions import AbmError
from abmcrm.core.exports import csv_writer
from programs.models import Campaign
from tiers.models import Tier

from . import attribution, conf, reports, selectors, services, svg
from .filters import OpportunityFilter, owner_choices
from .models import Channel
from .views import AttributionQuerySerializer, may_change

MODEL_LABELS = [
    ("first", gettext_lazy("First touch")), ("last", gettext_lazy("Last touch")),
    ("linear", gettext_lazy("Linear")), ("u_shaped", gettext_lazy("U-shaped (40/20/40)")),
    ("w_shaped", gettext_lazy("W-shaped (30/30/30 + 10)")),
    ("time_decay", gettext_lazy("Time decay")),
]
FILTERS = ("owner", "stage", "product", "tier", "campaign", "channel", "search")
PERIOD = ("start", "end", "model")
BREAKDOWNS = [("owner", gettext_lazy("By owner")), ("product", gettext_lazy("By product")),
              ("tier", gettext_lazy("By tier"))]


def _require_role(user):
    if not roles.has_role(user, *roles.ROLES):
        raise PermissionDenied(_("You need the Sales rep, Marketer or ABM admin role."))


def _params(request):
    """The page's parameters: a rep starts on their own deals ("owner=" shows everyone's)."""
    params = request.GET.copy()
    if "owner" not in params and roles.role_of(request.user) == roles.SALES_REP:
        params["owner"] = "me"
    return params


def _deals(request, params, errors):
    """The deals the filters select; bad filters are named and left out."""
    values = {name: params[name] for name in FILTERS if params.get(name)}
    filterset = OpportunityFilter(values, queryset=selectors.opportunity_list(), request=request)
    if not filterset.is_valid():
        for name, messages_ in filterset.errors.items():
            errors[name] = messages_
            values.pop(name, None)
        filterset = OpportunityFilter(values, queryset=selectors.opportunity_list(),
                                      request=request)
    return filterset.qs if values else None, values


def _period(params, errors):
    form = AttributionQuerySerializer(data={k: params[k] for k in PERIOD if params.get(k)})
    if form.is_valid():
        return form.validated_data
    errors.update({name: [str(m) for m in msgs] for name, msgs in form.errors.items()})
    fallback = AttributionQuerySerializer(data={})
    fallback.is_valid()
    return fallback.validated_data


@login_required
def pipeline(request):
    _require_role(request.user)
    params, errors = _params(request), {}
    deals, values = _deals(request, params, errors)
    period = _period(params, errors)
    queryset = deals if deals is not None else selectors.opportunity_list()
    board = selectors.board(queryset=queryset)
    stages = selectors.stages()
    for column in board:
        # The move form proposes the next stage along the pipeline.
        following = next((s for s in stages if s.position > column["stage"].position), None)
        for deal in column["deals"]:
            deal.may_move = may_change(request.user, deal)
            deal.next_stage_id = following.pk if following else None
    forecast = reports.forecast(deals=deals)
    breakdowns = []
    for group_by, label in BREAKDOWNS:
        report = reports.pipeline_report(reports.ReportQuery(
            start=period["start"], end=period["end"], group_by=group_by, deals=deals))
        breakdowns.append({"group_by": group_by, "label": label, "report": report})
    attributed = attribution.attribution(attribution.AttributionQuery(
        start=period["start"], end=period["end"], model=period["model"], deals=deals))
    query = {**values, "start": period["start"].isoformat(),
             "end": period["end"].isoformat(), "model": period["model"]}
    if "owner" in params and not params["owner"]:
        query["owner"] = ""
    return render(request, "pipeline/pipeline.html", {
        "board": board, "forecast": forecast,
        "forecast_svg": mark_safe(svg.forecast_chart(forecast["months"])),  # noqa: S308 (escaped)
        "breakdowns": breakdowns, "attribution": attributed, "errors": errors,
        "values": {**{name: params.get(name, "") for name in FILTERS}, **query},
        "query": urlencode(query), "models": MODEL_LABELS,
        "stages": stages, "owners": owner_choices(), "tiers": Tier.objects.all(),
        "campaigns": Campaign.objects.order_by("name"), "channels": Channel.choices,
        "board_total": sum(c["amount"] for c in board),
        "board_weighted": sum(c["weighted"] for c in board),
        "is_rep": roles.role_of(request.user) == roles.SALES_REP,
    })


@login_required
@require_POST
def move(request, pk):
    """A deal moved from the board: the same service as `POST …/move/`."""
    _require_role(request.user)
    deal = get_object_or_404(selectors.opportunity_list(), pk=pk)
    if not may_change(request.user, deal):
        raise PermissionDenied(_("You may move only the deals you own."))
    stage = selectors.stages_by_ref().get(request.POST.get("stage", "").strip().lower())
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = "pipeline"
    if stage is None:
        messages.error(request, _("Pick a stage to move the deal to."))
        return redirect(target)
    try:
        services.opportunity_move(opportunity=deal, stage=stage, by=request.user)
    except AbmError as exc:
        details = " ".join(" ".join(map(str, msgs)) for msgs in (exc.detail or {}).values())
        messages.error(request, details or exc.message)
    else:
        messages.success(request, _("“%(deal)s” moved to %(stage)s.")
                         % {"deal": deal.name, "stage": stage.name})
    return redirect(target)


ATTRIBUTION_COLUMNS = ["campaign_id", "campaign", "code", "channel", "attributed_deals",
                       "attributed_pipeline", "attributed_won_revenue"]


@login_required
def attribution_csv(request):
    _require_role(request.user)
    params, errors = _params(request), {}
    deals, _values = _deals(request, params, errors)
    period = _period(params, errors)
    if errors:
        lines = [f"{field}: {' '.join(map(str, msgs))}" for field, msgs in errors.items()]
        return HttpResponse(_("Invalid parameters:") + "\n" + "\n".join(lines) + "\n",
                            status=400, content_type="text/plain; charset=utf-8")
    result = attribution.attribution(attribution.AttributionQuery(
        start=period["start"], end=period["end"], model=period["model"], deals=deals))
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"attribution-{result['model']}-{result['start']}-{result['end']}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv_writer(response)
    writer.writerow(ATTRIBUTION_COLUMNS)
    for row in result["campaigns"]:
        writer.writerow([row["campaign"], row["name"], row["code"], row["channel"],
                         row["attributed_deals"], row["attributed_pipeline"],
                         row["attributed_won_revenue"]])
    unattributed = result["unattributed"]
    writer.writerow(["", _("Unattributed"), "", "", unattributed["deals"],
                     unattributed["pipeline"], unattributed["won_revenue"]])
    writer.writerow(["", _("Total"), "", "", result["deals"], result["total_pipeline"],
                     result["total_won_revenue"]])
    return response


def account_opportunities_panel(request, account):
    """The account page's panel: its deals, open and closed, with their buying committee."""
    deals = list(selectors.account_opportunities(account=account))
    open_deals = [deal for deal in deals if deal.status == "open"]
    return render_to_string("pipeline/account_opportunities_panel.html", {
        "account": account, "deals": deals, "open_count": len(open_deals),
        "open_amount": sum((deal.amount or 0) for deal in open_deals),
        "weighted": sum((deal.weighted_amount or 0) for deal in open_deals),
    }, request=request)


def funnel_roi_panel(request, query):
    """The funnel dashboard's Campaign ROI, over the period it shows, under the attribution
    model picked beside it."""
    model = request.GET.get("model") or conf.settings.ABMCRM_ATTRIBUTION_DEFAULT_MODEL
    error = None
    if model not in attribution.MODELS:
        error = _("“%(model)s” is not an attribution model; showing %(default)s.") % {
            "model": model, "default": conf.settings.ABMCRM_ATTRIBUTION_DEFAULT_MODEL}
        model = conf.settings.ABMCRM_ATTRIBUTION_DEFAULT_MODEL
    start = query.start
    if (query.end - start).days >= attribution.MAX_PERIOD_DAYS:
        start = query.end - timedelta(days=attribution.MAX_PERIOD_DAYS - 1)
        error = _("Campaign ROI covers at most ten years: it shows %(start)s – %(end)s.") % {
            "start": start, "end": query.end}
    campaigns = list(attribution.campaigns_for_roi())
    rows = list(attribution.campaign_roi(campaigns=campaigns, model=model, start=start,
                                         end=query.end).values())
    channels = dict(Channel.choices)
    for row in rows:
        row["channel_label"] = channels.get(row["channel"], row["channel"])
    keep = {name: request.GET[name] for name in ("start", "end", "mode", "group_by", "side")
            if name in request.GET}
    return render_to_string("pipeline/funnel_roi_panel.html", {
        "rows": rows, "model": model, "models": MODEL_LABELS, "keep": keep, "error": error,
        "start": start, "end": query.end,
    }, request=request)
