"""Writes of the programs app: ordering (who may order what, the checkbox submit, approvals),
menus and budgets. Every status change goes through `transitions.order_transition`."""

from django.db import transaction
from django.db.models import F, ProtectedError
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from abmcrm.core import roles
from abmcrm.core.exceptions import Conflict, InvalidInput, NotAllowed
from tiers.models import Account

from . import selectors, signals
from .conf import settings as conf
from .models import Budget, MenuEntry, OrderEvent, ProgramItem, ProgramOrder
from .transitions import order_transition, refuse_while_sending

Status = ProgramOrder.Status


# Who may do what -------------------------------------------------------------------------

APPROVE_PERMISSION = "programs.approve_programorder"


def may_approve(user):
    return roles.has_role(user, *roles.ROLES) and user.has_perm(APPROVE_PERMISSION)


def may_order(user):
    """Every abmcrm role may order programs (reps for their own accounts, see
    `may_order_for`); a check on the roles already loaded for the request, no queries."""
    return roles.has_role(user, *roles.ROLES)


def may_order_for(user, account):
    """Reps order for the accounts they own (or any, with ABMCRM_REPS_ORDER_ANY_ACCOUNT);
    marketers and admins for any account."""
    if not may_order(user):
        return False
    if roles.is_marketer(user) or conf.ABMCRM_REPS_ORDER_ANY_ACCOUNT:
        return True
    return account.owner_id == user.pk


def may_cancel(user, order):
    return may_approve(user) or (order.requested_by_id == user.pk and may_order(user))


def may_cancel_now(user, order):
    """Whether `user` may cancel `order` in its present status: the pages offer Cancel only
    then (`order_cancel` still decides, e.g. while a provider call is under way)."""
    if Status.CANCELLED not in ProgramOrder.TRANSITIONS.get(order.status, set()):
        return False
    if not may_cancel(user, order):
        return False
    return may_approve(user) or order.status in (Status.REQUESTED, Status.APPROVED)


# Ordering --------------------------------------------------------------------------------

def _item_error(item, code, reason):
    return {"item": item.pk, "name": item.name, "code": code, "reason": reason}


