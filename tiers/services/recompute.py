"""Rescoring and retiering: queued after an ingest, run as a job on demand or nightly."""

import logging

from django.utils.translation import gettext as _

from abmcrm.core import jobs
from abmcrm.core.exceptions import InvalidInput

from .. import scoring
from ..models import Account, RecomputeJob

logger = logging.getLogger(__name__)


def accounts_recompute_queue(*, account_ids):
    """Rescore and retier these accounts in the worker once the current transaction commits:
    a recompute job (trigger "change") written in the caller's transaction, so that the
    sweeper queues it again if its task could not be queued or never ran."""
    ids = sorted({int(pk) for pk in account_ids})
    if not ids:
        return None
    job = RecomputeJob.objects.create(account_ids=ids, trigger=RecomputeJob.Trigger.CHANGE)
    jobs.job_enqueue(job=job)
    return job


def tiers_recompute(*, account_ids=None, now=None, by=None, progress=None):
    """Rescore and retier all accounts, or the given ones. Returns a RecomputeResult."""
    return scoring.recompute(account_ids=account_ids, now=now, by=by, progress=progress)


def recompute_start(*, user, account_ids=None):
    """Create a recompute job and queue it once committed (if the broker cannot be reached,
    the job stays pending and `manage.py redrive` queues it)."""
    if account_ids is not None:
        account_ids = sorted(set(account_ids))
        found = set(Account.objects.filter(pk__in=account_ids).values_list("pk", flat=True))
        missing = [pk for pk in account_ids if pk not in found]
        if missing:
            raise InvalidInput(_("Unknown account ids."), detail={"accounts": [
                _("No account with id %(ids)s.") % {"ids": ", ".join(map(str, missing[:20]))}]})

    job = RecomputeJob.objects.create(account_ids=account_ids, created_by=user)
    jobs.job_enqueue(job=job)
    return job


def recompute_run(*, job, progress=None):
    """Run a recompute job, saving its progress (and renewing its lease) after each chunk. A
    job that has finished, or that another worker is running, is left as it is."""
    if not jobs.job_start(job=job, reset={"done": 0}):
        return job

    def report(done, total):
        job.done, job.total = done, total
        jobs.job_heartbeat(job=job, fields=["done", "total"])
        if progress:
            progress(done, total)

    with jobs.job_running(job=job, label="recompute") as run:
        result = tiers_recompute(account_ids=job.account_ids, progress=report)
    if run.lost:
        return job
    job.result = result.as_dict()
    jobs.job_finish(job=job, fields=["result"])
    return job
