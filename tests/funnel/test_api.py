from datetime import date

import pytest
from django.db import connection

from funnel import services
from funnel.models import PipelineQuota, StageTransition
from tests import factories
from tests.conftest import fire_together
from tests.funnel.helpers import build_hand_funnel, day, record

pytestmark = pytest.mark.django_db

URL = "/api/v1/funnel/transitions/"


def move(account, stage, n, **extra):
    return {"account": account.domain, "to_stage": stage, "occurred_at": day(n).isoformat(),
            **extra}


class TestPostTransitions:
    def test_one_created_then_retry_answers_the_first(self, api, marketer):
        account = factories.AccountFactory()
        client = api.as_user(marketer)
        first = client.post(URL, move(account, "target", 1, external_id="crm-7",
                                      channel="events"), format="json")
        assert first.status_code == 201, first.data
        assert first.data["to_stage"] == "target" and first.data["from_stage"] is None
        assert first.data["side"] == "abm" and first.data["recorded_by"] == marketer.pk
        again = client.post(URL, move(account, "target", 1, external_id="crm-7"),
                            format="json")
        assert again.status_code == 200 and again.data["id"] == first.data["id"]
        assert StageTransition.objects.count() == 1

    def test_one_refused_is_400_with_field_errors(self, api, marketer):
        account = factories.AccountFactory()
        response = api.as_user(marketer).post(URL, move(account, "mql", 1), format="json")
        assert response.status_code == 400
        assert "to_stage" in response.data["errors"]
        response = api.as_user(marketer).post(URL, {"account": account.domain}, format="json")
        assert response.status_code == 400
        assert set(response.data["errors"]) == {"to_stage"}  # occurred_at defaults to now

    def test_a_list_answers_per_item(self, api, marketer):
        account = factories.AccountFactory()
        lead = services.lead_create(email="x@leads.example.org", created_at=day(1))
        response = api.as_user(marketer).post(URL, [
            move(account, "target", 1), move(account, "qualified", 2),
            {"lead": str(lead.pk), "to_stage": "won", "occurred_at": day(3).isoformat(),
             "amount": "12.50", "campaign": factories.CampaignFactory(name="Spring").name},
            "not an object", move(account, "qualified", 4),
        ], format="json")
        assert response.status_code == 200
        assert response.data["created"] == 3 and response.data["unchanged"] == 0
        assert [e["index"] for e in response.data["errors"]] == [3, 4]
        assert [r["index"] for r in response.data["results"]] == [0, 1, 2]

    def test_too_many_items(self, api, marketer):
        response = api.as_user(marketer).post(URL, [{}] * 10_001, format="json")
        assert response.status_code == 400 and "at most 10000" in response.data["detail"]

    @pytest.mark.parametrize("role", ["rep", "nobody"])
    def test_reps_and_strangers_may_not_post(self, api, request, role):
        account = factories.AccountFactory()
        user = request.getfixturevalue(role)
        response = api.as_user(user).post(URL, move(account, "target", 1), format="json")
        assert response.status_code == 403
        assert not StageTransition.objects.exists()

    def test_admin_may_post(self, api, abm_admin):
        account = factories.AccountFactory()
        assert api.as_user(abm_admin).post(URL, move(account, "target", 1),
                                           format="json").status_code == 201


class TestListTransitions:
    def test_filters(self, api, rep):
        build_hand_funnel()
        client = api.as_user(rep)
        data = client.get(URL, {"side": "demand_gen", "stage": "lost"}).data
        assert data["count"] == 3
        data = client.get(URL, {"occurred_after": day(10).isoformat(),
                                "occurred_before": day(12).isoformat(), "side": "abm"}).data
        assert {r["to_stage"] for r in data["results"]} == {"sql", "lost"}
        assert client.get(URL, {"channel": "events"}).data["count"] == 2
        assert client.get(URL, {"side": "sideways"}).status_code == 400

    def test_nobody_may_not_read(self, api, nobody):
        assert api.as_user(nobody).get(URL).status_code == 403

    @pytest.mark.parametrize("rows", [1, 50])
    def test_query_count(self, api, rep, rows, django_assert_max_num_queries):
        campaign = factories.CampaignFactory()
        record([move(factories.AccountFactory(), "target", 1, campaign=campaign.code)
                for _ in range(rows)])
        with django_assert_max_num_queries(6):
            response = api.as_user(rep).get(URL)
        assert response.data["count"] == rows


