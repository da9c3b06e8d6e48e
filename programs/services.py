from datetime import timedelta
from functools import partial

from django.db import IntegrityError, connection, transaction
from django.db.models import F, ProtectedError
from django.utils import timezone

from abmcrm.core import roles
from abmcrm.core.exceptions import Conflict, InvalidInput, NotAllowed
from tiers.models import Account

from . import notifications, selectors, signals
from .conf import settings as conf
from .models import Budget, Fulfillment, MenuEntry, OrderEvent, ProgramItem, ProgramOrder

Status = ProgramOrder.Status


# Budgets -----------------------------------------------------------------------------------

def budgets_covering(*, order, on=None):
    """The budgets an order's cost is booked in: every budget whose period contains `on`
    (default today) and whose scope is everything, the order's tier, item or campaign.
    The same rule (`selectors.budget_covers`) tells the menu what budget is left."""
    return [
        budget for budget in selectors.budgets_active(on=on)
        if selectors.budget_covers(budget, item_id=order.item_id,
                                   campaign_id=order.item.campaign_id, tier_id=order.tier_id)
    ]


def _budgets_commit(order):
    """Commit the order's cost in every covering budget, or in none.

    Each budget is charged by one conditional UPDATE (WHERE committed + spent + cost <=
    limit), which PostgreSQL re-checks after taking the row lock, so two concurrent
    approvals can never both pass the check; the check constraint is the last guard."""
    budgets = budgets_covering(order=order)
    for budget in budgets:
        charged = Budget.objects.filter(
            pk=budget.pk, committed__lte=F("limit") - F("spent") - order.cost
        ).update(committed=F("committed") + order.cost)
        if not charged:
            budget.refresh_from_db()
            raise Conflict(
                f"Budget “{budget.name}” has {budget.remaining} {order.currency} left, "
                f"not enough for this order ({order.cost} {order.currency}).",
                code="budget_exceeded",
            )
    order.budgets.set(budgets)


def _budgets_move(order, *, spend):
    """Take the order's cost out of `committed` in every budget it is booked in (by
    `_budgets_commit`), adding it to `spent` if `spend`, else releasing it. One UPDATE through
    the link table, in SQL: it runs for every order fulfilled or failed, and the ORM takes
    longer to compile this subquery UPDATE than the database takes to run it."""
    link = ProgramOrder.budgets.through._meta
    cost = connection.ops.adapt_decimalfield_value(order.cost)
    spent = ", spent = spent + %s" if spend else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Budget._meta.db_table} SET committed = committed - %s{spent} "
            f"WHERE id IN (SELECT {link.get_field('budget').column} FROM {link.db_table} "
            f"WHERE {link.get_field('programorder').column} = %s)",
            [cost, *([cost] if spend else []), order.pk],
        )


# The order state machine -------------------------------------------------------------------

def _stamp(order, to, now):
    """Fields that change with a move to `to`."""
    fields = {"status": to, "updated_at": now}
    if to == Status.APPROVED:
        fields["approved_at"] = now
        fields["due_at"] = now + timedelta(days=order.item.lead_time_days)
    if to in (Status.FULFILLED, Status.REJECTED, Status.CANCELLED, Status.FAILED):
        fields["closed_at"] = now
    if to == Status.APPROVED and order.status == Status.FAILED:
        fields["closed_at"] = None
    return fields


def _book_budgets(order, from_status, to):
    if to == Status.APPROVED:
        _budgets_commit(order)
    elif to == Status.FULFILLED and from_status in ProgramOrder.COMMITTED:
        _budgets_move(order, spend=True)
    elif to in (Status.FAILED, Status.CANCELLED) and from_status in ProgramOrder.COMMITTED:
        _budgets_move(order, spend=False)


# How a move to each status is said ("Order #3 is fulfilled; it cannot be cancelled…").
_MOVE_NAMES = {Status.APPROVED: "approved", Status.REJECTED: "rejected",
               Status.CANCELLED: "cancelled", Status.IN_PROGRESS: "started",
               Status.FULFILLED: "marked fulfilled", Status.FAILED: "marked failed"}


def _refusal(pk, from_status, to):
    """Why an order in `from_status` cannot move to `to`, and which orders could."""
    sources = [Status(s).label.lower() for s, targets in ProgramOrder.TRANSITIONS.items()
               if to in targets]
    could = (f"only {' or '.join(sources)} orders can be" if sources else
             "no order can be")
    return (f"Order #{pk} is {Status(from_status).label.lower()}; it cannot be "
            f"{_MOVE_NAMES.get(to, Status(to).label.lower())} ({could}).")


