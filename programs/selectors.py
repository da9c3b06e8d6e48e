"""Reads: the menu an account may order from, order lists, budgets left.

Everything here runs a fixed number of queries whatever the menu or list size."""

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from django.db.models import Count, F, Prefetch, Q, prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from abmcrm.core import hooks, roles
from abmcrm.core.ids import as_id

from .models import Budget, Campaign, MenuEntry, OrderEvent, ProgramItem, ProgramOrder

Status = ProgramOrder.Status
# Orders that count towards an item's per-account limit: all but those that never happened.
COUNTED = ~Q(status__in=[Status.REJECTED, Status.CANCELLED])


# Periods -----------------------------------------------------------------------------------

def period_start(period, today):
    """The first day of the limit period containing `today`; None for "ever"."""
    Period = ProgramItem.LimitPeriod
    if period == Period.MONTH:
        return today.replace(day=1)
    if period == Period.QUARTER:
        return date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    if period == Period.YEAR:
        return date(today.year, 1, 1)
    return None


def _start_of(day):
    return timezone.make_aware(datetime.combine(day, time.min))


def item_is_active(item, today):
    return (item.is_active and (item.active_from is None or item.active_from <= today)
            and (item.active_until is None or item.active_until >= today))


# Budgets -----------------------------------------------------------------------------------

def budgets_active(*, on=None):
    """Every budget whose period contains `on` (default today), in one query."""
    on = on or timezone.localdate()
    return list(Budget.objects.filter(start_date__lte=on, end_date__gte=on)
                .select_related("tier", "item", "campaign").order_by("pk"))


def budget_covers(budget, *, item_id, campaign_id, tier_id):
    scope = budget.scope
    return (scope == Budget.Scope.ALL
            or (scope == Budget.Scope.TIER and tier_id is not None and budget.tier_id == tier_id)
            or (scope == Budget.Scope.ITEM and budget.item_id == item_id)
            or (scope == Budget.Scope.CAMPAIGN and budget.campaign_id == campaign_id))


def tightest_budget(budgets, *, item_id, campaign_id, tier_id):
    """The covering budget with the least left, or None when no budget covers the item."""
    covering = [b for b in budgets
                if budget_covers(b, item_id=item_id, campaign_id=campaign_id, tier_id=tier_id)]
    return min(covering, key=lambda b: (b.remaining, b.pk)) if covering else None


def budget_list(*, user):
    queryset = Budget.objects.select_related("tier", "item", "campaign")
    if not roles.has_role(user, *roles.ROLES):
        return queryset.none()
    return queryset


# The menu ----------------------------------------------------------------------------------

@dataclass
class MenuLine:
    """One item on an account's menu and whether it can be ordered now."""

    item: ProgramItem
    position: int
    ordered_in_period: int = 0
    budget_remaining: Decimal | None = None
    budget_name: str = ""
    reasons: list = field(default_factory=list)  # [(code, message)]
    # An app above suggested it for this account (abmcrm.core.hooks.Suggestion), e.g. a play.
    suggestion: object = None

    @property
    def can_order(self):
        return not self.reasons

    @property
    def reason(self):
        return "; ".join(message for _, message in self.reasons)

    @property
    def reason_code(self):
        return self.reasons[0][0] if self.reasons else ""

    def blocking(self, *, ignore=()):
        return [(code, message) for code, message in self.reasons if code not in ignore]


def _limit_message(item):
    period = ProgramItem.LimitPeriod(item.limit_period).label
    return ngettext("already ordered once %(period)s for this account: “%(item)s” allows no "
                    "more",
                    "already ordered %(count)d times %(period)s for this account: “%(item)s” "
                    "allows no more", item.limit_per_account) % {
        "count": item.limit_per_account, "period": period, "item": item.name}


