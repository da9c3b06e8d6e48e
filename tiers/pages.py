"""Server-rendered pages for reps: the account list and the account page."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.safestring import mark_safe

from . import hooks, roles, selectors
from .filters import AccountFilter


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
    page = Paginator(filterset.qs, 50).get_page(request.GET.get("page"))
    query = params.copy()
    query.pop("page", None)
    return render(request, "tiers/account_list.html", {
        "filter": filterset, "page": page, "query": query.urlencode(),
    })


@login_required
def account_detail(request, pk):
    _require_role(request.user)
    account = get_object_or_404(selectors.account_list(user=request.user), pk=pk)
    contacts = account.contacts.all()
    panels = [mark_safe(html) for html in hooks.account_panels(request, account)]
    return render(request, "tiers/account_detail.html", {
        "account": account, "contacts": contacts, "panels": panels,
    })