def order_transition(*, order, to, by=None, note="", fields=None):
    """Move an order to status `to`: the one place where an order's status changes.

    A compare-and-set (UPDATE … WHERE status = <the status we read>) applies the move, so of
    two concurrent moves from the same status exactly one wins and the other gets Conflict
    (409). Budgets, the OrderEvent history row and the signal happen in the same transaction.
    `fields` are extra columns to set with the move (e.g. assignee, reason)."""
    from_status = order.status
    if to not in ProgramOrder.TRANSITIONS.get(from_status, set()):
        raise Conflict(_refusal(order.pk, from_status, to), code="invalid_transition")
    now = timezone.now()
    values = {**_stamp(order, to, now), **(fields or {})}
    # Only an approval can fail after its compare-and-set (a budget short), so only an
    # approval needs a savepoint to undo it inside a caller's transaction; every other move
    # writes nothing unless the compare-and-set succeeds, and then cannot be refused.
    try:
        with transaction.atomic(savepoint=to == Status.APPROVED):
            moved = ProgramOrder.objects.filter(pk=order.pk, status=from_status).update(**values)
            if moved:
                _transition_apply(order, from_status, to, by, note, values)
    except IntegrityError as exc:
        order.status = from_status
        if to != Status.APPROVED:
            raise  # not a refusal of this move: the caller's transaction is broken
        # The budget check constraint: the budget conflict the conditional update would
        # have reported (the savepoint undid the move).
        raise Conflict("A budget covering this order would be overspent.",
                       code="budget_exceeded") from exc
    except Conflict:
        order.status = from_status
        raise
    if not moved:
        current = ProgramOrder.objects.filter(pk=order.pk).values_list(
            "status", flat=True).first()
        raise Conflict(
            f"Order #{order.pk} was just changed by someone else (it is now {current}); "
            f"reload and try again.",
            code="concurrent_change",
        )
    return order


def _transition_apply(order, from_status, to, by, note, values):
    """What follows a successful compare-and-set, in its transaction: budgets, the history
    row, the send task of a provider item, the signal and the rep's e-mail."""
    _book_budgets(order, from_status, to)
    for name, value in values.items():
        setattr(order, name, value)
    fulfillment = None
    if to == Status.APPROVED:
        # A provider item's send task is queued once this approval commits.
        from .fulfilment import fulfillment_prepare

        fulfillment = fulfillment_prepare(order=order)
    # The rep's e-mail goes after commit, and only if this transaction survives: no mail for
    # a rollback. The approval of an order sent through a provider is mailed by its send
    # task instead, and only if the provider's first answer is not already the outcome.
    # Mailed from this very process (a worker), the event is marked at creation.
    mail = to in conf.ABMCRM_ORDER_NOTIFY_STATUSES and fulfillment is None
    event = OrderEvent.objects.create(
        order=order, from_status=from_status, to_status=to, by=by, note=note,
        notified_at=values["updated_at"] if mail and notifications.mails_here() else None,
    )
    signals.order_status_changed.send(
        sender=ProgramOrder, order=order, from_status=from_status, to_status=to, by=by,
        event=event,
    )
    if mail:
        transaction.on_commit(partial(notifications.order_status_notify_later, event=event),
                              robust=True)  # a failing callback must not skip this mail
    return order


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


# Ordering --------------------------------------------------------------------------------

def _item_error(item, code, reason):
    return {"item": item.pk, "name": item.name, "code": code, "reason": reason}