def order_submit(*, account, items, contact=None, contacts=None, note="", requested_by,
                 auto_approve=True):
    """Place one order per ticked item for `account`: all of them or none.

    Recipients: `contacts` maps an item (or its id) to the contact it goes to; `contact` is
    the recipient of every item that needs one and has none in `contacts`. An item that
    needs no recipient (an ad, an SDR brief) gets one only when `contacts` names it.

    Refuses (InvalidInput, with each bad item and why) items that are unknown, listed twice,
    off the account's tier menu, inactive, at their per-account limit, or that need a
    recipient when none is given. The account row is locked while the limits are checked,
    so two submits for one account cannot both take the last allowed order. Items whose
    approval policy allows it are approved at once (if their budgets have room; otherwise
    they wait for a marketer), unless `auto_approve` is False (orders placed by a play: a
    person approves every one). Returns the orders, in the order the items were given."""
    if not may_order(requested_by):
        raise NotAllowed(_("You may not order programs."), code="not_allowed")
    if not may_order_for(requested_by, account):
        raise InvalidInput(
            _("You may only order programs for accounts you own; “%(account)s” is owned by "
              "someone else.") % {"account": account},
            code="account_not_allowed",
            detail={"account": [_("You may only order programs for accounts you own.")]},
        )
    ids = [getattr(item, "pk", item) for item in items]
    if not ids:
        raise InvalidInput(_("Tick at least one program."), code="no_items",
                           detail={"items": [_("Tick at least one program.")]})
    contacts = {getattr(item, "pk", item): chosen_contact
                for item, chosen_contact in (contacts or {}).items()}
    strays = sorted(set(contacts) - set(ids))
    if strays:
        raise InvalidInput(
            _("Recipients are given for program(s) %(ids)s, which are not among the items "
              "ordered.") % {"ids": ", ".join(map(str, strays))},
            code="contacts_for_other_items",
            detail={"contacts": [_("Item %(id)s is not among the items ordered.") % {"id": i}
                                 for i in strays]},
        )
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise InvalidInput(
            _("Each program may be ordered once per request; listed more than once: "
              "%(ids)s.") % {"ids": ", ".join(map(str, twice))},
            code="duplicate_items",
            detail={"items": [{"item": i, "code": "duplicate",
                               "reason": _("listed more than once")} for i in twice]},
        )
    with transaction.atomic():
        account = (Account.objects.select_for_update(of=("self",)).select_related("tier")
                   .get(pk=account.pk))
        found = ProgramItem.objects.select_related("campaign").in_bulk(ids)
        unknown = [i for i in ids if i not in found]
        if unknown:
            raise InvalidInput(
                _("No program item with id %(ids)s.") % {"ids": ", ".join(map(str, unknown))},
                code="unknown_items",
                detail={"items": [{"item": i, "code": "unknown", "reason": _("no such program")}
                                  for i in unknown]},
            )
        if contact is not None and contact.account_id != account.pk:
            raise InvalidInput(
                _("The recipient %(contact)s is a contact of another account.")
                % {"contact": contact},
                code="contact_of_other_account",
                detail={"contact": [_("Choose a contact of this account.")]},
            )
        foreign = {i: c for i, c in contacts.items() if c.account_id != account.pk}
        if foreign:
            raise InvalidInput(
                _("These recipients are contacts of another account: %(contacts)s.")
                % {"contacts": ", ".join(str(c) for c in foreign.values())},
                code="contact_of_other_account",
                detail={"contacts": {str(i): [_("Choose a contact of this account.")]
                                     for i in foreign}},
            )
        chosen = [found[i] for i in ids]
        recipients = {item.pk: contacts.get(item.pk, contact if item.needs_contact else None)
                      for item in chosen}
        lines = selectors.menu_lines(account=account, items=chosen, has_contacts=True,
                                     check_budgets=False)
        errors = []
        for line in lines:
            for code, reason in line.reasons:
                errors.append(_item_error(line.item, code, reason))
            if line.item.needs_contact and recipients[line.item.pk] is None:
                errors.append(_item_error(
                    line.item, "needs_contact",
                    _("“%(item)s” is sent to a person: choose a recipient contact")
                    % {"item": line.item.name},
                ))
        if errors:
            raise InvalidInput(
                _("These programs cannot be ordered: %(reasons)s.") % {"reasons": "; ".join(
                    f"{e['name']}: {e['reason']}" for e in errors)},
                code="items_not_orderable",
                detail={"items": errors},
            )
        orders = [
            ProgramOrder(account=account, item=item, tier=account.tier,
                         contact=recipients[item.pk],
                         note=note or "", cost=item.unit_cost, currency=item.currency,
                         requested_by=requested_by)
            for item in chosen
        ]
        orders = ProgramOrder.objects.bulk_create(orders)
        if any(order.pk is None for order in orders):  # a database that returns no ids
            orders = list(ProgramOrder.objects.filter(account=account).order_by("-pk")
                          [:len(orders)])[::-1]
            for order, item in zip(orders, chosen, strict=True):
                order.item = item
        OrderEvent.objects.bulk_create([
            OrderEvent(order=order, from_status="", to_status=Status.REQUESTED,
                       by=requested_by, note=note or "")
            for order in orders
        ])
        signals.order_placed.send(sender=ProgramOrder, orders=orders, by=requested_by)
        for order in orders if auto_approve else ():
            limit = order.item.auto_approve_up_to
            if limit is not None and order.cost <= limit:
                try:
                    order_transition(
                        order=order, to=Status.APPROVED, by=None,
                        note=f"Auto-approved: costs no more than {limit} {order.currency}.",
                    )
                except Conflict:
                    pass  # a budget is short: the order waits for a marketer instead
    return orders


def order_approve(*, order, by, note=""):
    """A marketer approves a requested order, committing its cost in every covering budget
    (409 naming the budget if one would go over its limit)."""
    if not may_approve(by):
        raise NotAllowed(_("Only marketers and ABM admins approve orders."),
                         code="not_allowed")
    return order_transition(order=order, to=Status.APPROVED, by=by, note=note,
                            fields={"reason": ""})


def order_reject(*, order, by, reason):
    if not may_approve(by):
        raise NotAllowed(_("Only marketers and ABM admins reject orders."), code="not_allowed")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Say why the order is rejected: the rep reads the reason."),
                           code="reason_required",
                           detail={"reason": [_("A reason is required to reject an order.")]})
    return order_transition(order=order, to=Status.REJECTED, by=by, note=reason,
                            fields={"reason": reason})


def order_cancel(*, order, by, reason=""):
    """The requesting rep cancels while the order is not yet in fulfillment; marketers and
    admins may cancel any order the state machine allows."""
    if not may_cancel(by, order):
        raise NotAllowed(_("Only the rep who requested this order, a marketer or an ABM admin "
                           "may cancel it."), code="not_allowed")
    if not may_approve(by) and order.status not in (Status.REQUESTED, Status.APPROVED):
        raise Conflict(_("Order #%(id)s is %(status)s; its requester can cancel it only while "
                         "it is requested or approved.")
                       % {"id": order.pk, "status": str(Status(order.status).label).lower()},
                       code="invalid_transition")
    reason = (reason or "").strip()
    with transaction.atomic():
        refuse_while_sending(order, pgettext("order move", "cancelled"))
        return order_transition(order=order, to=Status.CANCELLED, by=by, note=reason,
                                fields={"reason": reason})


