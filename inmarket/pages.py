"""The backtest page, `/models/in-market/` (marketers and admins): the active model's metrics,
the check on the accounts scored a horizon ago (drawn as SVG), the features that matter, and
the fallback message while there are too few deals. Plain HTML, no JavaScript."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from abmcrm.core import roles

from . import selectors, svg
from .conf import settings


@login_required
def backtest(request):
    if not roles.is_marketer(request.user):
        raise PermissionDenied(_("Only marketers and ABM admins see the in-market model."))
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
    })
