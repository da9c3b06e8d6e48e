"""abmcrm: account-based marketing apps for Django (abmcrm.core, tiers, programs, funnel),
and the reference project (settings, urls, celery).

Importing it does nothing else: a host project's Celery app adds the periodic jobs with

    app.conf.beat_schedule.update(abmcrm.beat_schedule())
"""


def beat_schedule():
    """The Celery beat entries of the installed abmcrm apps' periodic jobs (a new dict each
    call; see abmcrm.core.schedule)."""
    from abmcrm.core.schedule import beat_schedule as schedule

    return schedule()