def order_submit(*, account, items, contact=None, note="", requested_by):
    """Place one order per ticked item for `account`: all of them or none.

    Refuses (InvalidInput, with each bad item and why) items that are unknown, listed twice,
    off the account's tier menu, inactive, at their per-account limit, or that need a
    recipient when none is given. The account row is locked while the limits are checked,
    so two submits for one account cannot both take the last allowed order. Items whose
    approval policy allows it are approved at once (if their budgets have room; otherwise
    they wait for a marketer). Returns the orders, in the order the items were given."""
    if not may_order(requested_by):
        raise NotAllowed("You may not order programs.", code="not_allowed")
    if not may_order_for(requested_by, account):
        raise InvalidInput(
            f"You may only order programs for accounts you own; “{account}” is owned by "
            "someone else.",
            code="account_not_allowed",
            detail={"account": ["You may only order programs for accounts you own."]},
        )
    ids = [getattr(item, "pk", item) for item in items]
    if not ids:
        raise InvalidInput("Tick at least one program.", code="no_items",
                           detail={"items": ["Tick at least one program."]})
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise InvalidInput(
            f"Each program may be ordered once per request; listed more than once: "
            f"{', '.join(map(str, twice))}.",
            code="duplicate_items",
            detail={"items": [{"item": i, "code": "duplicate", "reason": "listed more than once"}
                              for i in twice]},
        )
    with transaction.atomic():
        account = (Account.objects.select_for_update(of=("self",)).select_related("tier")
                   .get(pk=account.pk))
        found = ProgramItem.objects.select_related("campaign").in_bulk(ids)
        unknown = [i for i in ids if i not in found]
        if unknown:
            raise InvalidInput(
                f"No program item with id {', '.join(map(str, unknown))}.",
                code="unknown_items",
                detail={"items": [{"item": i, "code": "unknown", "reason": "no such program"}
                                  for i in unknown]},
            )
        if contact is not None and contact.account_id != account.pk:
            raise InvalidInput(
                f"The recipient {contact} is a contact of another account.",
                code="contact_of_other_account",
                detail={"contact": ["Choose a contact of this account."]},
            )
        chosen = [found[i] for i in ids]
        lines = selectors.menu_lines(account=account, items=chosen, has_contacts=True,
                                     check_budgets=False)
        errors = []
        for line in lines:
            for code, reason in line.reasons:
                errors.append(_item_error(line.item, code, reason))
            if line.item.needs_contact and contact is None:
                errors.append(_item_error(
                    line.item, "needs_contact",
                    f"“{line.item.name}” is sent to a person: choose a recipient contact",
                ))
        if errors:
            raise InvalidInput(
                "These programs cannot be ordered: " + "; ".join(
                    f"{e['name']}: {e['reason']}" for e in errors) + ".",
                code="items_not_orderable",
                detail={"items": errors},
            )
        orders = [
            ProgramOrder(account=account, item=item, tier=account.tier, contact=contact,
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
        for order in orders:
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
        raise NotAllowed("Only marketers and ABM admins approve orders.", code="not_allowed")
    return order_transition(order=order, to=Status.APPROVED, by=by, note=note,
                            fields={"reason": ""})


def order_reject(*, order, by, reason):
    if not may_approve(by):
        raise NotAllowed("Only marketers and ABM admins reject orders.", code="not_allowed")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why the order is rejected: the rep reads the reason.",
                           code="reason_required",
                           detail={"reason": ["A reason is required to reject an order."]})
    return order_transition(order=order, to=Status.REJECTED, by=by, note=reason,
                            fields={"reason": reason})


def order_cancel(*, order, by, reason=""):
    """The requesting rep cancels while the order is not yet in fulfilment; marketers and
    admins may cancel any order the state machine allows."""
    if not may_cancel(by, order):
        raise NotAllowed("Only the rep who requested this order, a marketer or an ABM admin "
                         "may cancel it.", code="not_allowed")
    if not may_approve(by) and order.status not in (Status.REQUESTED, Status.APPROVED):
        raise Conflict(f"Order #{order.pk} is {Status(order.status).label.lower()}; its "
                       f"requester can cancel it only while it is requested or approved.",
                       code="invalid_transition")
    reason = (reason or "").strip()
    with transaction.atomic():
        refuse_while_sending(order, "cancelled")
        return order_transition(order=order, to=Status.CANCELLED, by=by, note=reason,
                                fields={"reason": reason})


def refuse_while_sending(order, what):
    """Conflict if a provider call for this approved order is under way (or was cut off
    mid-call and is not yet reconciled): it may already have reached the provider. Call it
    in the transaction of the move: it takes the order's row lock, which the send task's
    claim holds too (`fulfilment.fulfillment_process`), so the two cannot interleave."""
    if order.status != Status.APPROVED:
        return
    ProgramOrder.objects.select_for_update().filter(pk=order.pk).values_list("pk").first()
    if Fulfillment.objects.filter(order=order, state=Fulfillment.State.SENDING).exists():
        raise Conflict(
            f"Order #{order.pk} is being sent through its provider right now; it cannot be "
            f"{what} until the provider has answered.",
            code="being_sent",
        )


def orders_bulk_decide(*, order_ids, decision, by, reason=""):
    """Approve or reject several orders, each on its own: one refusal (a budget short, a
    concurrent change) does not undo the others. Returns (done, [(order id, message)])."""
    if decision not in ("approve", "reject"):
        raise InvalidInput("Choose approve or reject.", code="bad_decision",
                           detail={"decision": ["Choose approve or reject."]})
    if not may_approve(by):
        raise NotAllowed("Only marketers and ABM admins approve or reject orders.",
                         code="not_allowed")
    if decision == "reject" and not (reason or "").strip():
        raise InvalidInput("Say why the orders are rejected: the reps read the reason.",
                           code="reason_required",
                           detail={"reason": ["A reason is required to reject orders."]})
    orders = ProgramOrder.objects.select_related("item").in_bulk(list(order_ids))
    done, failed = [], []
    for order_id in order_ids:
        order = orders.get(order_id)
        if order is None:
            failed.append((order_id, f"No order #{order_id}."))
            continue
        try:
            if decision == "approve":
                order_approve(order=order, by=by)
            else:
                order_reject(order=order, by=by, reason=reason)
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
        raise Conflict(f"“{item}” has been ordered, so it stays for the record: deactivate it "
                       "instead.", code="item_has_orders") from exc


def campaign_delete(*, campaign):
    try:
        with transaction.atomic():
            campaign.delete()
    except ProtectedError as exc:
        raise Conflict(f"Campaign “{campaign}” still has program items: delete or move them "
                       "first.", code="campaign_has_items") from exc


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
                    f"Budget “{budget.name}” has {budget.committed + budget.spent} committed "
                    f"or spent; its limit cannot go below that.", code="limit_below_used",
                )
        if fields:
            Budget.objects.filter(pk=budget.pk).update(**fields)
        budget.refresh_from_db()
    return budget


def budget_delete(*, budget):
    # Conditional, so an approval committing money meanwhile keeps the budget alive.
    deleted, _ = Budget.objects.filter(pk=budget.pk, committed=0, spent=0).delete()
    if not deleted:
        raise Conflict(f"Budget “{budget.name}” has money committed or spent against it: "
                       "end its period instead of deleting it.", code="budget_in_use")
