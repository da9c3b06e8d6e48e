"""Server-rendered pages: the account list, the account page and the ICP editor."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from abmcrm.core import hooks, roles
from abmcrm.core.auth import login_required
from abmcrm.core.exceptions import AbmError
from abmcrm.core.paginator import ListPaginator

from . import scoring, selectors, services
from .filters import AccountFilter
from .forms import ATTRIBUTE_NAMES, IcpCriterionForm
from .models import Account, Contact, IcpCriterion, Tier


def _require_role(user):
    if not roles.has_role(user, *roles.ROLES):
        raise PermissionDenied(_("You need the Sales rep, Marketer or ABM admin role."))


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
        "missing_role_choices": Contact.BuyingRole.choices,
    })


@login_required
def account_detail(request, pk):
    _require_role(request.user)
    account = get_object_or_404(
        selectors.account_list(user=request.user).select_related("tier_rule__tier"), pk=pk)
    contacts = account.contacts.all()
    panels = [mark_safe(html) for html in hooks.account_panels(request, account)]
    scores = selectors.account_scores(account=account)
    rule_checks = selectors.tier_rule_checks(account=account)
    role_names = dict(Contact.BuyingRole.choices)
    return render(request, "tiers/account_detail.html", {
        "committee_required": [(role_names[role], count) for role, count in
                               scores["explanation"]["committee"]["required"].items()],
        "account": account, "contacts": contacts, "panels": panels, "scores": scores,
        "history": selectors.tier_assignment_list(account=account)[:5],
        "can_override": roles.is_marketer(request.user),
        "tiers": Tier.objects.all(),
        "rule_checks": rule_checks,
        "placing_rule": next((check for check in rule_checks
                              if check["rule"].pk == account.tier_rule_id), None),
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


# The ICP editor ----------------------------------------------------------------------------

def _icp_form(request, source, bound):
    attribute = source.get("attribute", "")
    if attribute not in IcpCriterion.Attribute.values:
        attribute = IcpCriterion.Attribute.INDUSTRY
    return IcpCriterionForm(source if bound else None, initial={"attribute": attribute},
                            value_choices=selectors.icp_attribute_values(attribute))


@login_required
def icp_editor(request):
    """The active ICP's criteria with how many accounts meet each, a criterion builder (an
    attribute, then values present in the data or a minimum and maximum, with the number
    of accounts it matches) and the lift-ranked suggestions. ABM admins edit; the other
    roles read."""
    _require_role(request.user)
    may_edit = roles.is_abm_admin(request.user)
    if request.method == "POST":
        if not may_edit:
            raise PermissionDenied(_("Only ABM admins edit the ICP."))
        form = _icp_form(request, request.POST, bound=True)
        if form.is_valid():
            data = form.cleaned_data
            try:
                criterion = services.icp_criterion_add(
                    attribute=data["attribute"], values=data["values"],
                    min_value=data["min_value"], max_value=data["max_value"],
                    weight=data["weight"])
            except AbmError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("Criterion “%(label)s” added. Rescore the accounts "
                                            "for their fit to follow it.")
                                 % {"label": criterion.label})
                return redirect("icp-editor")
    else:
        form = _icp_form(request, request.GET, bound="count" in request.GET)
    match_count = None
    if request.method == "GET" and form.is_bound and form.is_valid():
        match_count = selectors.icp_criterion_match_count(form.criterion())
    profile, criteria = scoring.active_criteria()
    counts = selectors.icp_criteria_match_counts(criteria)
    for criterion in criteria:
        criterion.match_count = counts[criterion.pk]
    return render(request, "tiers/icp.html", {
        "form": form, "profile": profile, "criteria": criteria, "may_edit": may_edit,
        "may_rescore": roles.is_marketer(request.user), "match_count": match_count,
        "account_count": Account.objects.count(),
        "suggestions": selectors.icp_suggestions(limit=12),
        "attribute_names": ATTRIBUTE_NAMES,
    }, status=400 if request.method == "POST" else 200)


@login_required
def icp_count(request):
    """The live count of the criterion builder: {"count": accounts meeting it, "total"}."""
    _require_role(request.user)
    form = _icp_form(request, request.GET, bound=True)
    if not form.is_valid():
        return JsonResponse({"count": None, "errors": form.errors}, status=400)
    return JsonResponse({"count": selectors.icp_criterion_match_count(form.criterion()),
                         "total": Account.objects.count()})


@login_required
@require_POST
def icp_criterion_delete(request, pk):
    if not roles.is_abm_admin(request.user):
        raise PermissionDenied(_("Only ABM admins edit the ICP."))
    criterion = get_object_or_404(IcpCriterion, pk=pk)
    services.icp_criterion_delete(criterion=criterion)
    messages.success(request, _("Criterion “%(label)s” removed.") % {"label": criterion.label})
    return redirect("icp-editor")


@login_required
@require_POST
def icp_suggestion_apply(request):
    """One click: a suggestion becomes a criterion of the active ICP."""
    if not roles.is_abm_admin(request.user):
        raise PermissionDenied(_("Only ABM admins edit the ICP."))
    try:
        criterion = services.icp_suggestion_apply(
            attribute=request.POST.get("attribute", ""), value=request.POST.get("value", ""))
    except AbmError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Criterion “%(label)s” added from the suggestions.")
                         % {"label": criterion.label})
    return redirect("icp-editor")


@login_required
@require_POST
def icp_rescore(request):
    """Rescore and retier every account (in the worker), e.g. after editing the ICP."""
    if not roles.is_marketer(request.user):
        raise PermissionDenied(_("Only marketers and ABM admins start a recompute."))
    job = services.recompute_start(user=request.user)
    messages.success(request, _("Recompute #%(pk)s queued: every account is rescored in the "
                                "background.") % {"pk": job.pk})
    return redirect("icp-editor")