class TestLeads:
    LEADS = "/api/v1/funnel/leads/"

    def test_create_matches_account_and_enters_the_funnel(self, api, marketer):
        account = factories.AccountFactory(domain="acme.com")
        response = api.as_user(marketer).post(self.LEADS, {
            "email": "Bo@Acme.com", "first_name": "Bo", "channel": "website"}, format="json")
        assert response.status_code == 201, response.data
        assert response.data["account"] == account.pk and response.data["stage"] == "inquiry"
        dup = api.as_user(marketer).post(self.LEADS, {"email": "bo@acme.com"}, format="json")
        assert dup.status_code == 400 and "email" in dup.data

    def test_permissions(self, api, rep, marketer, abm_admin):
        lead = factories.LeadFactory()
        assert api.as_user(rep).get(self.LEADS).status_code == 200
        assert api.as_user(rep).post(self.LEADS, {"email": "a@b.org"},
                                     format="json").status_code == 403
        assert api.as_user(marketer).delete(f"{self.LEADS}{lead.pk}/").status_code == 403
        assert api.as_user(abm_admin).delete(f"{self.LEADS}{lead.pk}/").status_code == 204

    def test_bulk(self, api, marketer, rep):
        items = [{"email": f"p{i}@leads.example.org", "channel": "events"} for i in range(3)]
        items.append({"email": "not-an-email"})
        response = api.as_user(marketer).post(f"{self.LEADS}bulk/", items, format="json")
        assert response.data["created"] == 3 and response.data["errors"][0]["index"] == 3
        assert api.as_user(rep).post(f"{self.LEADS}bulk/", items,
                                     format="json").status_code == 403

    def test_filters(self, api, rep):
        services.lead_create(email="a@leads.example.org", channel="website")
        services.lead_create(email="b@leads.example.org", channel="events")
        data = api.as_user(rep).get(self.LEADS, {"channel": "events", "stage": "inquiry"}).data
        assert [r["email"] for r in data["results"]] == ["b@leads.example.org"]

    @pytest.mark.parametrize("rows", [1, 50])
    def test_query_count(self, api, rep, rows, django_assert_max_num_queries):
        for i in range(rows):
            services.lead_create(email=f"q{i}@leads.example.org")
        with django_assert_max_num_queries(5):
            response = api.as_user(rep).get(self.LEADS)
        assert response.data["count"] == rows


class TestReport:
    REPORT = "/api/v1/funnel/report/"

    def test_shape_and_roles(self, api, rep, nobody):
        build_hand_funnel()
        response = api.as_user(rep).get(self.REPORT, {"start": "2025-01-01",
                                                      "end": "2025-01-31",
                                                      "group_by": "tier"})
        assert response.status_code == 200
        data = response.json()
        assert set(data["sides"]) == {"abm", "demand_gen"}
        first = data["sides"]["abm"][0]
        assert {"stage", "reached", "conversion_to_next", "median_days_to_next",
                "lost"} <= set(first)
        assert first == {**first, "stage": "target", "reached": 4, "conversion_to_next": 0.75}
        assert [g["label"] for g in data["groups"]] == ["Untiered"]
        assert api.as_user(nobody).get(self.REPORT).status_code == 403

    def test_bad_parameters_are_400(self, api, rep):
        client = api.as_user(rep)
        for params in ({"mode": "sideways"}, {"group_by": "colour"},
                       {"start": "2025-02-01", "end": "2025-01-01"}, {"start": "yesterday"}):
            response = client.get(self.REPORT, params)
            assert response.status_code == 400, params
            assert response.data["errors"]

    def test_query_count(self, api, rep, django_assert_max_num_queries):
        build_hand_funnel()
        with django_assert_max_num_queries(6):
            api.as_user(rep).get(self.REPORT, {"start": "2025-01-01", "end": "2025-01-31",
                                               "group_by": "campaign"})


