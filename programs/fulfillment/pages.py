"""The marketers' fulfillment queue page, `/fulfillment/`."""

import re

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from abmcrm.core import roles
from abmcrm.core.auth import login_required
from abmcrm.core.exceptions import Conflict, InvalidInput
from abmcrm.core.paginator import ListPaginator

from ..models import ProgramOrder
from . import queue, selectors
from .filters import FulfillmentQueueFilter

PAGE_SIZE = 50


def _require_marketer(user):
    if not roles.is_marketer(user):
        raise PermissionDenied(_("Only marketers and ABM admins work the fulfillment queue."))


@login_required
def fulfillment_queue(request):
    _require_marketer(request.user)
    filterset = FulfillmentQueueFilter(request.GET, request=request,
                                      queryset=selectors.fulfillment_queue())
    orders = filterset.qs if filterset.is_valid() else ProgramOrder.objects.none()
    page = ListPaginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    for order in page:
        order.current_fulfillment = next(iter(order.fulfillments.all()), None)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "programs/fulfillment_queue.html", {
        "filter": filterset, "page": page, "query": query.urlencode(), "now": now,
        "counts": selectors.fulfillment_counts(now=now),
        "assignees": selectors.fulfillment_assignees(),
        "assignee": request.GET.get("assignee", ""),
    })


ACTIONS = {
    "claim": lambda order, user, data: queue.order_claim(order=order, by=user),
    "complete": lambda order, user, data: queue.order_complete(
        order=order, by=user, external_reference=data.get("external_reference", ""),
        note=data.get("note", "")),
    "fail": lambda order, user, data: queue.order_fail(order=order, by=user,
                                                           reason=data.get("reason", "")),
    "retry": lambda order, user, data: queue.order_retry(order=order, by=user,
                                                              note=data.get("note", "")),
}
DONE = {"claim": gettext_lazy("Order #%(id)s (%(item)s for %(account)s) claimed."),
        "complete": gettext_lazy("Order #%(id)s (%(item)s for %(account)s) marked fulfilled."),
        "fail": gettext_lazy("Order #%(id)s (%(item)s for %(account)s) marked failed."),
        "retry": gettext_lazy("Order #%(id)s (%(item)s for %(account)s) put back in the "
                              "queue.")}


@login_required
@require_POST
def fulfillment_action(request, pk, action):
    _require_marketer(request.user)
    if action not in ACTIONS:
        raise Http404(_("No such fulfillment action."))
    order = get_object_or_404(ProgramOrder.objects.select_related("item", "account"), pk=pk)
    values = {"id": order.pk, "item": order.item, "account": order.account}
    what = _("Order #%(id)s (%(item)s for %(account)s)") % values  # the page lists many
    try:
        ACTIONS[action](order, request.user, request.POST)
    except (Conflict, InvalidInput) as exc:
        # A refused move names the order already (in any language: "#12" not followed by a digit).
        named = re.search(rf"#{order.pk}(?!\d)", str(exc.message)) is not None
        messages.error(request, exc.message if named else f"{what}: {exc.message}")
    else:
        messages.success(request, DONE[action] % values)

    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = "fulfillment-queue"
    return redirect(target)
