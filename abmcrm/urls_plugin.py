"""Everything a host project needs from abmcrm in one include:

    path("", include("abmcrm.urls_plugin")),

- the API under `api/v1/`: token (and its revocation), schema and docs, then each installed
  app's endpoints;
- the pages (accounts, programs, the fulfillment queue, orders, the funnel dashboard, the
  pipeline, the in-market model's backtest, plays and My notifications);
- login and logout pages at `login/` and `logout/`, which cannot clash with abmcrm's own
  `accounts/` pages (Django's default LOGIN_URL, `/accounts/login/`, would);
- Django's `set_language` view at `i18n/setlang/`, which the language picker posts to.

Hosts that want other prefixes include the parts themselves: `abmcrm.core.urls`,
`tiers.urls`, `programs.urls`, `funnel.urls`, `pipeline.urls`, `inmarket.urls`,
`webhooks.urls` and `plays.urls` for the API, `abmcrm.core.page_urls`, `tiers.page_urls`,
`programs.page_urls`, `funnel.page_urls`, `pipeline.page_urls`, `inmarket.page_urls`,
`webhooks.page_urls` and `plays.page_urls` for the pages (docs/guide/install.md).
"""

from django.apps import apps
from django.urls import include, path

APPS = ["abmcrm.core", "tiers", "programs", "funnel", "pipeline", "inmarket", "webhooks",
        "plays"]

api_v1 = [path("", include(f"{app}.urls")) for app in APPS if apps.is_installed(app)]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("i18n/", include("django.conf.urls.i18n")),
    *(path("", include(f"{app}.page_urls")) for app in APPS if apps.is_installed(app)),
]
