"""Firing plays: whether an event's account meets a play's conditions, and its actions.

Called by `consumer.event_handle` inside the transaction that marks the event handled. Each
play's firing is claimed first (`PlayRun`, unique per play and event, `sql.insert_or_skip`):
a play fires at most once per event whatever runs it twice. Refusals of the services below
(an item off the menu, a budget short, the cap reached) are written to the log as what the
action did not do, and why; they never undo the other actions."""

from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from abmcrm.core import roles
from abmcrm.core.exceptions import AbmError
from programs import selectors as program_selectors
from programs import services as program_services
from programs.models import ProgramItem
from tiers.models import Account

from . import sql
from .conf import settings as conf
from .models import Alert, EventType, PlayOrder, PlayRun, PlaySuggestion

# The cap's period as a whole phrase, so that each language can word it ("this quarter").
CAP_PERIODS = {"month": gettext_lazy("this month"), "quarter": gettext_lazy("this quarter"),
               "year": gettext_lazy("this year")}

# Why a play fired, for people ("suggested by play X, because <phrase> (<conditions>)").
EVENT_PHRASES = {
    EventType.TIER_CHANGED: gettext_lazy("the account changed tier"),
    EventType.SURGING: gettext_lazy("a topic started surging"),
    EventType.ENGAGED: gettext_lazy("the account engaged"),
    EventType.SIX_QA: gettext_lazy("the account's 6QA status changed"),
    EventType.BUYING_STAGE_CHANGED: gettext_lazy("the account's buying stage changed"),
    EventType.ORDER_STATUS_CHANGED: gettext_lazy("an order changed status"),
    EventType.FUNNEL_TRANSITION: gettext_lazy("the account moved in the funnel"),
    EventType.OPPORTUNITY_CREATED: gettext_lazy("an opportunity was opened"),
    EventType.OPPORTUNITY_STAGE_CHANGED: gettext_lazy("an opportunity changed stage"),
}
# Menu reasons an automatic order cannot get past (a recipient is chosen for it instead).
RECIPIENT_CODES = {"needs_contact"}


def _first(data, *keys):
    """The first of `keys` that `data` has (the event types spell their values their own
    way: docs/ref/events.md)."""
    for key in keys:
        if key in data:
            return True, data[key]
    return False, None


def facts(event, account):
    """What the conditions are checked against: the event's own values where it carries
    them (the tier it moved to, the topics that started surging, the stage it reached),
    else the account as it is now."""
    data = event.data or {}
    has_tier, tier = _first(data, "new_tier", "tier")
    if has_tier:
        tier = tier.get("number") if isinstance(tier, dict) else tier
    else:
        tier = account.tier.number if account.tier_id else None
    has_topics, topics = _first(data, "topics")
    if not (has_topics and isinstance(topics, list)):
        topics = list(account.surging_topics or [])
    has_stage, stage = _first(data, "new_stage", "buying_stage", "to_stage", "stage")
    if not (has_stage and isinstance(stage, str)):
        stage = getattr(account, "buying_stage", "") or ""
    fit = data.get("fit_score")
    if not isinstance(fit, int) or isinstance(fit, bool):
        fit = account.fit_score
    return {"tier": tier, "topics": [str(t).strip().lower() for t in topics],
            "buying_stage": stage, "fit": fit}


def match(play, event, account):
    """(True, why) when the account meets every condition; (False, what failed)."""
    found = facts(event, account)
    conditions = play.conditions or {}
    why = []
    if "tier" in conditions:
        if found["tier"] not in conditions["tier"]:
            return False, _("tier %(tier)s is not among %(tiers)s") % {
                "tier": found["tier"] or "—", "tiers": conditions["tier"]}
        why.append(_("tier %(tier)s") % {"tier": found["tier"]})
    if "topics" in conditions:
        common = sorted(set(conditions["topics"]) & set(found["topics"]))
        if not common:
            return False, _("no surging topic among %(topics)s") % {
                "topics": ", ".join(conditions["topics"])}
        why.append(_("surging on %(topics)s") % {"topics": ", ".join(common)})
    if "buying_stage" in conditions:
        if found["buying_stage"] not in conditions["buying_stage"]:
            return False, _("buying stage %(stage)s is not among %(stages)s") % {
                "stage": found["buying_stage"] or "—",
                "stages": ", ".join(conditions["buying_stage"])}
        why.append(_("buying stage %(stage)s") % {"stage": found["buying_stage"]})
    if "fit_min" in conditions:
        if found["fit"] < conditions["fit_min"]:
            return False, _("fit %(fit)s is below %(min)s") % {
                "fit": found["fit"], "min": conditions["fit_min"]}
        why.append(_("fit %(fit)s ≥ %(min)s") % {"fit": found["fit"],
                                                 "min": conditions["fit_min"]})
    what = EVENT_PHRASES.get(event.type)
    what = str(what) if what else event.type
    return True, what + (f" ({', '.join(why)})" if why else "")


def play_fire(*, play, event, account):
    """Fire `play` for `event` on `account` if it matches and has not fired for the event:
    the run written to the log, or None. One transaction (a savepoint in the caller's): the
    claim, the actions and the log stand or fall together."""
    matched, reason = match(play, event, account)
    if not matched:
        return None
    with transaction.atomic():
        return _fire(play, event, account, reason)


