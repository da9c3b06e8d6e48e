"""tiers/services/personas.py: a persona rule change survives a broker outage (the pending
reclassification and its sweeper), and a contact's persona change rescores its account when
engagement is weighted by persona."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from abmcrm.core.conf import settings as core_conf
from abmcrm.core.models import Job
from tests.factories import AccountFactory, ContactFactory
from tests.programs.fulfillment.helpers import broker_unreachable
from tiers import services
from tiers.models import (
    Contact,
    PersonaMultiplier,
    PersonaReclassification,
    PersonaRule,
    RecomputeJob,
)

from ..scoring_helpers import event, fresh

pytestmark = pytest.mark.django_db


def pending():
    row = PersonaReclassification.objects.filter(pk=1).first()
    return row is not None and row.requested_at is not None


class TestRuleChangeWithTheBrokerDown:
    def change_rules(self, django_capture_on_commit_callbacks):
        with broker_unreachable(), django_capture_on_commit_callbacks(execute=True):
            PersonaRule.objects.create(keyword="hacker", job_function="engineering",
                                       seniority="senior", priority=1)
            services.persona_rules_changed()

    def test_redrive_applies_it(self, django_capture_on_commit_callbacks, capsys):
        contact = ContactFactory(title="Growth Hacker")
        assert (contact.job_function, contact.seniority) != ("engineering", "senior")
        self.change_rules(django_capture_on_commit_callbacks)
        contact.refresh_from_db()
        assert (contact.job_function, contact.seniority) != ("engineering", "senior")
        assert pending() and PersonaReclassification.objects.get().queued_at is None

        call_command("redrive")  # the broker is back (eager here)
        assert "personas: queued 1, not_queued 0" in capsys.readouterr().out
        contact.refresh_from_db()
        assert (contact.job_function, contact.seniority) == ("engineering", "senior")
        assert not pending()
        # Nothing left: the next sweep queues nothing.
        call_command("redrive")
        assert "personas: queued 0, not_queued 0" in capsys.readouterr().out

    def test_a_broker_still_down_leaves_it_pending(self, django_capture_on_commit_callbacks,
                                                   capsys):
        self.change_rules(django_capture_on_commit_callbacks)
        with broker_unreachable():
            call_command("redrive")
        assert "personas: queued 0, not_queued 1" in capsys.readouterr().out
        assert pending()

    def test_a_queued_task_is_not_queued_again_until_it_looks_stuck(self):
        now = timezone.now()
        PersonaReclassification.objects.create(pk=1, requested_at=now, queued_at=now)
        assert services.personas_redrive(now=now) == {"queued": 0, "not_queued": 0}
        later = now + timedelta(seconds=core_conf.ABMCRM_JOB_STUCK_AFTER + 1)
        assert services.personas_redrive(now=later) == {"queued": 1, "not_queued": 0}
        assert not pending()  # the task ran (eagerly) and cleared it

    def test_a_change_made_during_a_run_stays_pending(self, monkeypatch):
        """The task clears only the change it read: one made meanwhile is run again."""
        first = timezone.now() - timedelta(minutes=1)
        PersonaReclassification.objects.create(pk=1, requested_at=first)
        from tiers.services import personas

        real = personas.Classifier.from_db

        def rules_change_meanwhile():
            PersonaReclassification.objects.filter(pk=1).update(requested_at=timezone.now())
            return real()

        monkeypatch.setattr(personas.Classifier, "from_db", rules_change_meanwhile)
        services.contacts_reclassify()
        assert pending()


class TestPersonaChangeRescores:
    @pytest.fixture
    def weighted(self):
        """An account whose only engagement is a reply from an IT manager, scored."""
        PersonaMultiplier.objects.create(seniority="c_level", multiplier=3)
        account = AccountFactory()
        contact = ContactFactory(account=account, title="IT Manager", job_function="it",
                                 seniority="manager")
        event(account, "email_reply", timezone.now(), contact=contact)  # weight 10
        services.tiers_recompute(account_ids=[account.pk])
        assert fresh(account).engagement_score == 10
        return account, contact

    def test_through_the_api(self, api, abm_admin, weighted,
                             django_capture_on_commit_callbacks):
        account, contact = weighted
        with django_capture_on_commit_callbacks(execute=True):
            response = api.as_user(abm_admin).patch(
                f"/api/v1/contacts/{contact.pk}/", {"title": "CIO"}, format="json")
        assert response.json()["seniority"] == "c_level"
        assert fresh(account).engagement_score == 30  # 10 × 3, without waiting for a recompute
        job = RecomputeJob.objects.get(trigger=RecomputeJob.Trigger.CHANGE)
        assert (job.account_ids, job.status) == ([account.pk], Job.Status.DONE)

    def test_through_the_bulk_endpoint(self, api, abm_admin, weighted,
                                       django_capture_on_commit_callbacks):
        account, contact = weighted
        with django_capture_on_commit_callbacks(execute=True):
            api.as_user(abm_admin).post("/api/v1/contacts/bulk/", [{
                "account": account.pk, "email": contact.email, "seniority": "c_level"}],
                format="json")
        assert fresh(account).engagement_score == 30

    def test_with_the_broker_down_the_sweeper_rescores(self, api, abm_admin, weighted,
                                                       django_capture_on_commit_callbacks):
        account, contact = weighted
        with broker_unreachable(), django_capture_on_commit_callbacks(execute=True):
            response = api.as_user(abm_admin).patch(
                f"/api/v1/contacts/{contact.pk}/", {"seniority": "c_level"}, format="json")
        assert response.status_code == 200
        assert fresh(account).engagement_score == 10
        call_command("redrive", verbosity=0)
        assert fresh(account).engagement_score == 30

    def test_other_changes_queue_nothing(self, api, abm_admin, weighted):
        _, contact = weighted
        api.as_user(abm_admin).patch(f"/api/v1/contacts/{contact.pk}/", {"first_name": "Ida"},
                                     format="json")
        assert not RecomputeJob.objects.exists()

    def test_without_persona_multipliers_nothing_is_queued(self, api, abm_admin):
        contact = ContactFactory(title="IT Manager")
        assert not PersonaMultiplier.objects.exists()
        api.as_user(abm_admin).patch(f"/api/v1/contacts/{contact.pk}/", {"title": "CIO"},
                                     format="json")
        assert Contact.objects.get(pk=contact.pk).seniority == "c_level"
        assert not RecomputeJob.objects.exists()
