"""Demo data for the program menu: campaigns, a realistic menu per tier using every kind of
program, budgets for the current quarter, and orders in various statuses for the demo rep's
accounts. Idempotent: a second run changes nothing."""

from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.test.utils import override_settings
from django.utils import timezone

from tiers.models import Account, Tier

from . import services
from .models import Budget, Campaign, MenuEntry, OrderEvent, ProgramItem, ProgramOrder

Kind = ProgramItem.Kind
Status = ProgramOrder.Status

CAMPAIGNS = [
    # name, code, channel, fixed cost
    ("Tier 1 executive programme", "t1-executive", Campaign.Channel.OUTBOUND, 15_000),
    ("Field events and dinners", "field-events", Campaign.Channel.EVENTS, 8_000),
    ("Account-based advertising", "abm-ads", Campaign.Channel.PAID_MEDIA, 5_000),
    ("Gifting and direct mail", "gifting", Campaign.Channel.DIRECT, 1_000),
    ("Always-on demand generation", "always-on", Campaign.Channel.INBOUND, 2_000),
]

# name, kind, campaign code, unit cost, lead days, tiers, extra fields
ITEMS = [
    ("Custom thought-leadership report", Kind.CUSTOM_CONTENT, "t1-executive", 2500, 21, [1],
     {"description": "A research piece written for the account's industry and stack."}),
    ("Personalised landing page", Kind.LANDING_PAGE, "t1-executive", 1200, 10, [1],
     {"description": "A dynamic page with the account's logo, use cases and references.",
      "limit_per_account": 1, "limit_period": "year"}),
    ("Executive dinner invitation", Kind.EVENT_INVITATION, "field-events", 400, 14, [1],
     {"description": "A seat at the next regional executive dinner.", "needs_contact": True,
      "limit_per_account": 2, "limit_period": "quarter"}),
    ("Gourmet popcorn gift box", Kind.GIFT, "gifting", 85, 7, [1, 2],
     {"description": "3D mail: a branded popcorn box with a handwritten card.",
      "needs_contact": True, "limit_per_account": 1, "limit_period": "quarter",
      "fulfillment_method": "manual"}),
    ("Handwritten direct mail", Kind.DIRECT_MAIL, "gifting", 25, 5, [1, 2, 3],
     {"description": "A handwritten letter from the rep's manager.", "needs_contact": True,
      "auto_approve_up_to": 50}),
    ("Custom display-ad creative", Kind.CUSTOM_AD_CREATIVE, "abm-ads", 900, 10, [1],
     {"description": "Banner set with the account's name and industry imagery."}),
    ("1:1 account-based ads", Kind.ACCOUNT_BASED_AD, "abm-ads", 600, 3, [1, 2],
     {"description": "Ads targeted at the buying committee, to a generic landing page.",
      "limit_per_account": 1, "limit_period": "month"}),
    ("Ice-cream delivery", Kind.GIFT, "gifting", 40, 4, [2],
     {"description": "A summer treat delivered to the champion's office.",
      "needs_contact": True, "limit_per_account": 1, "limit_period": "quarter",
      "auto_approve_up_to": 40}),
    ("Intent-driven webinar invitation", Kind.EVENT_INVITATION, "field-events", 0, 2, [2, 3],
     {"description": "Invite the account to the webinar on its surging topic.",
      "needs_contact": True, "auto_approve_up_to": 0}),
    ("Always-on account-based ads", Kind.ACCOUNT_BASED_AD, "always-on", 150, 3, [3],
     {"description": "Generic messaging that warms the account before an SDR reaches out.",
      "auto_approve_up_to": 200, "limit_per_account": 1, "limit_period": "quarter"}),
    ("SDR research brief", Kind.OTHER, "t1-executive", 150, 3, [1, 2],
     {"description": "An SDR maps the buying committee and recent triggers."}),
]


def _quarter(today):
    start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    end = (date(start.year + (start.month + 3 > 12), (start.month + 2) % 12 + 1, 1)
           - timedelta(days=1))
    return start, end


def _budgets(today, tiers, campaigns, items):
    start, end = _quarter(today)
    label = f"Q{(start.month - 1) // 3 + 1} {start.year}"
    return [
        (f"All programs {label}", Budget.Scope.ALL, {}, 60_000),
        (f"Tier 1 {label}", Budget.Scope.TIER, {"tier": tiers[1]}, 35_000),
        (f"Tier 2 {label}", Budget.Scope.TIER, {"tier": tiers[2]}, 12_000),
        (f"Tier 3 {label}", Budget.Scope.TIER, {"tier": tiers[3]}, 5_000),
        (f"Field events {label}", Budget.Scope.CAMPAIGN,
         {"campaign": campaigns["field-events"]}, 8_000),
        (f"Popcorn gifting {label}", Budget.Scope.ITEM,
         {"item": items["Gourmet popcorn gift box"]}, 1_500),
    ], start, end


