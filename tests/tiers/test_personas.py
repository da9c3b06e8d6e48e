"""Title → persona by the default rules (tiers/personas.py, migration 0014), overrides, and
reclassification when the rules change."""

import pytest

from tests.factories import ContactFactory
from tiers import services
from tiers.models import Contact, PersonaRule
from tiers.personas import Classifier, normalise_title

from .persona_titles import TITLES

pytestmark = pytest.mark.django_db


def test_default_rules_agree_with_people_on_real_titles():
    assert len(TITLES) >= 150
    classifier = Classifier.from_db()
    disagreements = [(title, (function, seniority), classifier.classify(title))
                     for title, function, seniority in TITLES
                     if classifier.classify(title) != (function, seniority)]
    agreement = 1 - len(disagreements) / len(TITLES)
    assert agreement >= 0.95, disagreements


@pytest.mark.parametrize("title, expected", [
    ("Sr. Dir. of Mktg", "sr dir of mktg"), ("C-Level", "c level"),
    ("VP, Sales & Marketing", "vp sales marketing"), ("  ", "")])
def test_titles_are_compared_as_words(title, expected):
    assert normalise_title(title) == expected


def test_a_keyword_matches_whole_words_only():
    classifier = Classifier([PersonaRule(keyword="it", job_function="it", priority=1)])
    assert classifier.classify("Head of IT")[0] == "it"
    assert classifier.classify("Digital Marketing")[0] == "other"


def test_a_word_inside_a_longer_match_is_ignored():
    classifier = Classifier([
        PersonaRule(keyword="president", job_function="executive", seniority="c_level",
                    priority=1),
        PersonaRule(keyword="vice president", seniority="vp", priority=50)])
    assert classifier.classify("Vice President") == ("other", "vp")
    assert classifier.classify("President") == ("executive", "c_level")


class TestContactPersona:
    def test_created_contact_gets_the_persona_of_its_title(self, api, abm_admin):
        contact = ContactFactory()
        response = api.as_user(abm_admin).post("/api/v1/contacts/", {
            "account": contact.account_id, "email": "cfo@example.com", "title": "CFO"},
            format="json")
        assert response.status_code == 201, response.json()
        body = response.json()
        assert (body["job_function"], body["seniority"]) == ("finance", "c_level")
        assert body["persona_overridden"] is False

    def test_a_persona_sent_overrides_and_survives_a_title_change(self, api, abm_admin):
        contact = ContactFactory(title="Analyst")
        client = api.as_user(abm_admin)
        response = client.patch(f"/api/v1/contacts/{contact.pk}/",
                                {"job_function": "finance"}, format="json")
        assert response.json()["persona_overridden"] is True
        assert response.json()["job_function"] == "finance"
        response = client.patch(f"/api/v1/contacts/{contact.pk}/", {"title": "CTO"},
                                format="json")
        assert response.json()["job_function"] == "finance"
        # Handed back to the rules.
        response = client.patch(f"/api/v1/contacts/{contact.pk}/",
                                {"persona_overridden": False}, format="json")
        assert (response.json()["job_function"], response.json()["seniority"]) == (
            "engineering", "c_level")

    def test_bulk_upsert_classifies_and_keeps_overrides(self, api, abm_admin):
        kept = ContactFactory(title="CEO", email="kept@example.com")
        Contact.objects.filter(pk=kept.pk).update(job_function="legal", seniority="c_level",
                                                  persona_overridden=True)
        response = api.as_user(abm_admin).post("/api/v1/contacts/bulk/", [
            {"account": kept.account.domain, "email": "kept@example.com", "title": "CMO"},
            {"account": kept.account.domain, "email": "new@example.com", "title": "Eng. Mgr"},
            {"account": kept.account.domain, "email": "set@example.com", "title": "CEO",
             "seniority": "manager"},
        ], format="json")
        assert response.status_code == 200, response.json()
        personas = {c.email: (c.job_function, c.seniority, c.persona_overridden)
                    for c in Contact.objects.filter(account=kept.account)}
        assert personas["kept@example.com"] == ("legal", "c_level", True)
        assert personas["new@example.com"] == ("engineering", "manager", False)
        assert personas["set@example.com"] == ("executive", "manager", True)


def test_changing_the_rules_reclassifies_contacts_but_not_overrides(
        django_capture_on_commit_callbacks):
    plain = ContactFactory(title="Growth Hacker")
    held = ContactFactory(title="Growth Hacker")
    Contact.objects.filter(pk=held.pk).update(job_function="legal", persona_overridden=True)
    assert Contact.objects.get(pk=plain.pk).job_function in ("marketing", "other")
    with django_capture_on_commit_callbacks(execute=True):
        PersonaRule.objects.create(keyword="hacker", job_function="engineering",
                                   seniority="senior", priority=1)
        services.persona_rules_changed()
    plain.refresh_from_db(), held.refresh_from_db()
    assert (plain.job_function, plain.seniority) == ("engineering", "senior")
    assert (held.job_function, held.persona_overridden) == ("legal", True)
    # Idempotent: nothing left to change.
    assert services.contacts_reclassify() == 0
