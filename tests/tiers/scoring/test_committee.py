"""The buying committee (tiers/scoring/committee.py): contact fit, coverage and missing roles
per tier, kept fresh by the recompute and by contact changes; engagement multipliers."""

import pytest

from tests.factories import AccountFactory, ContactFactory, tier
from tiers import services
from tiers.models import CommitteeRole, IcpPersona, PersonaMultiplier, Tier
from tiers.scoring import committee_summary, refresh_committees

from ..scoring_helpers import NOW, event, fresh, icp, recompute

pytestmark = pytest.mark.django_db

DM, CHAMPION, INFLUENCER = "decision_maker", "champion", "influencer"


class TestSummary:
    def test_tier_one_needs_a_decision_maker_a_champion_and_two_influencers(self):
        required = [(DM, 1), (CHAMPION, 1), (INFLUENCER, 2)]
        assert committee_summary(required, {DM: [80], INFLUENCER: [60]}) == (
            70, 50, [CHAMPION, INFLUENCER])
        assert committee_summary(required, {DM: [80, 20], CHAMPION: [40],
                                            INFLUENCER: [100, 60, 10]}) == (70, 100, [])

    def test_the_best_contacts_fill_the_seats(self):
        assert committee_summary([(DM, 1)], {DM: [90, 10]}) == (90, 100, [])

    def test_nothing_required(self):
        assert committee_summary([], {DM: [30], "user": [55]}) == (55, 100, [])
        assert committee_summary([], {}) == (0, 100, [])

    def test_coverage_rounds_half_up(self):
        assert committee_summary([(DM, 3)], {DM: [0, 0]})[1] == 67


@pytest.mark.parametrize("number, roles, coverage, missing", [
    (1, [DM, CHAMPION, INFLUENCER], 75, [INFLUENCER]),
    (2, [DM, CHAMPION, INFLUENCER], 100, []),
    (2, [INFLUENCER], 0, [DM, CHAMPION]),
    (3, [DM], 100, []),
    (3, [CHAMPION], 0, [DM]),
])
def test_coverage_and_missing_roles_per_tier(number, roles, coverage, missing):
    account = AccountFactory(tier=tier(number))
    for role in roles:
        ContactFactory(account=account, buying_role=role)
    refresh_committees([account.pk])
    account = fresh(account)
    assert (account.coverage, account.missing_roles) == (coverage, missing)


def test_untiered_accounts_need_no_committee():
    account = AccountFactory(tier=None)
    refresh_committees([account.pk])
    assert (fresh(account).coverage, fresh(account).missing_roles) == (100, [])


def test_the_recompute_keeps_contact_fit_and_committee_fresh():
    profile = icp(("industry", {"values": ["software"]}, 1))
    IcpPersona.objects.create(profile=profile, job_function="finance", seniority="c_level",
                              weight=100)
    IcpPersona.objects.create(profile=profile, job_function="", seniority="vp", weight=60)
    account = AccountFactory(tier=tier(3), tier_locked=True)
    cfo = ContactFactory(account=account, buying_role=DM, job_function="finance",
                         seniority="c_level")
    ContactFactory(account=account, buying_role="user", job_function="it", seniority="vp")
    recompute(account_ids=[account.pk])
    account = fresh(account)
    assert (account.contact_fit, account.coverage, account.missing_roles) == (100, 100, [])
    assert sorted(account.contacts.values_list("contact_fit", flat=True)) == [60, 100]
    cfo.delete()
    recompute(account_ids=[account.pk])
    account = fresh(account)
    assert (account.contact_fit, account.coverage, account.missing_roles) == (0, 0, [DM])


def test_a_tier_move_redoes_the_committee():
    account = AccountFactory(tier=None)
    ContactFactory(account=account, buying_role=DM)
    refresh_committees([account.pk])
    assert fresh(account).coverage == 100
    services.account_tier_override(account=fresh(account), tier=tier(1), reason="big",
                                   by=None)
    account = fresh(account)
    assert (account.coverage, account.missing_roles) == (25, [CHAMPION, INFLUENCER])


def test_contact_changes_refresh_the_committee(api, abm_admin):
    account = AccountFactory(tier=tier(3))
    refresh_committees([account.pk])
    assert fresh(account).missing_roles == [DM]
    response = api.as_user(abm_admin).post("/api/v1/contacts/", {
        "account": account.pk, "email": "boss@example.com", "title": "CEO",
        "buying_role": DM}, format="json")
    assert response.status_code == 201
    assert (fresh(account).coverage, fresh(account).missing_roles) == (100, [])


def test_editing_a_committee_refreshes_its_accounts():
    account = AccountFactory(tier=tier(3))
    ContactFactory(account=account, buying_role=DM)
    refresh_committees([account.pk])
    services.tier_committee_set(tier=tier(3), roles={DM: 1, "user": 2})
    account = fresh(account)
    assert (account.coverage, account.missing_roles) == (33, ["user"])
    assert list(CommitteeRole.objects.filter(tier=tier(3)).values_list(
        "buying_role", "count")) == [(DM, 1), ("user", 2)]


class TestMultipliers:
    def test_persona_and_tier_multipliers_compound(self):
        t1 = tier(1)
        account = AccountFactory(tier=t1, tier_locked=True)
        ceo = ContactFactory(account=account, job_function="executive", seniority="c_level")
        event(account, "email_reply", NOW, contact=ceo)  # weight 10, fresh
        recompute(account_ids=[account.pk])
        assert fresh(account).engagement_score == 10
        PersonaMultiplier.objects.create(seniority="c_level", multiplier=3)
        Tier.objects.filter(pk=t1.pk).update(engagement_multiplier=2)
        recompute(account_ids=[account.pk])
        assert fresh(account).engagement_score == 60  # 10 × 3 × 2

    def test_a_persona_multiplier_leaves_other_contacts_and_anonymous_events_alone(self):
        account = AccountFactory(tier=None)
        entry = ContactFactory(account=account, job_function="it", seniority="entry")
        event(account, "email_reply", NOW, contact=entry)
        event(account, "content_download", NOW)  # no contact
        PersonaMultiplier.objects.create(seniority="c_level", multiplier=3)
        recompute(account_ids=[account.pk])
        assert fresh(account).engagement_score == 18

    def test_multipliers_of_one_change_no_score(self):
        account = AccountFactory(tier=tier(2), tier_locked=True)
        contact = ContactFactory(account=account, seniority="c_level")
        event(account, "meeting", NOW, contact=contact)
        recompute(account_ids=[account.pk])
        before = fresh(account).engagement_score
        PersonaMultiplier.objects.create(seniority="c_level", multiplier=1)
        Tier.objects.filter(number=2).update(engagement_multiplier=1)
        result = recompute(account_ids=[account.pk])
        assert (fresh(account).engagement_score, result.scores_changed) == (before, 0)
        assert before == 30
