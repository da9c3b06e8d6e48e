"""Rescoring and retiering: queued after an ingest, run as a job on demand or nightly."""

from django.db import transaction

from abmcrm.core import jobs
from abmcrm.core.exceptions import InvalidInput

from .. import scoring
from ..models import Account, RecomputeJob
from ..tasks import recompute_accounts, run_recompute


def accounts_recompute_queue(*, account_ids):
    """Rescore and retier these accounts in the worker once the current transaction commits."""
    ids = sorted({int(pk) for pk in account_ids})
    if ids:
        transaction.on_commit(lambda: recompute_accounts.delay(ids))


def tiers_recompute(*, account_ids=None, now=None, by=None, progress=None):
    """Rescore and retier all accounts, or the given ones. Returns a RecomputeResult."""
    return scoring.recompute(account_ids=account_ids, now=now, by=by, progress=progress)


def recompute_start(*, user, account_ids=None):
    """Create a recompute job and queue it once committed."""
    if account_ids is not None:
        account_ids = sorted(set(account_ids))
        found = set(Account.objects.filter(pk__in=account_ids).values_list("pk", flat=True))
        missing = [pk for pk in account_ids if pk not in found]
        if missing:
            raise InvalidInput("Unknown account ids.", detail={"accounts": [
                f"No account with id {', '.join(map(str, missing[:20]))}."]})
    job = RecomputeJob.objects.create(account_ids=account_ids, created_by=user)
    transaction.on_commit(lambda: run_recompute.delay(job.pk))
    return job


def recompute_run(*, job, progress=None):
    """Run a recompute job, saving its progress after each chunk. A job that has already
    finished is left as it is."""
    if not jobs.job_start(job=job, reset={"done": 0}):
        return job

    def report(done, total):
        job.done, job.total = done, total
        job.save(update_fields=["done", "total"])
        if progress:
            progress(done, total)

    try:
        result = tiers_recompute(account_ids=job.account_ids, progress=report)
    except Exception as exc:
        jobs.job_fail(job=job, message=f"{type(exc).__name__}: {exc}")
        raise
    job.result = result.as_dict()
    jobs.job_finish(job=job, fields=["result"])
    return job
