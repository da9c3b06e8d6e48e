"""The funnel dashboard (marketers and ABM admins): the dual funnel as SVG, the group-by
table with its CSV download, and the panels the apps above add for the same period (the
pipeline's campaign ROI). Plain GET forms, no JavaScript."""

from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from abmcrm.core import hooks, roles
from abmcrm.core.auth import login_required
from abmcrm.core.exceptions import InvalidInput
from abmcrm.core.exports import csv_writer

from . import reports, selectors, svg
from .views import ReportQuerySerializer, report_query

GROUP_CHOICES = [("", _("No grouping")), ("channel", _("Channel")),
                 ("campaign", _("Campaign")), ("tier", _("Tier")), ("month", _("Month of entry"))]
MODES = [("cohort", _("Cohort (entered in the period)")),
         ("period", _("Period (what happened in it)"))]


def _require_marketer(user):
    if not roles.is_marketer(user):
        raise PermissionDenied(_("The funnel dashboard is for marketers and ABM admins."))


def _query(request):
    try:
        return report_query(request.GET), None
    except InvalidInput as exc:
        return report_query({}), exc.detail


def _table_rows(report):
    """One row per (group, side, stage): the table on the page and in the CSV."""
    groups = report["groups"] or [{"key": None, "label": _("All"), "sides": report["sides"],
                                   "summary": report["summary"]}]
    rows = []
    for group in groups:
        for side, stages in group["sides"].items():
            summary = group["summary"][side]
            for stage in stages:
                # The side's totals go on its won row only, so a column sums correctly.
                won = stage["stage"] == stages[-1]["stage"]
                rows.append({"group": group["label"], "group_key": group["key"], "side": side,
                             **stage,
                             "won_revenue": summary["won_revenue"] if won else None,
                             "worked_per_won_deal": summary["worked_per_won_deal"] if won
                             else None})
    return rows


@login_required
def dashboard(request):
    _require_marketer(request.user)
    query, errors = _query(request)
    report = reports.funnel_report(query)
    stages = selectors.stages()
    paths = {side: selectors.side_path(side, stages) for side in query.sides}
    # Panels of the apps above (the pipeline's campaign ROI), for the period shown.
    panels = [mark_safe(html) for html in hooks.panels("funnel_page_panels", request, query)]
    shown = {"start": query.start.isoformat(), "end": query.end.isoformat(),
             "mode": query.mode, "group_by": query.group_by or ""}
    if errors:
        # The form keeps what was typed, to correct it; the report and its CSV link are the
        # default period's, which the page says it shows instead.
        values = {**shown, **{name: request.GET[name] for name in shown if name in request.GET}}
        csv_query = urlencode(shown)
    else:
        values, csv_query = shown, request.GET.urlencode()
    return render(request, "funnel/dashboard.html", {
        "query": query, "errors": errors, "report": report, "values": values,
        "svg": mark_safe(svg.dual_funnel(report["sides"], paths)),  # noqa: S308 (escaped)
        "table": _group_table(report), "group_choices": GROUP_CHOICES, "modes": MODES,
        "mode_label": dict(MODES)[query.mode],
        "group_label": dict(GROUP_CHOICES).get(query.group_by or "", ""),
        "stage_names": {stage.slug: stage.name for stage in stages},
        "csv_query": csv_query, "panels": panels,
        "form": ReportQuerySerializer,
    })


def _group_table(report):
    """Per group: each side's stages with reached and conversion, plus won revenue."""
    groups = report["groups"] or [{"key": None, "label": _("All"), "sides": report["sides"],
                                   "summary": report["summary"]}]
    sides = list(report["sides"])
    headers = {side: [s["name"] for s in report["sides"][side]] for side in sides}
    rows = []
    for group in groups:
        rows.append({"label": group["label"], "sides": [
            {"side": side, "stages": group["sides"][side], "summary": group["summary"][side]}
            for side in sides]})
    return {"sides": sides, "headers": headers, "rows": rows}


CSV_COLUMNS = ["group", "group_key", "side", "stage", "reached", "conversion_to_next",
               "ratio_to_next", "median_days_to_next", "p90_days_to_next", "lost",
               "won_revenue", "worked_per_won_deal"]


@login_required
def table_csv(request):
    _require_marketer(request.user)
    query, errors = _query(request)
    if errors:
        # A download of the default period would pass for the one asked for: refuse it.
        lines = [f"{field}: {' '.join(map(str, msgs))}" for field, msgs in errors.items()]
        return HttpResponse(_("Invalid report parameters:") + "\n" + "\n".join(lines) + "\n",

                            status=400, content_type="text/plain; charset=utf-8")
    report = reports.funnel_report(query)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"funnel-{query.mode}-{query.group_by or 'all'}-{query.start}-{query.end}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv_writer(response)
    writer.writerow(CSV_COLUMNS)
    for row in _table_rows(report):
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in CSV_COLUMNS])
    return response