def menu_lines(*, account, items=None, today=None, has_contacts=None, check_budgets=True):
    """The lines of `account`'s tier menu, in menu order, each with why it can't be ordered.

    `items`: check these items instead (e.g. the ones a rep ticked) — an item off the menu or
    inactive gets a reason instead of being left out. Without it, only the items active today
    are listed. Four queries whatever the menu size (entries + items, orders in the period,
    budgets, contacts), three when `has_contacts` is given."""
    today = today or timezone.localdate()
    tier_id = account.tier_id
    if items is None:
        entries = (MenuEntry.objects.filter(tier_id=tier_id).select_related("item__campaign")
                   .order_by("position", "id")) if tier_id else []
        lines = [MenuLine(item=entry.item, position=entry.position) for entry in entries
                 if item_is_active(entry.item, today)]
    else:
        positions = dict(MenuEntry.objects.filter(tier_id=tier_id, item__in=items)
                         .values_list("item_id", "position")) if tier_id else {}
        lines = []
        for item in items:
            line = MenuLine(item=item, position=positions.get(item.pk, -1))
            if item.pk not in positions:
                line.reasons.append((
                    "not_on_menu",
                    _("“%(item)s” is not on Tier %(number)s's menu")
                    % {"item": item.name, "number": account.tier.number} if tier_id else
                    _("“%(item)s” is not on any menu: the account has no tier yet")
                    % {"item": item.name},
                ))
            elif not item_is_active(item, today):
                line.reasons.append(("inactive", _("“%(item)s” is not active today")
                                     % {"item": item.name}))
            lines.append(line)
    if not lines:
        return []

    limited = [line.item for line in lines if line.item.limit_per_account]
    if limited:
        starts = {item.pk: period_start(item.limit_period, today) for item in limited}
        orders = ProgramOrder.objects.filter(COUNTED, account=account,
                                             item_id__in=list(starts))
        if None not in starts.values():
            orders = orders.filter(created_at__gte=_start_of(min(starts.values())))
        counts = {}
        for item_id, created_at in orders.values_list("item_id", "created_at"):
            start = starts[item_id]
            if start is None or timezone.localdate(created_at) >= start:
                counts[item_id] = counts.get(item_id, 0) + 1
        for line in lines:
            if line.item.limit_per_account:
                line.ordered_in_period = counts.get(line.item.pk, 0)
                if line.ordered_in_period >= line.item.limit_per_account:
                    line.reasons.append(("limit_reached", _limit_message(line.item)))

    if any(line.item.needs_contact for line in lines):
        if has_contacts is None:
            has_contacts = account.contacts.exists()
        if not has_contacts:
            for line in lines:
                if line.item.needs_contact:
                    line.reasons.append((
                        "needs_contact",
                        _("needs a recipient contact: add a contact to the account first"),
                    ))

    if not check_budgets:
        return lines
    budgets = budgets_active(on=today)
    for line in lines:
        budget = tightest_budget(budgets, item_id=line.item.pk,
                                 campaign_id=line.item.campaign_id, tier_id=tier_id)
        if budget is not None:
            line.budget_remaining, line.budget_name = budget.remaining, budget.name
            if budget.remaining < line.item.unit_cost:
                line.reasons.append((
                    "budget_exhausted",
                    _("budget “%(budget)s” has %(left)s left, less than the cost (%(cost)s "
                      "%(currency)s)") % {"budget": budget.name, "left": budget.remaining,
                                          "cost": line.item.unit_cost,
                                          "currency": line.item.currency},

                ))
    return lines


def attach_suggestions(*, account, lines):
    """Mark the lines an app above suggests for the account (`hooks.menu_suggestions`: one
    query per suggesting app, whatever the menu size)."""
    found = hooks.menu_suggestions(account, [line.item.pk for line in lines])
    for line in lines:
        line.suggestion = found.get(line.item.pk)
    return lines


# Items and campaigns -----------------------------------------------------------------------

def campaign_list(*, user):
    queryset = Campaign.objects.select_related("owner")
    if not roles.has_role(user, *roles.ROLES):
        return queryset.none()
    return queryset


def program_item_list(*, user):
    queryset = ProgramItem.objects.select_related("campaign").prefetch_related(
        Prefetch("menu_entries", queryset=MenuEntry.objects.select_related("tier"))
    ).annotate(order_count=Count("orders", distinct=True)).order_by("name", "pk")
    if not roles.has_role(user, *roles.ROLES):
        return queryset.none()
    return queryset


