"""Server-rendered pages: the rep's program menu for an account, the orders panel on the
account page, and the marketers' approval page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse

from abmcrm.core import roles
from abmcrm.core.exceptions import AbmError, InvalidInput
from abmcrm.core.ids import ids_in
from abmcrm.core.paginator import ListPaginator
from tiers import selectors as tier_selectors

from . import selectors, services
from .models import ProgramOrder


def _require_role(user):
    if not roles.has_role(user, *roles.ROLES):
        raise PermissionDenied("You need the Sales rep, Marketer or ABM admin role.")


@login_required
def account_programs(request, pk):
    """The account's tier menu as checkboxes; POST places one order per ticked item."""
    _require_role(request.user)
    account = get_object_or_404(
        tier_selectors.account_list(user=request.user).select_related(None)
        .select_related("tier", "owner").prefetch_related(None), pk=pk)
    contacts = list(account.contacts.all())
    may_order = services.may_order_for(request.user, account)
    errors, item_errors, refusal = [], {}, ""
    form = {"items": set(), "contact": "", "note": ""}

    if request.method == "POST":
        if not may_order:
            raise PermissionDenied("You may only order programs for accounts you own.")
        form = {"items": set(ids_in(request.POST.getlist("items"))),
                "contact": request.POST.get("contact", ""), "note": request.POST.get("note", "")}
        contact = None
        if form["contact"]:
            contact = next((c for c in contacts if str(c.pk) == form["contact"]), None)
            if contact is None:
                errors.append("Choose a recipient from this account's contacts.")
        if not errors:
            try:
                orders = services.order_submit(
                    account=account, items=ids_in(request.POST.getlist("items")),
                    contact=contact, note=form["note"], requested_by=request.user)
            except AbmError as exc:
                refusal = exc.message
                if isinstance(exc, InvalidInput) and exc.detail:
                    for entry in exc.detail.get("items", []):
                        if isinstance(entry, dict):
                            item_errors.setdefault(entry["item"], []).append(entry["reason"])
            else:
                messages.success(request, f"{len(orders)} program{'s' if len(orders) != 1 else ''}"
                                          f" ordered for {account.name}.")
                placed = ",".join(str(order.pk) for order in orders)
                return redirect(f"{reverse('account-programs', args=[account.pk])}"
                                f"?placed={placed}")

    lines = selectors.menu_lines(account=account, has_contacts=bool(contacts))
    for line in lines:
        line.errors = item_errors.get(line.item.pk, [])
    if refusal:
        # Reasons shown next to their items are not repeated at the top; one about an item
        # not on this menu (another tier's, or removed meanwhile) has nowhere else to go.
        shown = {line.item.pk for line in lines}
        errors.append(refusal if not item_errors or set(item_errors) - shown else
                      "Nothing was ordered: see the reasons next to the items.")
    placed_ids = ids_in(request.GET.get("placed", "").split(","))
    placed = (list(selectors.order_list(user=request.user).filter(
        account=account, pk__in=placed_ids).order_by("pk")) if placed_ids else [])
    return render(request, "programs/account_programs.html", {
        "account": account, "contacts": contacts, "lines": lines, "may_order": may_order,
        "errors": errors, "item_errors": item_errors, "form": form, "placed": placed,
        "needs_recipient": any(line.item.needs_contact for line in lines),
    }, status=400 if errors else 200)


def account_orders_panel(request, account):
    """The account page's panel: the account's orders the user may see (a rep's own; every
    order for marketers and admins) with their status and history."""
    orders = list(selectors.account_orders(account=account, user=request.user))
    return render_to_string("programs/account_orders_panel.html", {
        "account": account, "orders": orders,
        "may_order": services.may_order_for(request.user, account),
        "mine_only": not roles.is_marketer(request.user),
    }, request=request)


ORDER_LIST_STATUSES = [("", "Any status"), ("open", "Open (requested, approved, in progress)"),
                       *ProgramOrder.Status.choices]


@login_required
def order_list(request):
    """Orders across accounts, newest first: a rep's own, every order for marketers and
    admins."""
    _require_role(request.user)
    status = request.GET.get("status", "")
    if status not in dict(ORDER_LIST_STATUSES):
        messages.error(request, f"“{status}” is not a status; showing every order.")
        status = ""
    orders = selectors.order_list(user=request.user).prefetch_related(None).order_by(
        "-created_at", "-id")
    if status == "open":
        orders = orders.filter(status__in=[ProgramOrder.Status.REQUESTED, *ProgramOrder.COMMITTED])
    elif status:
        orders = orders.filter(status=status)
    page = ListPaginator(orders, 50).get_page(request.GET.get("page"))
    return render(request, "programs/order_list.html", {
        "page": page, "status": status, "statuses": ORDER_LIST_STATUSES,
        "mine_only": not roles.is_marketer(request.user),
    })


@login_required
def order_approvals(request):
    """Pending orders with the budget left; approve or reject several at once."""
    if not services.may_approve(request.user):
        raise PermissionDenied("Only marketers and ABM admins approve orders.")
    if request.method == "POST":
        decision = request.POST.get("decision", "")
        ids = ids_in(request.POST.getlist("orders"))
        if not ids:
            messages.error(request, "Tick at least one order.")
            return redirect("order-approvals")
        try:
            done, failed = services.orders_bulk_decide(
                order_ids=ids, decision=decision, by=request.user,
                reason=request.POST.get("reason", ""))
        except AbmError as exc:
            messages.error(request, exc.message)
            return redirect("order-approvals")
        verb = "approved" if decision == "approve" else "rejected"
        if done:
            messages.success(request, f"{len(done)} order{'s' if len(done) != 1 else ''} "
                                      f"{verb}: " + ", ".join(f"#{o.pk}" for o in done) + ".")
        for order_id, message in failed:
            messages.error(request, f"#{order_id}: {message}")
        return redirect("order-approvals")

    # Oldest first, a page at a time: the queue can be long after a campaign launch.
    page = ListPaginator(selectors.orders_pending_approval(), 100).get_page(request.GET.get("page"))
    budgets = selectors.budgets_active()
    left = selectors.budget_left_for_orders(page.object_list, budgets=budgets)
    rows = [{"order": order, "budget": left[order.pk]} for order in page.object_list]
    return render(request, "programs/order_approvals.html",
                  {"rows": rows, "budgets": budgets, "page": page})
