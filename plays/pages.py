"""The plays' pages: `/plays/` (the list and a new play), `/plays/<id>/` (edit, switch off,
delete, and the play's log) for marketers and admins, and `/notifications/` (every role: my
own alert preferences). Plain forms; a play goes through the API's validation
(`serializers.PlaySerializer`), so the page and the API refuse the same plays."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from abmcrm.core import roles
from abmcrm.core.auth import login_required
from abmcrm.core.ids import ids_in
from abmcrm.core.paginator import ListPaginator
from programs.models import MenuEntry, ProgramItem
from tiers.models import Tier

from . import alerts, selectors, services
from .models import EventType, NotificationPreference
from .serializers import BUYING_STAGES, PERIODS, NotificationPreferenceSerializer, PlaySerializer

PERIOD_LABELS = {"month": gettext_lazy("month"), "quarter": gettext_lazy("quarter"),
                 "year": gettext_lazy("year")}


def _require_marketer(user):
    if not services.may_write_plays(user):
        raise PermissionDenied(_("Only marketers and ABM admins work with plays."))


def _menu_items():
    """The program items on any tier's menu: the ones a play may name."""
    on_menu = MenuEntry.objects.values("item_id")
    return list(ProgramItem.objects.filter(pk__in=on_menu).order_by("name", "pk"))


def _form_to_data(post):
    """The API's shape of a play from the page's form."""
    conditions = {}
    tiers = ids_in(post.getlist("tier"))
    if tiers:
        conditions["tier"] = tiers
    topics = [t.strip() for t in post.get("topics", "").split(",") if t.strip()]
    if topics:
        conditions["topics"] = topics
    stages = post.getlist("buying_stage")
    if stages:
        conditions["buying_stage"] = stages
    fit = post.get("fit_min", "").strip()
    if fit:
        conditions["fit_min"] = int(fit) if fit.isdigit() else fit
    actions = []
    suggest = ids_in(post.getlist("suggest_items"))
    if suggest or post.get("suggest"):
        actions.append({"type": "suggest", "items": suggest})
    if post.get("notify"):
        actions.append({"type": "notify"})
    order = ids_in(post.getlist("order_items"))
    if order or post.get("order"):
        cap = post.get("max_per_account", "1").strip()
        actions.append({"type": "order", "items": order,
                        "max_per_account": int(cap) if cap.isdigit() else cap,
                        "period": post.get("period", "quarter")})
    return {"name": post.get("name", ""), "event": post.get("event", ""),
            "conditions": conditions, "actions": actions,
            "is_active": bool(post.get("is_active"))}


def _form_values(data):
    """What the form shows for a play's data (stored, or as posted)."""
    conditions = data.get("conditions") or {}
    by_type = {}
    for action in data.get("actions") or []:
        if isinstance(action, dict):
            by_type.setdefault(action.get("type"), action)
    order = by_type.get("order", {})
    return {
        "name": data.get("name", ""), "event": data.get("event", ""),
        "is_active": data.get("is_active", True),
        "tier": set(conditions.get("tier") or []),
        "topics": ", ".join(conditions.get("topics") or []),
        "buying_stage": set(conditions.get("buying_stage") or []),
        "fit_min": conditions.get("fit_min", ""),
        "suggest": "suggest" in by_type, "suggest_items": set(by_type.get("suggest", {})
                                                             .get("items") or []),
        "notify": "notify" in by_type,
        "order": "order" in by_type, "order_items": set(order.get("items") or []),
        "max_per_account": order.get("max_per_account", 1),
        "period": order.get("period", "quarter"),
    }