def orders_bulk_decide(*, order_ids, decision, by, reason="", reasons=None):
    """Approve or reject several orders, each on its own: one refusal (a budget short, a
    concurrent change) does not undo the others. Returns (done, [(order id, message)]).

    A rejection needs a reason per order: its own in `reasons` ({order id: text}), else the
    shared `reason`. If any rejected order has neither, nothing is decided (InvalidInput
    naming those orders)."""
    if decision not in ("approve", "reject"):
        raise InvalidInput(_("Choose approve or reject."), code="bad_decision",
                           detail={"decision": [_("Choose approve or reject.")]})
    if not may_approve(by):
        raise NotAllowed(_("Only marketers and ABM admins approve or reject orders."),
                         code="not_allowed")
    reasons = {order_id: (text or "").strip() for order_id, text in (reasons or {}).items()}
    shared = (reason or "").strip()
    if decision == "reject":
        missing = [order_id for order_id in order_ids if not (reasons.get(order_id) or shared)]
        if missing:
            raise InvalidInput(
                _("Say why each order is rejected: the reps read the reason. Missing for "
                  "%(orders)s.") % {"orders": ", ".join(f"#{order_id}" for order_id in missing)},
                code="reason_required",
                detail={"reason": [_("A reason is required to reject orders.")],
                        "reasons": {str(order_id): [_("A reason is required to reject this "
                                                      "order.")] for order_id in missing}})
    orders = ProgramOrder.objects.select_related("item").in_bulk(list(order_ids))
    done, failed = [], []
    for order_id in order_ids:
        order = orders.get(order_id)
        if order is None:
            failed.append((order_id, _("No order #%(id)s.") % {"id": order_id}))
            continue
        try:
            if decision == "approve":
                order_approve(order=order, by=by)
            else:
                order_reject(order=order, by=by, reason=reasons.get(order_id) or shared)
            done.append(order)
        except Conflict as exc:
            failed.append((order_id, exc.message))
    return done, failed


# Menus -----------------------------------------------------------------------------------

def program_item_set_tiers(*, item, tiers):
    """Put `item` on exactly these tiers' menus; new menu places go to the end."""
    wanted = {tier.pk for tier in tiers}
    with transaction.atomic():
        MenuEntry.objects.filter(item=item).exclude(tier_id__in=wanted).delete()
        have = set(MenuEntry.objects.filter(item=item).values_list("tier_id", flat=True))
        for tier_id in sorted(wanted - have):
            last = MenuEntry.objects.filter(tier_id=tier_id).order_by("-position").first()
            MenuEntry.objects.create(tier_id=tier_id, item=item,
                                     position=(last.position + 1) if last else 0)
    return item


def program_item_create(*, tiers=None, **fields):
    with transaction.atomic():
        item = ProgramItem.objects.create(**fields)
        if tiers:
            program_item_set_tiers(item=item, tiers=tiers)
    return item


def program_item_update(*, item, tiers=None, **fields):
    with transaction.atomic():
        for name, value in fields.items():
            setattr(item, name, value)
        item.save()
        if tiers is not None:
            program_item_set_tiers(item=item, tiers=tiers)
    return item


def program_item_delete(*, item):
    # PROTECT on the orders decides, also against an order placed a moment ago.
    try:
        with transaction.atomic():
            item.delete()
    except ProtectedError as exc:
        raise Conflict(_("“%(item)s” has been ordered, so it stays for the record: deactivate "
                         "it instead.") % {"item": item}, code="item_has_orders") from exc


def campaign_delete(*, campaign):
    try:
        with transaction.atomic():
            campaign.delete()
    except ProtectedError as exc:
        raise Conflict(_("Campaign “%(campaign)s” still has program items: delete or move "
                         "them first.") % {"campaign": campaign},
                       code="campaign_has_items") from exc


# Budgets (admin writes) ------------------------------------------------------------------

def budget_create(**fields):
    return Budget.objects.create(**fields)


def budget_update(*, budget, **fields):
    """Change a budget. A new limit is applied by a conditional UPDATE, so it can never drop
    below what concurrent approvals have committed meanwhile."""
    limit = fields.pop("limit", None)
    with transaction.atomic():
        if limit is not None:
            changed = Budget.objects.filter(
                pk=budget.pk, committed__lte=limit - F("spent")
            ).update(limit=limit)
            if not changed:
                budget.refresh_from_db()
                raise Conflict(
                    _("Budget “%(budget)s” has %(used)s committed or spent; its limit cannot go "
                      "below that.") % {"budget": budget.name,
                                        "used": budget.committed + budget.spent},
                    code="limit_below_used",
                )
        if fields:
            Budget.objects.filter(pk=budget.pk).update(**fields)
        budget.refresh_from_db()
    return budget


def budget_delete(*, budget):
    # Conditional, so an approval committing money meanwhile keeps the budget alive.
    deleted, _rows = Budget.objects.filter(pk=budget.pk, committed=0, spent=0).delete()
    if not deleted:
        raise Conflict(_("Budget “%(budget)s” has money committed or spent against it: end "
                       "its period instead of deleting it.") % {"budget": budget.name},
                       code="budget_in_use")

