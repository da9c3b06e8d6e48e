"""Extension points that let the apps (tiers, programs, funnel, a host project's own) add to the
shared pages without the lower apps importing the higher ones.

An AppConfig may declare:
- `nav_links`: [(label, url name, required role check name)], where the check is one of
  "any", "marketer", "admin" — shown in the top navigation;
- `account_page_panels`: dotted paths of functions `(request, account) -> HTML string`,
  rendered in order on the account page.
"""

from django.apps import apps
from django.urls import NoReverseMatch, reverse
from django.utils.module_loading import import_string

from . import roles

_CHECKS = {
    "any": lambda user: roles.has_role(user, *roles.ROLES),
    "marketer": roles.is_marketer,
    "admin": roles.is_abm_admin,
}


def nav_links(user):
    links = []
    for config in apps.get_app_configs():
        for label, url_name, check in getattr(config, "nav_links", ()):
            if _CHECKS[check](user):
                try:
                    links.append({"label": label, "url": reverse(url_name)})
                except NoReverseMatch:
                    continue
    return links


def account_panels(request, account):
    panels = []
    for config in apps.get_app_configs():
        for path in getattr(config, "account_page_panels", ()):
            panels.append(import_string(path)(request, account))
    return panels