class TestQuotas:
    QUOTAS = "/api/v1/funnel/quotas/"

    def test_attainment(self, api, rep):
        events = factories.CampaignFactory(channel="events")
        PipelineQuota.objects.create(month=date(2025, 1, 1), channel="events", amount=1000)
        PipelineQuota.objects.create(month=date(2025, 1, 1), channel="website", amount=500)
        a, b = factories.AccountFactory(), factories.AccountFactory()
        record([move(a, "target", 1), move(a, "opportunity", 2, amount="300",
                                           campaign=events.code),
                move(b, "target", 1), move(b, "opportunity", 3, amount="200", channel="events"),
                move(b, "lost", 4), move(b, "opportunity", 40, amount="999", reopen=True)])
        data = api.as_user(rep).get(self.QUOTAS, {"month": "2025-01"}).json()
        rows = {r["channel"]: r for r in data["channels"]}
        assert rows["events"]["pipeline_created"] == "500.00"
        assert rows["events"]["attainment"] == 0.5 and rows["events"]["opportunities"] == 2
        assert rows["website"]["pipeline_created"] == "0.00"
        assert data["total"]["attainment"] == round(500 / 1500, 4)
        bad = api.as_user(rep).get(self.QUOTAS, {"month": "January"})
        assert bad.status_code == 400 and "month" in bad.data["errors"]

    def test_only_admins_manage(self, api, marketer, abm_admin):
        body = {"month": "2025-03-15", "channel": "events", "amount": "1000"}
        assert api.as_user(marketer).post(self.QUOTAS, body, format="json").status_code == 403
        response = api.as_user(abm_admin).post(self.QUOTAS, body, format="json")
        assert response.status_code == 201 and response.data["month"] == "2025-03-01"
        again = api.as_user(abm_admin).post(self.QUOTAS, body, format="json")
        assert again.status_code == 400 and "channel" in again.data


def test_schema_generates(api, abm_admin):
    response = api.as_user(abm_admin).get("/api/v1/schema/")
    assert response.status_code == 200
    assert b"/api/v1/funnel/report/" in response.content


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'",
                    reason="SQLite serialises writers: no real concurrent transactions")
def test_concurrent_double_post_applies_once(marketer):
    from rest_framework.test import APIClient

    account = factories.AccountFactory()
    record([move(account, "target", 1)])
    def post():
        client = APIClient()
        client.force_authenticate(marketer)
        return client.post(URL, move(account, "engaged", 2, from_stage="target"),
                           format="json").status_code

    statuses = fire_together([post] * 4)
    assert sorted(statuses).count(201) == 1
    assert set(statuses) <= {201, 400, 409}
    assert StageTransition.objects.filter(account=account, to_stage__slug="engaged").count() == 1
    assert connection.vendor == "postgresql"


def test_far_future_report_end_is_a_400(api, marketer):
    response = api.as_user(marketer).get("/api/v1/funnel/report/?end=9999-12-31")
    assert response.status_code == 400 and "end" in response.json()["errors"]


def test_future_transition_is_refused_and_time_defaults_to_now(api, marketer):
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import AccountFactory

    account = AccountFactory()
    client = api.as_user(marketer)
    future = (timezone.now() + timedelta(days=30)).isoformat()
    body = client.post("/api/v1/funnel/transitions/", [
        {"account": account.pk, "to_stage": "target", "occurred_at": future},
        {"account": account.pk, "to_stage": "nonsense"},
    ], format="json").json()
    errors = {e["index"]: e["errors"] for e in body["errors"]}
    assert "in the future" in errors[0]["occurred_at"][0]
    assert "Unknown stage" in errors[1]["to_stage"][0]
    ok = client.post("/api/v1/funnel/transitions/", {"account": account.pk,
                                                     "to_stage": "target"}, format="json")
    assert ok.status_code in (200, 201), ok.json()


