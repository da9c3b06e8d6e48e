"""Server-rendered pages: the rep's program menu for an account, the orders panel on the
account page, the order list and order page (with Cancel), and the marketers' approval
page."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from abmcrm.core import roles
from abmcrm.core.auth import login_required
from abmcrm.core.exceptions import AbmError, InvalidInput, NotAllowed
from abmcrm.core.ids import ids_in
from abmcrm.core.paginator import ListPaginator
from tiers import selectors as tier_selectors

from . import selectors, services
from .models import ProgramOrder


def _require_role(user):
    if not roles.has_role(user, *roles.ROLES):
        raise PermissionDenied(_("You need the Sales rep, Marketer or ABM admin role."))


def _recipient_choice(request, line, contacts, default):
    """The contact a recipient picker shows: what was posted, else the default."""
    if request.method == "POST":
        return request.POST.get(f"contact_{line.item.pk}", request.POST.get("contact", ""))
    return str(default.pk) if default else ""


@login_required
def account_programs(request, pk):
    """The account's tier menu as checkboxes, each item that is sent to a person with its own
    recipient picker; POST places one order per ticked item."""
    _require_role(request.user)
    account = get_object_or_404(
        tier_selectors.account_list(user=request.user).select_related(None)
        .select_related("tier", "owner").prefetch_related(None), pk=pk)
    contacts = list(account.contacts.all())
    by_pk = {str(contact.pk): contact for contact in contacts}
    may_order = services.may_order_for(request.user, account)
    errors, item_errors, refusal = [], {}, ""
    form = {"items": set(), "note": ""}

    if request.method == "POST":
        if not may_order:
            raise PermissionDenied(_("You may only order programs for accounts you own."))
        items = ids_in(request.POST.getlist("items"))
        form = {"items": set(items), "note": request.POST.get("note", "")}
        # Each ticked item's own picker (contact_<item id>); a form that sends one `contact`
        # for every item still works.
        recipients, shared = {}, None
        if request.POST.get("contact"):
            shared = by_pk.get(request.POST["contact"])
            if shared is None:
                errors.append(_("Choose a recipient from this account's contacts."))
        for item_id in items:
            chosen = request.POST.get(f"contact_{item_id}", "")
            if chosen:
                if chosen not in by_pk:
                    item_errors.setdefault(item_id, []).append(
                        _("Choose a recipient from this account's contacts."))
                else:
                    recipients[item_id] = by_pk[chosen]
        if not errors and not item_errors:
            try:
                orders = services.order_submit(
                    account=account, items=items, contact=shared, contacts=recipients,
                    note=form["note"], requested_by=request.user)
            except AbmError as exc:
                refusal = exc.message
                if isinstance(exc, InvalidInput) and exc.detail:
                    for entry in exc.detail.get("items", []):
                        if isinstance(entry, dict):
                            item_errors.setdefault(entry["item"], []).append(entry["reason"])
            else:
                messages.success(request, ngettext(
                    "%(count)d program ordered for %(account)s.",
                    "%(count)d programs ordered for %(account)s.", len(orders),
                ) % {"count": len(orders), "account": account.name})
                placed = ",".join(str(order.pk) for order in orders)
                return redirect(f"{reverse('account-programs', args=[account.pk])}"
                                f"?placed={placed}")

    lines = selectors.attach_suggestions(
        account=account, lines=selectors.menu_lines(account=account, has_contacts=bool(contacts)))
    if request.method != "POST" and may_order:
        # Suggested items (a play's) come pre-ticked; the rep unticks what they don't want.
        form["items"] = {line.item.pk for line in lines if line.suggestion and line.can_order}
    default = selectors.last_recipient(account=account) if may_order else None
    for line in lines:
        line.errors = item_errors.get(line.item.pk, [])
        if line.item.needs_contact:
            line.recipient = _recipient_choice(request, line, contacts, default)
    if refusal:
        # Reasons shown next to their items are not repeated at the top; one about an item
        # not on this menu (another tier's, or removed meanwhile) has nowhere else to go.
        shown = {line.item.pk for line in lines}
        errors.append(refusal if not item_errors or set(item_errors) - shown else
                      _("Nothing was ordered: see the reasons next to the items."))
    elif item_errors and not errors:
        errors.append(_("Nothing was ordered: see the reasons next to the items."))
    placed_ids = ids_in(request.GET.get("placed", "").split(","))
    placed = (list(selectors.order_list(user=request.user).filter(
        account=account, pk__in=placed_ids).order_by("pk")) if placed_ids else [])
    for order in placed:
        order.can_cancel = services.may_cancel_now(request.user, order)
    return render(request, "programs/account_programs.html", {
        "account": account, "contacts": contacts, "lines": lines, "may_order": may_order,
        "errors": errors, "form": form, "placed": placed,
    }, status=400 if errors else 200)


def _with_actions(user, orders):
    """Mark what the user may do with each order shown: open its page, cancel it."""
    may_see_all = roles.is_marketer(user)
    for order in orders:
        order.can_open = may_see_all or order.requested_by_id == user.pk
        order.can_cancel = services.may_cancel_now(user, order)
    return orders


def account_orders_panel(request, account):
    """The account page's panel: the account's orders the user may see (a rep's own; every
    order for marketers and admins) with their status and history."""
    orders = _with_actions(request.user, list(selectors.account_orders(account=account,
                                                                       user=request.user)))
    return render_to_string("programs/account_orders_panel.html", {
        "account": account, "orders": orders,
        "may_order": services.may_order_for(request.user, account),
        "mine_only": not roles.is_marketer(request.user),
    }, request=request)


ORDER_LIST_STATUSES = [("", gettext_lazy("Any status")),
                       ("open", gettext_lazy("Open (requested, approved, in progress)")),
                       *ProgramOrder.Status.choices]


@login_required
def order_list(request):
    """Orders across accounts, newest first: a rep's own, every order for marketers and
    admins."""
    _require_role(request.user)
    status = request.GET.get("status", "")
    if status not in dict(ORDER_LIST_STATUSES):
        messages.error(request, _("“%(status)s” is not a status; showing every order.")
                       % {"status": status})
        status = ""
    orders = selectors.order_list(user=request.user).prefetch_related(None).order_by(
        "-created_at", "-id")
    if status == "open":
        orders = orders.filter(status__in=[ProgramOrder.Status.REQUESTED, *ProgramOrder.COMMITTED])
    elif status:
        orders = orders.filter(status=status)
    page = ListPaginator(orders, 50).get_page(request.GET.get("page"))
    _with_actions(request.user, page.object_list)
    return render(request, "programs/order_list.html", {
        "page": page, "status": status, "statuses": ORDER_LIST_STATUSES,
        "mine_only": not roles.is_marketer(request.user),
    })


@login_required
def order_detail(request, pk):
    """One order: what, for whom, its status and history, and Cancel while it may be."""
    _require_role(request.user)
    order = selectors.order_detail(user=request.user, pk=pk)
    if order is None:
        raise Http404(_("No order #%(pk)s that you may see.") % {"pk": pk})
    _with_actions(request.user, [order])
    return render(request, "programs/order_detail.html", {"order": order})


@login_required
@require_POST
def order_cancel(request, pk):
    """Cancel an order from the order page, My orders or the account page; back to where
    the button was."""
    _require_role(request.user)
    order = selectors.order_for_action(pk)
    if order is None:
        raise Http404(_("No such order."))
    try:
        services.order_cancel(order=order, by=request.user,
                              reason=request.POST.get("reason", ""))
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc
    except AbmError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Order #%(pk)s (%(item)s for %(account)s) cancelled.")
                         % {"pk": order.pk, "item": order.item, "account": order.account})
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = reverse("order-detail", args=[order.pk])
    return redirect(target)


def _approval_rows(page, budgets, ticked=(), reasons=None, errors=None):
    left = selectors.budget_left_for_orders(page.object_list, budgets=budgets)
    reasons, errors = reasons or {}, errors or {}
    return [{"order": order, "budget": left[order.pk], "ticked": order.pk in ticked,
             "reason": reasons.get(order.pk, ""), "errors": errors.get(str(order.pk), [])}
            for order in page.object_list]


@login_required
def order_approvals(request):
    """Pending orders with the budget left; approve or reject several at once, each rejected
    order with its own reason (or one shared reason)."""
    if not services.may_approve(request.user):
        raise PermissionDenied(_("Only marketers and ABM admins approve orders."))
    # Oldest first, a page at a time: the queue can be long after a campaign launch.
    page = ListPaginator(selectors.orders_pending_approval(), 100).get_page(request.GET.get("page"))
    budgets = selectors.budgets_active()
    if request.method != "POST":
        return render(request, "programs/order_approvals.html", {
            "rows": _approval_rows(page, budgets), "budgets": budgets, "page": page})

    decision = request.POST.get("decision", "")
    ids = ids_in(request.POST.getlist("orders"))
    reasons = {order_id: request.POST.get(f"reason_{order_id}", "").strip()
               for order_id in ids_in(key.removeprefix("reason_") for key in request.POST
                                      if key.startswith("reason_"))}
    shared = request.POST.get("reason", "")
    row_errors = {}
    try:
        if not ids:
            raise InvalidInput(_("Tick at least one order."))
        done, failed = services.orders_bulk_decide(
            order_ids=ids, decision=decision, by=request.user, reason=shared, reasons=reasons)
    except AbmError as exc:
        # Nothing was decided: the page comes back as it was sent, ticks and reasons kept,
        # each order that lacks a reason saying so.
        messages.error(request, exc.message)
        if isinstance(exc, InvalidInput) and exc.detail:
            row_errors = exc.detail.get("reasons", {})
        return render(request, "programs/order_approvals.html", {
            "rows": _approval_rows(page, budgets, ids, reasons, row_errors),
            "budgets": budgets, "page": page, "shared_reason": shared,
        }, status=400)
    if done:
        numbers = ", ".join(f"#{order.pk}" for order in done)
        messages.success(request, (ngettext(
            "%(count)d order approved: %(numbers)s.", "%(count)d orders approved: %(numbers)s.",
            len(done)) if decision == "approve" else ngettext(
            "%(count)d order rejected: %(numbers)s.", "%(count)d orders rejected: %(numbers)s.",
            len(done))) % {"count": len(done), "numbers": numbers})
    for order_id, message in failed:
        messages.error(request, f"#{order_id}: {message}")
    if not failed:
        return redirect("order-approvals")
    # Those refused (a budget short, a change meanwhile) stay ticked, to retry or reject.
    page = ListPaginator(selectors.orders_pending_approval(), 100).get_page(
        request.GET.get("page"))
    budgets = selectors.budgets_active()
    return render(request, "programs/order_approvals.html", {
        "rows": _approval_rows(page, budgets, {order_id for order_id, _m in failed}, reasons),
        "budgets": budgets, "page": page, "shared_reason": shared,
    })
