"""Extension points that let the apps (tiers, programs, funnel, a host project's own) add to the
shared pages without the lower apps importing the higher ones.

An AppConfig may declare:
- `nav_links`: [(label, url name, required role check name[, order])], where the check is one
  of "any", "marketer", "admin", "staff" — shown in the top navigation, by `order` (default
  0), then in the order of INSTALLED_APPS; a link whose URL name is not routed is left out;
- `account_page_panels`: dotted paths of functions `(request, account) -> HTML string`,
  rendered in order on the account page;
- `sweepers`: [(name, dotted path of a function taking no arguments)]: what
  `manage.py redrive` (and the periodic `abmcrm.core.tasks.redrive`) runs to queue again the
  work whose task never ran. Each returns {what: how many} (e.g. {"queued": 2}).
- `menu_suggestions`: dotted paths of functions `(account, item_ids) -> {item id: Suggestion}`:
  program items an app above suggests for the account (plays' *suggest* action); the programs
  app shows them pre-ticked on the ordering page and in the menu API. The first app (in
  INSTALLED_APPS order) to suggest an item wins;
- `user_languages`: the dotted path of a function `(users) -> {user pk: language code}`: the
  language each user chose to read e-mails in, where the app keeps it (`abmcrm.core.i18n`);
- any other list of panels a page asks for by name through `panels(name, request, …)`, e.g.
  the funnel dashboard's `funnel_page_panels` (functions `(request, query) -> HTML string`).
"""

from dataclasses import dataclass, field

from django.apps import apps
from django.urls import NoReverseMatch, reverse
from django.utils.module_loading import import_string

from . import roles

_CHECKS = {
    "any": lambda user: roles.has_role(user, *roles.ROLES),
    "marketer": roles.is_marketer,
    "admin": roles.is_abm_admin,
    "staff": lambda user: user.is_staff,
}


def nav_links(user):
    links = []
    for config in apps.get_app_configs():
        for label, url_name, check, *order in getattr(config, "nav_links", ()):
            if _CHECKS[check](user):
                try:
                    links.append((order[0] if order else 0, len(links),
                                  {"label": label, "url": reverse(url_name)}))
                except NoReverseMatch:
                    continue
    return [link for *_, link in sorted(links, key=lambda entry: entry[:2])]


def panels(name, request, *args):
    """The HTML of the panels every AppConfig declares in its attribute `name`, in the order
    of INSTALLED_APPS: each a dotted path of a function `(request, *args) -> HTML string`."""
    found = []
    for config in apps.get_app_configs():
        for path in getattr(config, name, ()):
            found.append(import_string(path)(request, *args))
    return found


def account_panels(request, account):
    return panels("account_page_panels", request, account)


def sweepers():
    """[(name, function)] of every installed app's sweepers, in INSTALLED_APPS order."""
    found = []
    for config in apps.get_app_configs():
        for name, path in getattr(config, "sweepers", ()):
            found.append((name, import_string(path)))
    return found


@dataclass(frozen=True)
class Suggestion:
    """An item suggested for an account by an app above programs: `by` names who suggested it
    ("play Tier 1 welcome") and `reason` says why, both for people; `ref` is how the API names
    the suggester (plays: {"play": 3}). The menu API shows `{**ref, "reason": reason}`."""

    by: str
    reason: str
    ref: dict = field(default_factory=dict)

    def as_api(self):
        return {**self.ref, "reason": self.reason}


def menu_suggestions(account, item_ids):
    """{item id: Suggestion} of every app's `menu_suggestions` for these items of the account
    (one query per declaring app)."""
    found = {}
    item_ids = list(item_ids)
    if not item_ids:
        return found
    for config in apps.get_app_configs():
        for path in getattr(config, "menu_suggestions", ()):
            for item_id, suggestion in import_string(path)(account, item_ids).items():
                found.setdefault(item_id, suggestion)
    return found