# Orders ------------------------------------------------------------------------------------

def _with_related(queryset):
    return queryset.select_related(
        "account", "item__campaign", "tier", "contact", "requested_by", "assignee"
    ).prefetch_related(
        Prefetch("events", queryset=OrderEvent.objects.select_related("by").order_by("at", "id"))
    )


def orders_visible(queryset, *, user):
    """The one visibility rule for orders, shared by the API, the pages and the panels: reps
    see the orders they requested (a note, a reject reason or a history is between the rep
    and marketing), marketers and admins see all, anyone else none."""
    if roles.is_marketer(user):
        return queryset
    if roles.has_role(user, *roles.ROLES):
        return queryset.filter(requested_by=user)
    return queryset.none()


def order_list(*, user):
    """Orders the user may see (`orders_visible`), with what a list shows."""
    return orders_visible(_with_related(ProgramOrder.objects.all()), user=user)


def order_rows(*, user):
    """Orders the user may see (`orders_visible`) as the API lists them: the related values
    its representation shows (`serializers.ProgramOrderSerializer`) annotated, not loaded
    as objects. A page of 100 orders with their related objects and prefetched history
    built some 900 model instances and 100 querysets, most of the list's time. Attach
    their history with `attach_event_rows` once paged."""
    return orders_visible(ProgramOrder.objects.annotate(
        row_account_name=F("account__name"), row_item_name=F("item__name"),
        row_item_kind=F("item__kind"), row_campaign=F("item__campaign_id"),
        row_tier_number=F("tier__number"), row_requested_by_name=F("requested_by__username"),
    ), user=user)


def attach_event_rows(orders):
    """Attach each order's history, oldest first, as `event_rows` (the API's shape), in one
    query for all of them."""
    rows = {order.pk: [] for order in orders}
    if rows:
        history = (OrderEvent.objects.filter(order_id__in=list(rows)).order_by("at", "id")
                   .values_list("order_id", "from_status", "to_status", "by__username",
                                "note", "at"))
        for order_id, from_status, to_status, by, note, at in history:
            rows[order_id].append({"from_status": from_status, "to_status": to_status,
                                   "by": by, "note": note, "at": at})
    for order in orders:
        order.event_rows = rows[order.pk]
    return orders


def account_orders(*, account, user):
    """The orders of one account the user may see, with their history (the account page)."""
    return order_list(user=user).filter(account=account)


def attach_events(orders):
    """Load the history of orders already in memory, in one query."""
    prefetch_related_objects(orders, Prefetch(
        "events", queryset=OrderEvent.objects.select_related("by").order_by("at", "id")))
    return orders


def order_for_action(pk):
    """The order a URL's id names, with its item, for an action on it; None if there is
    none, also for an id that is no id (letters, or past the id column's range)."""
    pk = as_id(pk)
    return ProgramOrder.objects.select_related("item").filter(pk=pk).first() if pk else None


def last_recipient(*, account):
    """The contact the account's latest order went to: the default of the menu's recipient
    pickers (one query)."""
    order = (ProgramOrder.objects.filter(account=account, contact__isnull=False)
             .select_related("contact").order_by("-created_at", "-id").first())
    return order.contact if order else None


def order_detail(*, user, pk):
    """One order the user may see (the rule of `order_list`), with its history; None if
    there is none for them."""
    pk = as_id(pk)
    return order_list(user=user).filter(pk=pk).first() if pk else None


def orders_by_ids(ids):
    return _with_related(ProgramOrder.objects.filter(pk__in=ids)).order_by("pk")


def orders_pending_approval():
    return _with_related(ProgramOrder.objects.filter(status=Status.REQUESTED)).order_by(
        "created_at", "id")


def budget_left_for_orders(orders, *, budgets=None):
    """{order id: the covering budget with least left} for a list of orders, no queries
    beyond the one that reads the active budgets."""
    budgets = budgets_active() if budgets is None else budgets
    return {
        order.pk: tightest_budget(budgets, item_id=order.item_id,
                                  campaign_id=order.item.campaign_id, tier_id=order.tier_id)
        for order in orders
    }