def _errors(serializer_errors):
    """{field: [messages]} flattened for the page: actions' errors per action type."""
    flat = {}
    for field, value in serializer_errors.items():
        if field == "actions" and isinstance(value, list) and value and isinstance(value[0],
                                                                                    dict):
            for entry in value:
                for key, messages_ in entry.items():
                    flat.setdefault(f"actions.{key}", []).extend(str(m) for m in messages_)
        elif isinstance(value, dict):
            for key, messages_ in value.items():
                flat.setdefault(f"{field}.{key}", []).extend(str(m) for m in messages_)
        else:
            flat.setdefault(field, []).extend(str(m) for m in value)
    return flat


def _context(values, errors, **extra):
    return {"values": values, "errors": errors, "events": EventType.choices,
            "tiers": list(Tier.objects.order_by("number")), "stages": BUYING_STAGES,
            "items": _menu_items(), "periods": [(p, PERIOD_LABELS[p]) for p in PERIODS],
            **extra}


@login_required
def play_list(request):
    """Every play with how often it fired, and a form for a new one."""
    _require_marketer(request.user)
    errors, values = {}, _form_values({"is_active": True})
    if request.method == "POST":
        data = _form_to_data(request.POST)
        form = PlaySerializer(data=data)
        if form.is_valid():
            play = services.play_create(by=request.user, **form.validated_data)
            messages.success(request, _("Play “%(name)s” created.") % {"name": play.name})
            return redirect("play-list")
        errors, values = _errors(form.errors), _form_values(data)
    page = ListPaginator(selectors.play_list(user=request.user), 50).get_page(
        request.GET.get("page"))
    return render(request, "plays/play_list.html", _context(values, errors, page=page),
                  status=400 if errors else 200)


@login_required
def play_edit(request, pk):
    """One play: change it, switch it off or delete it; its log below."""
    _require_marketer(request.user)
    play = get_object_or_404(selectors.play_list(user=request.user), pk=pk)
    errors = {}
    values = _form_values(PlaySerializer(play).data)
    if request.method == "POST":
        if request.POST.get("delete"):
            services.play_delete(play=play, by=request.user)
            messages.success(request, _("Play “%(name)s” deleted.") % {"name": play.name})
            return redirect("play-list")
        data = _form_to_data(request.POST)
        form = PlaySerializer(play, data=data)
        if form.is_valid():
            services.play_update(play=play, by=request.user, **form.validated_data)
            messages.success(request, _("Play “%(name)s” saved.") % {"name": play.name})
            return redirect("play-edit", pk=play.pk)
        errors, values = _errors(form.errors), _form_values(data)
    log = ListPaginator(selectors.play_log(play=play), 50).get_page(request.GET.get("page"))
    return render(request, "plays/play_edit.html",
                  _context(values, errors, play=play, log=log),
                  status=400 if errors else 200)


@login_required
def notification_preferences(request):
    """My notifications: the digest, the immediate 6QA alert, the language, Slack."""
    if not roles.has_role(request.user, *roles.ROLES):
        raise PermissionDenied(_("You need the Sales rep, Marketer or ABM admin role."))
    preference = alerts.preference_of(request.user)
    errors = {}
    if request.method == "POST":
        data = {"digest": request.POST.get("digest", ""),
                "immediate_6qa": bool(request.POST.get("immediate_6qa")),
                "language": request.POST.get("language", ""),
                "slack_webhook_url": request.POST.get("slack_webhook_url", "").strip()}
        form = NotificationPreferenceSerializer(preference, data=data)
        if form.is_valid():
            services.preference_save(user=request.user, **form.validated_data)
            messages.success(request, _("Your notification preferences are saved."))
            return redirect("notification-preferences")
        errors = {field: [str(m) for m in msgs] for field, msgs in form.errors.items()}
        preference = NotificationPreference(user=request.user, **{
            k: v for k, v in data.items()})
    from django.conf import settings as django_settings

    return render(request, "plays/notifications.html", {
        "preference": preference, "errors": errors,
        "digests": NotificationPreference.Digest.choices,
        "languages": django_settings.LANGUAGES,
        "teams": list(request.user.abm_alert_teams.order_by("name")),
    }, status=400 if errors else 200)