@transaction.atomic
def load(stdout=None):
    User = get_user_model()
    tiers = {tier.number: tier for tier in Tier.objects.all()}
    marketer = User.objects.filter(username="marketer").first()
    rep = User.objects.filter(username="rep").first()

    campaigns = {}
    for name, code, channel, cost in CAMPAIGNS:
        campaigns[code], _ = Campaign.objects.get_or_create(
            code=code, defaults={"name": name, "channel": channel, "fixed_cost": cost,
                                 "owner": marketer,
                                 "start_date": date(timezone.localdate().year, 1, 1),
                                 "end_date": date(timezone.localdate().year, 12, 31)})

    items = {}
    for name, kind, code, cost, lead, numbers, extra in ITEMS:
        item, created = ProgramItem.objects.get_or_create(
            name=name, defaults={"kind": kind, "campaign": campaigns[code], "unit_cost": cost,
                                 "lead_time_days": lead, **extra})
        items[name] = item
        if created:
            services.program_item_set_tiers(item=item, tiers=[tiers[n] for n in numbers])

    today = timezone.localdate()
    budgets, start, end = _budgets(today, tiers, campaigns, items)
    for name, scope, target, limit in budgets:
        Budget.objects.get_or_create(name=name, defaults={
            "scope": scope, "start_date": start, "end_date": end, "limit": limit, **target})

    placed = 0
    if rep is not None and marketer is not None:
        if not ProgramOrder.objects.filter(requested_by=rep).exists():
            with override_settings(ABMCRM_ORDER_NOTIFY_STATUSES=[]):
                placed = _orders(rep, marketer, items)
    if stdout:
        stdout.write(f"{len(campaigns)} campaigns, {len(items)} program items on "
                     f"{MenuEntry.objects.count()} menu places, {len(budgets)} budgets for "
                     f"{start:%Y-%m-%d}–{end:%Y-%m-%d}, {placed} demo orders placed.")


def _as_if_approved_days_ago(order, days):
    """Move an order's request and approval (and their history) `days` back in time."""
    shift = timedelta(days=days)
    ProgramOrder.objects.filter(pk=order.pk).update(
        created_at=F("created_at") - shift, approved_at=F("approved_at") - shift,
        due_at=F("due_at") - shift)
    OrderEvent.objects.filter(order=order).update(at=F("at") - shift)


def _orders(rep, marketer, items):
    accounts = list(Account.objects.filter(owner=rep, tier__number=1)
                    .prefetch_related("contacts").order_by("pk")[:4])
    tier2 = Account.objects.filter(owner=rep, tier__number=2).prefetch_related(
        "contacts").order_by("pk").first()
    if len(accounts) < 4 or tier2 is None:
        return 0
    first_contact = [account.contacts.all()[0] if account.contacts.all() else None
                     for account in accounts]

    def submit(account, names, contact=None, note=""):
        return services.order_submit(account=account, items=[items[n].pk for n in names],
                                     contact=contact, note=note, requested_by=rep)

    a, b, c, d = accounts
    waiting = submit(a, ["Custom thought-leadership report", "Personalised landing page"],
                     note="Champion asked for proof points for their board.")
    dinner, gift = submit(b, ["Executive dinner invitation", "Gourmet popcorn gift box"],
                          contact=first_contact[1], note="New CFO, invite before renewal.")
    services.order_approve(order=dinner, by=marketer, note="Seat reserved.")
    _as_if_approved_days_ago(dinner, 20)  # past its due date: the queue has an overdue order
    services.order_approve(order=gift, by=marketer)
    services.order_transition(order=gift, to=Status.IN_PROGRESS, by=marketer,
                              fields={"assignee": marketer})
    services.order_transition(order=gift, to=Status.FULFILLED, by=marketer,
                              note="Delivered, signed for at reception.")
    [creative] = submit(c, ["Custom display-ad creative"])
    services.order_reject(order=creative, by=marketer,
                          reason="The ad campaign for this segment starts next quarter.")
    [ads] = submit(c, ["1:1 account-based ads"])
    services.order_cancel(order=ads, by=rep, reason="The account signed: no need.")
    [brief] = submit(d, ["SDR research brief"])
    services.order_approve(order=brief, by=marketer)
    services.order_transition(order=brief, to=Status.IN_PROGRESS, by=marketer,
                              fields={"assignee": marketer})
    services.order_transition(order=brief, to=Status.FAILED, by=marketer,
                              note="The SDR team is at capacity this week.",
                              fields={"reason": "The SDR team is at capacity this week."})
    mail = submit(d, ["Handwritten direct mail"], contact=first_contact[3])  # auto-approved
    tier2_orders = submit(tier2, ["1:1 account-based ads"])
    return len(waiting) + 2 + 1 + 1 + 1 + len(mail) + len(tier2_orders)