@pytest.mark.parametrize("month", ["9999-12", "9999-13", "0000-01", "0001-01", "2025-00",
                                   "2025-3", "abcd-ef", "2025-03x", "99999-01", "٢٠٢٥-٠٣"])
def test_quota_month_out_of_range_or_malformed_is_400(api, rep, month):
    response = api.as_user(rep).get("/api/v1/funnel/quotas/", {"month": month})
    assert response.status_code == 400 and "month" in response.json()["errors"]


def test_quota_months_at_the_edges_answer(api, rep):
    for month in ("0002-01", "9998-12"):
        assert api.as_user(rep).get("/api/v1/funnel/quotas/",
                                    {"month": month}).status_code == 200


def test_a_negative_quota_is_a_field_error(api, abm_admin):
    response = api.as_user(abm_admin).post("/api/v1/funnel/quotas/", {
        "month": "2025-03-01", "channel": "inbound", "amount": "-1.00"}, format="json")
    assert response.status_code == 400 and "amount" in response.json()


class TestLeadCreatedAt:
    """A lead's creation time far ahead would block every later move of the lead: refused,
    as transitions are, beyond the clock skew allowed."""

    def test_api_refuses_a_future_creation_time(self, api, marketer):
        from datetime import timedelta

        from django.utils import timezone

        client = api.as_user(marketer)
        future = (timezone.now() + timedelta(days=3650)).isoformat()
        response = client.post("/api/v1/funnel/leads/", {"email": "f@x.com",
                                                          "created_at": future}, format="json")
        assert response.status_code == 400 and "in the future" in response.json()[
            "created_at"][0]
        soon = (timezone.now() + timedelta(hours=1)).isoformat()
        assert client.post("/api/v1/funnel/leads/", {"email": "s@x.com", "created_at": soon},
                           format="json").status_code == 201

    def test_bulk_and_update_refuse_it_per_item(self, api, marketer):
        from datetime import timedelta

        from django.utils import timezone

        client = api.as_user(marketer)
        future = (timezone.now() + timedelta(days=400)).isoformat()
        body = client.post("/api/v1/funnel/leads/bulk/", [
            {"email": "a@x.com", "created_at": future}, {"email": "b@x.com"}],
            format="json").json()
        assert body["created"] == 1 and body["errors"][0]["index"] == 0
        lead = client.get("/api/v1/funnel/leads/").json()["results"][0]
        response = client.patch(f"/api/v1/funnel/leads/{lead['id']}/",
                                {"created_at": future}, format="json")
        assert response.status_code == 400

    def test_a_duplicate_e_mail_in_a_batch_is_reported_in_the_readers_language(
            self, api, marketer):
        client = api.as_user(marketer)
        rows = [{"email": "d@x.com"}, {"email": "d@x.com"}]
        body = client.post("/api/v1/funnel/leads/bulk/", rows, format="json").json()
        assert body["created"] == 1
        assert body["errors"][0]["index"] == 1
        assert body["errors"][0]["errors"]["email"] == [
            "Duplicate e-mail in this batch (first at 0)."]
        korean = client.post("/api/v1/funnel/leads/bulk/", rows, format="json",
                             HTTP_ACCEPT_LANGUAGE="ko").json()
        [message] = korean["errors"][0]["errors"]["email"]
        assert "0" in message and "Duplicate" not in message

    def test_a_lead_created_now_can_move(self, api, marketer):
        client = api.as_user(marketer)
        client.post("/api/v1/funnel/leads/", {"email": "m@x.com"}, format="json")
        response = client.post("/api/v1/funnel/transitions/", {"lead": "m@x.com",
                                                                "to_stage": "mql"},
                               format="json")
        assert response.status_code == 201
