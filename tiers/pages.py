"""Server-rendered pages for reps: the account list and the account page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from abmcrm.core import hooks, roles
from abmcrm.core.exceptions import AbmError
from abmcrm.core.paginator import ListPaginator

from . import selectors, services
from .filters import AccountFilter
from .models import Tier


def _require_role(user):
    if not roles.has_role(user, *roles.ROLES):
        raise PermissionDenied("You need the Sales rep, Marketer or ABM admin role.")


@login_required
def home(request):
    return redirect("account-list")


@login_required
def account_list(request):
    _require_role(request.user)
    params = request.GET.copy()
    # Reps start on their own book of accounts; "owner=" (empty) shows everyone's.
    if "owner" not in params and roles.role_of(request.user) == roles.SALES_REP:
        params["owner"] = str(request.user.pk)
    filterset = AccountFilter(params, queryset=selectors.account_list(user=request.user))
    if not filterset.is_valid():
        # Show every account rather than none, with the bad filters named above the list.
        for name in filterset.errors:
            params.pop(name, None)
        valid = AccountFilter(params, queryset=selectors.account_list(user=request.user))
        rows = valid.qs if valid.is_valid() else valid.queryset
    else:
        rows = filterset.qs
    page = ListPaginator(rows, 50).get_page(request.GET.get("page"))
    query = params.copy()
    query.pop("page", None)
    return render(request, "tiers/account_list.html", {
        "filter": filterset, "page": page, "query": query.urlencode(),
    })


@login_required
def account_detail(request, pk):
    _require_role(request.user)
    account = get_object_or_404(
        selectors.account_list(user=request.user).select_related("tier_rule__tier"), pk=pk)
    contacts = account.contacts.all()
    panels = [mark_safe(html) for html in hooks.account_panels(request, account)]
    return render(request, "tiers/account_detail.html", {
        "account": account, "contacts": contacts, "panels": panels,
        "scores": selectors.account_scores(account=account),
        "history": selectors.tier_assignment_list(account=account)[:5],
        "can_override": roles.is_marketer(request.user),
        "tiers": Tier.objects.all(),
    })


@login_required
@require_POST
def account_tier(request, pk):
    """Marketers and admins override (and lock) or unlock an account's tier."""
    if not roles.is_marketer(request.user):
        raise PermissionDenied("Only marketers and ABM admins may change an account's tier.")
    account = get_object_or_404(selectors.account_list(user=request.user).select_related("tier"),
                                pk=pk)
    try:
        if request.POST.get("action") == "unlock":
            services.account_tier_unlock(account=account, by=request.user)
            messages.success(request, "Tier unlocked: the rules place the account again.")
        else:
            number = request.POST.get("tier", "")
            tier = Tier.objects.filter(number=number).first() if number.isdigit() else None
            if number.isdigit() and tier is None:
                raise PermissionDenied
            services.account_tier_override(account=account, tier=tier,
                                           reason=request.POST.get("reason", ""),
                                           by=request.user)
            messages.success(request, "Tier overridden and locked.")
    except AbmError as exc:
        messages.error(request, exc.message)
    return redirect("account-detail", pk=account.pk)
