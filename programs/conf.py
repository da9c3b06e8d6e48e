"""Settings of the programs app: `ABMCRM_*` in the host project's settings, defaults here.

Read through `conf.settings.<NAME>` (without the prefix), never from django.conf directly,
so that tests can override them with `override_settings`."""

from django.conf import settings as django_settings

DEFAULTS = {
    # False: reps order programs only for the accounts they own. True: for any account.
    "REPS_ORDER_ANY_ACCOUNT": False,
    # E-mail the requesting rep when one of their orders reaches one of these statuses.
    "ORDER_NOTIFY_STATUSES": ["approved", "rejected", "cancelled", "fulfilled", "failed"],
    # The sender of those e-mails; None: DEFAULT_FROM_EMAIL.
    "ORDER_EMAIL_FROM": None,
    # Base URL used for links in e-mails (e.g. "https://abm.example.com"); empty: no links.
    "SITE_URL": "",
}


class _Settings:
    def __getattr__(self, name):
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown programs setting {name!r}")
        return getattr(django_settings, f"ABMCRM_{name}", DEFAULTS[name])


settings = _Settings()
