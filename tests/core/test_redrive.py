"""A broker that is down never turns a committed request into an error, and `manage.py
redrive` (every app's sweepers, abmcrm/core/redrive.py) queues what was left behind. The
broker here is a Redis URL where nothing listens."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from abmcrm.core.models import ImportJob, Job
from tests.factories import AccountFactory
from tests.programs.fulfillment.helpers import broker_unreachable
from tiers.models import Account, IntentSignal, RecomputeJob

pytestmark = pytest.mark.django_db
Status = Job.Status


@pytest.fixture
def down(django_capture_on_commit_callbacks):
    """down(call): run call() with the broker unreachable, then what it queued on commit."""

    def run(call):
        with broker_unreachable(), django_capture_on_commit_callbacks(execute=True):
            return call()

    return run


def test_an_import_is_accepted_and_the_sweeper_runs_it(api, abm_admin, down, capsys):
    client = api.as_user(abm_admin)
    file = SimpleUploadedFile("a.csv", b"name,domain\nAcme,acme.com\n")
    response = down(lambda: client.post("/api/v1/imports/", {"kind": "accounts",
                                                              "file": file},
                                        format="multipart"))
    assert response.status_code == 202
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert (job.status, job.queued_at) == (Status.PENDING, None)
    assert not Account.objects.exists()
    call_command("redrive")  # the broker is back (eager here)
    # The import, then the rescoring of the account it created (queued in the same sweep).
    assert "jobs: queued 2, not_queued 0, failed 0" in capsys.readouterr().out
    job.refresh_from_db()
    assert job.status == Status.DONE and job.created == 1 and job.queued_at
    assert Account.objects.get().domain == "acme.com"


def test_a_recompute_is_accepted_and_the_sweeper_runs_it(api, marketer, down):
    AccountFactory()
    response = down(lambda: api.as_user(marketer).post("/api/v1/tiers/recompute/", {},
                                                       format="json"))
    assert response.status_code == 202 and response.json()["status"] == "pending"
    call_command("redrive", verbosity=0)
    job = RecomputeJob.objects.get(pk=response.json()["id"])
    assert job.status == Status.DONE and job.result["accounts"] == 1


def test_signals_are_kept_and_the_rescoring_runs_later(api, marketer, down):
    account = AccountFactory(domain="acme.com")
    items = [{"account": "acme.com", "topic": "crm", "score": 90, "source": "g2",
              "week": week} for week in ("2024-01-01", "2024-01-08")]
    response = down(lambda: api.as_user(marketer).post("/api/v1/intent-signals/bulk/", items,
                                                       format="json"))
    assert response.status_code == 200 and response.json()["created"] == 2
    assert IntentSignal.objects.count() == 2
    rescoring = RecomputeJob.objects.get(trigger=RecomputeJob.Trigger.CHANGE)
    assert (rescoring.status, rescoring.account_ids) == (Status.PENDING, [account.pk])
    call_command("redrive", verbosity=0)
    rescoring.refresh_from_db()
    assert rescoring.status == Status.DONE and rescoring.result["accounts"] == 1


def test_a_broker_still_down_leaves_the_jobs_waiting(api, marketer, down, capsys):
    down(lambda: api.as_user(marketer).post("/api/v1/tiers/recompute/", {}, format="json"))
    down(lambda: call_command("redrive"))
    assert "jobs: queued 0, not_queued 1, failed 0" in capsys.readouterr().out
    assert RecomputeJob.objects.get().status == Status.PENDING


def test_the_rescoring_jobs_are_not_in_the_default_list(api, marketer):
    AccountFactory()
    api.as_user(marketer).post("/api/v1/tiers/recompute/", {}, format="json")
    change = RecomputeJob.objects.create(trigger=RecomputeJob.Trigger.CHANGE, account_ids=[1])
    client = api.as_user(marketer)
    listed = client.get("/api/v1/tiers/recompute/").json()["results"]
    assert [job["trigger"] for job in listed] == ["request"]
    changes = client.get("/api/v1/tiers/recompute/", {"trigger": "change"}).json()["results"]
    assert [job["id"] for job in changes] == [change.pk]
    assert len(client.get("/api/v1/tiers/recompute/", {"trigger": "all"}).json()[
        "results"]) == 2
    assert client.get(f"/api/v1/tiers/recompute/{change.pk}/").status_code == 200
    assert client.get("/api/v1/tiers/recompute/", {"trigger": "x"}).status_code == 400


class TestRedriveCommand:
    def test_each_sweeper_runs_even_when_one_fails(self, monkeypatch, capsys):
        from abmcrm.core import hooks

        def broken():
            raise RuntimeError("boom")

        ran = []
        monkeypatch.setattr(hooks, "sweepers", lambda: [
            ("first", broken), ("second", lambda: ran.append(1) or {"queued": 3})])
        with pytest.raises(CommandError, match="first"):
            call_command("redrive")
        captured = capsys.readouterr()
        assert ran == [1] and "second: queued 3" in captured.out
        assert "first: failed: RuntimeError: boom" in captured.err

    def test_apps_declare_their_sweepers(self):
        from abmcrm.core import hooks

        names = [name for name, _ in hooks.sweepers()]
        assert names == ["jobs", "outbox", "personas", "fulfillment", "deal touches",
                         "webhooks", "plays"]

    def test_the_beat_schedule_runs_redrive(self):
        import abmcrm
        from abmcrm.celery import app
        from abmcrm.core import tasks

        entry = abmcrm.beat_schedule()["abmcrm-redrive"]
        assert app.conf.beat_schedule["abmcrm-redrive"] == entry
        assert entry["task"] == tasks.redrive.name == "abmcrm.core.tasks.redrive"
        assert 0 < entry["schedule"] <= 60