def _fire(play, event, account, reason):
    run_id = sql.insert_or_skip(PlayRun, {
        "play": play.pk, "event_id": event.id, "event_type": event.type,
        "account": account.pk, "reason": reason, "results": [],
        "created_at": timezone.now()}, conflict=["play", "event_id"])
    if run_id is None:
        return None  # fired already for this event (another worker, a re-delivery)
    run = PlayRun.objects.get(pk=run_id)
    run.play = play
    results = []
    for action in play.actions:
        handler = ACTIONS[action["type"]]
        try:
            with transaction.atomic():
                results.append(handler(play=play, run=run, account=account, action=action,
                                       event=event))
        except AbmError as exc:
            results.append({"type": action["type"], "done": False, "note": exc.message})
    PlayRun.objects.filter(pk=run.pk).update(results=results)
    run.results = results
    return run


def _owner(account):
    owner = account.owner
    return owner if owner is not None and roles.has_role(owner, *roles.ROLES) else None


def _items(action):
    found = ProgramItem.objects.select_related("campaign").in_bulk(action["items"])
    return [found[i] for i in action["items"] if i in found]


def _suggest(*, play, run, account, action, event):
    owner = _owner(account)
    if owner is None:
        return {"type": "suggest", "done": False, "items": [],
                "note": _("the account has no owner to suggest programs to")}
    lines = program_selectors.menu_lines(account=account, items=_items(action),
                                         check_budgets=False)
    on_menu = [line.item for line in lines
               if not line.blocking(ignore=RECIPIENT_CODES | {"limit_reached"})]
    off = [f"{line.item.name}: {line.reason}" for line in lines if line.item not in on_menu]
    expires = timezone.now() + timedelta(days=conf.ABMCRM_PLAY_SUGGESTION_DAYS)
    PlaySuggestion.objects.bulk_create([
        PlaySuggestion(play=play, run=run, account=account, item=item, reason=run.reason,
                       expires_at=expires) for item in on_menu])
    return {"type": "suggest", "done": bool(on_menu), "items": [i.pk for i in on_menu],
            "owner": owner.get_username(),
            "note": "; ".join(off) if off else _("suggested to %(owner)s") % {
                "owner": owner.get_username()}}


def _notify(*, play, run, account, action, event):
    owner = _owner(account)
    if owner is None:
        return {"type": "notify", "done": False,
                "note": _("the account has no owner to notify")}
    alert = Alert.objects.create(
        user=owner, event_id=event.id, event_type=event.type, account=account, play=play,
        data={"reason": run.reason, "play_name": play.name}, occurred_at=event.occurred_at,
        immediate=True)
    from . import alerts

    alerts.alert_send_later(alert)
    return {"type": "notify", "done": True, "owner": owner.get_username(),
            "note": _("%(owner)s notified") % {"owner": owner.get_username()}}


def _order(*, play, run, account, action, event):
    """Place `requested` orders for the items (never approved here: a person approves them
    like any other), at most `max_per_account` times per account and period."""
    # Lock the account (as the ordering service does) before counting, so two events firing
    # this play for one account at once cannot both take the last place under the cap.
    account = (Account.objects.select_for_update(of=("self",))
               .select_related("tier", "owner").get(pk=account.pk))
    start = program_selectors.period_start(action["period"], timezone.localdate())
    since = timezone.make_aware(datetime.combine(start, time.min))
    times = (PlayOrder.objects.filter(play=play, account=account, created_at__gte=since)
             .values("run_id").distinct().count())
    if times >= action["max_per_account"]:
        return {"type": "order", "done": False, "orders": [],
                "note": _("already ordered %(times)s time(s) %(period)s for this account (the "
                          "play's cap)") % {"times": times,
                                            "period": CAP_PERIODS[action["period"]]}}
    requester = _owner(account) or play.created_by
    if requester is None:
        return {"type": "order", "done": False, "orders": [],
                "note": _("the account has no owner to order for")}
    lines = program_selectors.menu_lines(account=account, items=_items(action))
    orderable = [line.item for line in lines if not line.blocking(ignore=RECIPIENT_CODES)]
    skipped = [f"{line.item.name}: {line.reason}" for line in lines
               if line.item not in orderable]
    missing = set(action["items"]) - {line.item.pk for line in lines}
    skipped += [_("program item %(id)s no longer exists") % {"id": i} for i in sorted(missing)]
    contact = program_selectors.last_recipient(account=account) or \
        account.contacts.order_by("pk").first()
    if contact is None:
        needing = [item for item in orderable if item.needs_contact]
        skipped += [_("%(item)s: needs a recipient and the account has no contact")
                    % {"item": item.name} for item in needing]
        orderable = [item for item in orderable if not item.needs_contact]
    if not orderable:
        return {"type": "order", "done": False, "orders": [], "note": "; ".join(skipped)}
    orders = program_services.order_submit(
        account=account, items=orderable, contact=contact, requested_by=requester,
        note=_("Ordered by play “%(play)s”: %(reason)s") % {"play": play.name,
                                                           "reason": run.reason},
        auto_approve=False)
    PlayOrder.objects.bulk_create([PlayOrder(play=play, run=run, account=account, order=order)
                                   for order in orders])
    note = _("%(count)s order(s) placed for approval") % {"count": len(orders)}
    return {"type": "order", "done": True, "orders": [o.pk for o in orders],
            "note": "; ".join([note, *skipped])}


ACTIONS = {"suggest": _suggest, "notify": _notify, "order": _order}
