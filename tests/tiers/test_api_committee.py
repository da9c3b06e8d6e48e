"""The buying committee in the API: GET|PUT /api/v1/tiers/{id}/committee/, the scores, the
account list filters and the contacts' persona fields."""

import pytest

from tests.factories import AccountFactory, ContactFactory, tier
from tiers.models import CommitteeRole
from tiers.scoring import refresh_committees

pytestmark = pytest.mark.django_db


def committee_url(number):
    return f"/api/v1/tiers/{tier(number).pk}/committee/"


class TestCommitteeApi:
    def test_every_role_reads_the_defaults(self, api, rep, marketer, abm_admin):
        for user in (rep, marketer, abm_admin):
            response = api.as_user(user).get(committee_url(1))
            assert response.status_code == 200
            assert response.json() == {"roles": {"decision_maker": 1, "champion": 1,
                                                 "influencer": 2}}
        assert api.as_user(rep).get(committee_url(3)).json() == {
            "roles": {"decision_maker": 1}}

    def test_admins_replace_it(self, api, abm_admin):
        response = api.as_user(abm_admin).put(committee_url(2), {"roles": {
            "decision_maker": 2, "user": 0, "blocker": 1}}, format="json")
        assert response.status_code == 200, response.json()
        assert response.json() == {"roles": {"decision_maker": 2, "user": 0, "blocker": 1}}
        assert not CommitteeRole.objects.filter(tier=tier(2), buying_role="champion").exists()

    def test_reps_and_marketers_may_not_write(self, api, rep, marketer):
        for user in (rep, marketer):
            response = api.as_user(user).put(committee_url(1), {"roles": {}}, format="json")
            assert response.status_code == 403
        assert CommitteeRole.objects.filter(tier=tier(1)).count() == 3

    def test_anonymous_and_roleless_are_refused(self, api, client, nobody):
        assert client.get(committee_url(1)).status_code in (401, 403)
        assert api.as_user(nobody).get(committee_url(1)).status_code == 403

    @pytest.mark.parametrize("body, field", [
        ({"roles": {"ceo": 1}}, "roles"),
        ({"roles": {"champion": 21}}, "roles"),
        ({"roles": {"champion": -1}}, "roles"),
        ({"roles": {"champion": "many"}}, "roles"),
        ({"roles": ["champion"]}, "roles"),
        ({}, "roles"),
    ])
    def test_bad_input_is_a_400_with_field_errors(self, api, abm_admin, body, field):
        response = api.as_user(abm_admin).put(committee_url(1), body, format="json")
        assert response.status_code == 400
        assert field in response.json()
        assert CommitteeRole.objects.filter(tier=tier(1)).count() == 3

    def test_unknown_tier_is_a_404(self, api, abm_admin):
        assert api.as_user(abm_admin).get("/api/v1/tiers/999999/committee/").status_code == 404


def test_scores_carry_the_committee(api, rep):
    from tests.tiers.scoring_helpers import icp
    from tiers.models import IcpPersona

    IcpPersona.objects.create(profile=icp(), job_function="", seniority="vp", weight=80)
    account = AccountFactory(tier=tier(1))
    ContactFactory(account=account, buying_role="decision_maker", seniority="vp")
    refresh_committees([account.pk])
    body = api.as_user(rep).get(f"/api/v1/accounts/{account.pk}/scores/").json()
    assert (body["contact_fit"], body["coverage"], body["missing_roles"]) == (
        80, 25, ["champion", "influencer"])
    committee = body["explanation"]["committee"]
    assert committee["required"] == {"decision_maker": 1, "champion": 1, "influencer": 2}
    assert committee["contacts"][0]["fills_seat"] is True


def test_account_list_filters_by_coverage_and_missing_role(api, marketer):
    full = AccountFactory(tier=tier(3))
    ContactFactory(account=full, buying_role="decision_maker")
    lacking = AccountFactory(tier=tier(3))
    refresh_committees([full.pk, lacking.pk])
    client = api.as_user(marketer)

    def ids(query):
        response = client.get(f"/api/v1/accounts/?{query}")
        assert response.status_code == 200
        return {row["id"] for row in response.json()["results"]}

    assert ids("coverage_max=50") == {lacking.pk}
    assert ids("missing_role=decision_maker") == {lacking.pk}
    assert ids("missing_role=champion") == set()
    assert client.get("/api/v1/accounts/?missing_role=ceo").status_code == 400
    assert client.get("/api/v1/accounts/?coverage_max=lots").status_code == 400


@pytest.mark.parametrize("rows", [1, 50])
def test_contact_list_has_personas_in_a_fixed_number_of_queries(
        api, abm_admin, rows, django_assert_max_num_queries):
    account = AccountFactory()
    for _ in range(rows):
        ContactFactory(account=account, job_function="sales", seniority="vp", contact_fit=40)
    client = api.as_user(abm_admin)
    with django_assert_max_num_queries(6):
        response = client.get("/api/v1/contacts/?page_size=50")
    results = response.json()["results"]
    assert len(results) == rows
    assert {(r["job_function"], r["seniority"], r["contact_fit"]) for r in results} == {
        ("sales", "vp", 40)}


def test_contacts_filter_by_persona(api, rep):
    ContactFactory(job_function="finance", seniority="c_level")
    ContactFactory(job_function="it", seniority="entry")
    response = api.as_user(rep).get("/api/v1/contacts/?job_function=finance")
    assert [row["seniority"] for row in response.json()["results"]] == ["c_level"]


def test_icp_personas_admins_write_and_everyone_rescored(api, abm_admin, marketer,
                                                         django_capture_on_commit_callbacks):
    from tests.tiers.scoring_helpers import icp

    profile = icp(("industry", {"values": ["software"]}, 1))
    account = AccountFactory(tier=tier(3), tier_locked=True)
    ContactFactory(account=account, buying_role="decision_maker", job_function="finance",
                   seniority="c_level")
    body = {"profile": profile.pk, "job_function": "finance", "seniority": "c_level",
            "weight": 90}
    assert api.as_user(marketer).post("/api/v1/icp/personas/", body,
                                      format="json").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = api.as_user(abm_admin).post("/api/v1/icp/personas/", body, format="json")
    assert response.status_code == 201, response.json()
    account.refresh_from_db()
    assert account.contact_fit == 90
    again = api.as_user(abm_admin).post("/api/v1/icp/personas/", body, format="json")
    assert again.status_code == 400 and "seniority" in again.json()


def test_a_committee_not_computed_yet_is_null_not_zero(api, rep):
    account = AccountFactory(tier=tier(1))
    body = api.as_user(rep).get(f"/api/v1/accounts/{account.pk}/scores/").json()
    assert (body["coverage"], body["missing_roles"]) == (None, [])
    refresh_committees([account.pk])
    body = api.as_user(rep).get(f"/api/v1/accounts/{account.pk}/scores/").json()
    assert (body["coverage"], body["missing_roles"]) == (
        0, ["decision_maker", "champion", "influencer"])
