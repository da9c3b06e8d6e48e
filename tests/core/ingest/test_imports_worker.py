"""The CSV import through a real Celery worker process and the configured broker."""

import pytest
from django.core.files.base import ContentFile

from abmcrm.core import ingest
from abmcrm.core.models import ImportJob
from tests.conftest import wait_for
from tiers.models import Account

pytestmark = pytest.mark.worker


def test_import_runs_on_a_real_worker(celery_worker_process, abm_admin_tx):
    content = "name,domain,employees\n" + "".join(
        f"Worker Co {i},worker{i}.com,{i}\n" for i in range(300)) + "Bad,bad domain,1\n"
    job = ingest.import_start(kind="accounts", user=abm_admin_tx,
                                file=ContentFile(content.encode(), name="w.csv"))

    def finished():
        """the import job to finish on the worker"""
        job.refresh_from_db()
        return job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED)

    wait_for(finished, timeout=60)
    assert job.status == ImportJob.Status.DONE, job.message
    assert (job.total_rows, job.rows_done, job.created, job.error_count) == (301, 301, 300, 1)
    assert job.errors[0]["line"] == 302
    assert Account.objects.filter(domain__startswith="worker").count() == 300


@pytest.fixture
def abm_admin_tx(transactional_db):
    from tests.factories import AdminFactory

    return AdminFactory(username="admin-tx")
