"""The periodic jobs of the installed abmcrm apps, as Celery beat entries
(`abmcrm.beat_schedule()`).

Read from the settings alone (no app registry): a Celery app module calls it at import time,
before Django is set up. Tasks are named, not imported, so the core names the apps' jobs
without depending on them."""

from django.conf import settings as django_settings

from .conf import settings

# (app, entry name, task, setting with the interval in seconds)
JOBS = [
    # Rescore and retier every account: engagement decays and the intent and engagement
    # windows move even when no new data arrives.
    ("tiers", "abmcrm-recompute-tiers", "tiers.tasks.recompute_all", "ABMCRM_RECOMPUTE_EVERY"),
    # Train the in-market model again on the week's new history (inmarket).
    ("inmarket", "abmcrm-train-in-market", "inmarket.tasks.train_scheduled",
     "ABMCRM_INMARKET_TRAIN_EVERY"),
    # Every sweeper (`manage.py redrive`, AppConfig.sweepers): re-queues the jobs,
    # fulfillments and rescoring whose task never ran (the broker was down) or whose worker
    # died, and reconciles sends stuck in flight.
    ("abmcrm.core", "abmcrm-redrive", "abmcrm.core.tasks.redrive", "ABMCRM_REDRIVE_EVERY"),
    # The owner alerts' e-mail digests (daily by default): one task per rep with news.
    ("plays", "abmcrm-alert-digests", "plays.tasks.send_digests", "ABMCRM_ALERT_DIGEST_EVERY"),
]


def _installed(app):
    return any(entry == app or entry.startswith(f"{app}.apps.")
               for entry in django_settings.INSTALLED_APPS)


def beat_schedule():
    """{entry name: {"task", "schedule"}} for the jobs of the apps in INSTALLED_APPS."""
    return {name: {"task": task, "schedule": float(getattr(settings, interval))}
            for app, name, task, interval in JOBS if _installed(app)}
