from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pipeline.models import Opportunity, OpportunityStage, OpportunityStageChange
from tests import factories
from tests.conftest import fire_together
from tests.pipeline.helpers import day, deal

pytestmark = pytest.mark.django_db

URL = "/api/v1/opportunities/"
ROLES = ["rep", "marketer", "abm_admin"]


def as_role(api, request, role):
    return api.as_user(request.getfixturevalue(role))


class TestRead:
    @pytest.mark.parametrize("role", ROLES)
    def test_every_role_reads_every_deal_and_its_history(self, api, request, role, other_rep):
        d = deal(factories.AccountFactory(), "proposal", 1, owner=other_rep,
                 amount=Decimal("1000"))
        client = as_role(api, request, role)
        listed = client.get(URL)
        assert listed.status_code == 200 and listed.data["count"] == 1
        detail = client.get(f"{URL}{d.pk}/").data
        assert detail["stage"] == "proposal" and detail["probability"] == 50
        assert detail["weighted_amount"] == "500.00" and detail["status"] == "open"
        history = client.get(f"{URL}{d.pk}/history/").data
        assert [h["to_stage"] for h in history] == ["proposal"]
        for path in ("report/", "forecast/"):
            assert client.get(URL + path).status_code == 200
        assert client.get("/api/v1/opportunity-stages/").status_code == 200
        assert client.get("/api/v1/campaigns/attribution/").status_code == 200

    def test_strangers_and_anonymous_are_refused(self, api, nobody):
        assert api.get(URL).status_code in (401, 403)
        client = api.as_user(nobody)
        for path in (URL, URL + "report/", "/api/v1/campaigns/attribution/",
                     "/api/v1/opportunity-stages/"):
            assert client.get(path).status_code == 403

    def test_query_count_does_not_grow_with_rows(self, api, marketer):
        account = factories.AccountFactory()
        contact = factories.ContactFactory(account=account)
        client = api.as_user(marketer)

        def count():
            with CaptureQueriesContext(connection) as queries:
                assert client.get(URL, {"page_size": 100}).status_code == 200
            return len(queries)

        deal(account, contacts=[(contact, "champion")], owner=marketer,
             campaign=factories.CampaignFactory())
        count()  # the first request also caches the user's roles
        one = count()
        for n in range(49):
            deal(account, contacts=[(contact, "user")], owner=marketer, opened=n + 2)
        assert count() == one

    def test_every_filter(self, api, rep, other_rep):
        spring = factories.CampaignFactory(name="Spring")
        t1 = factories.AccountFactory(tier=factories.tier(1), name="Tier One Co")
        plain = factories.AccountFactory(name="Plain Co")
        d1 = deal(t1, "won", 1, owner=rep, product="Suite", amount=Decimal("100"),
                  closed_at=day(10), campaign=spring, channel="events", external_id="ext-1")
        d2 = deal(plain, "lost", 3, owner=other_rep, product="Add-on", amount=Decimal("900"),
                  closed_at=day(20))
        d3 = deal(plain, "negotiation", 30, product="Suite", amount=Decimal("5000"),
                  name="Big renewal")
        client = api.as_user(rep)

        def ids(**params):
            response = client.get(URL, params)
            assert response.status_code == 200, response.data
            return sorted(row["id"] for row in response.data["results"])

        assert ids(account=plain.pk) == [d2.pk, d3.pk]
        assert ids(owner=rep.pk) == [d1.pk] and ids(owner="me") == [d1.pk]
        assert ids(owner="none") == [d3.pk]
        assert ids(stage="Closed won") == [d1.pk] and ids(stage="negotiation") == [d3.pk]
        assert ids(status="open") == [d3.pk] and ids(status="lost") == [d2.pk]
        assert ids(product="suite") == [d1.pk, d3.pk]
        assert ids(campaign=spring.pk) == [d1.pk] and ids(channel="events") == [d1.pk]
        assert ids(tier=1) == [d1.pk] and ids(tier="none") == [d2.pk, d3.pk]
        assert ids(opened_after=day(2).isoformat()) == [d2.pk, d3.pk]
        assert ids(opened_before=day(2).isoformat()) == [d1.pk]
        assert ids(closed_after=day(15).isoformat()) == [d2.pk]
        assert ids(closed_before=day(15).isoformat()) == [d1.pk]
        assert ids(amount_min=500) == [d2.pk, d3.pk] and ids(amount_max=500) == [d1.pk]
        assert ids(search="renewal") == [d3.pk] and ids(search="tier one") == [d1.pk]
        assert ids(external_id="ext-1") == [d1.pk]
        ordered = client.get(URL, {"ordering": "-amount"}).data["results"]
        assert [row["id"] for row in ordered] == [d3.pk, d2.pk, d1.pk]
        for bad in ({"owner": "someone"}, {"stage": "nope"}, {"status": "maybe"},
                    {"tier": "gold"}, {"amount_min": "lots"}):
            assert client.get(URL, bad).status_code == 400, bad

    def test_report_and_forecast_take_the_filters(self, api, rep):
        account = factories.AccountFactory()
        deal(account, "won", 1, owner=rep, amount=Decimal("100"), closed_at=day(2))
        deal(account, "won", 1, amount=Decimal("900"), closed_at=day(2))
        client = api.as_user(rep)
        body = client.get(URL + "report/", {"start": "2025-01-01", "end": "2025-01-31",
                                            "owner": "me", "group_by": "owner"}).data
        assert body["totals"]["won_revenue"] == "100.00"
        assert body["groups"][0]["key"] == rep.pk
        assert client.get(URL + "report/", {"group_by": "colour"}).status_code == 400
        assert client.get(URL + "report/", {"start": "2025-02-01",
                                            "end": "2025-01-01"}).status_code == 400
        assert client.get(URL + "forecast/", {"months": 0}).status_code == 400
        assert client.get(URL + "forecast/", {"group_by": "month"}).status_code == 400
        assert client.get(URL + "forecast/", {"months": 3, "group_by": "product"}
                          ).data["horizon"] == 3


class TestWrite:
    def body(self, for_account, **extra):
        return {"account": for_account.domain, "name": "New deal", "amount": "1200.50",
                "stage": "qualification", **extra}

    @pytest.mark.parametrize("role, code", [("rep", 403), ("marketer", 201),
                                            ("abm_admin", 201), ("nobody", 403)])
    def test_who_creates(self, api, request, role, code):
        account = factories.AccountFactory()
        response = as_role(api, request, role).post(URL, self.body(account), format="json")
        assert response.status_code == code, response.data
        if code == 201:
            assert response.data["stage"] == "qualification"
            assert response.data["amount"] == "1200.50" and response.data["currency"] == "USD"

    def test_create_refusals_are_400_with_fields(self, api, marketer):
        account, other = factories.AccountFactory(), factories.AccountFactory()
        theirs = factories.ContactFactory(account=other)
        client = api.as_user(marketer)
        cases = [
            ({"account": "nowhere.example.com"}, "account"),
            ({"stage": "almost"}, "stage"),
            ({"owner": "ghost"}, "owner"),
            ({"campaign": "Unknown"}, "campaign"),
            ({"amount": "-1"}, "amount"),
            ({"stage": "lost", "opened_at": day(5).isoformat(),
              "closed_at": day(1).isoformat()}, "closed_at"),
            ({"stage": "won", "amount": None}, "amount"),
            ({"contacts": [{"contact": theirs.email, "role": "champion"}]}, "contacts"),
            ({"currency": "dollars"}, "currency"),
            ({"opened_at": (timezone.now() + timedelta(days=3)).isoformat()}, "opened_at"),
        ]
        for extra, field in cases:
            response = client.post(URL, self.body(account, **extra), format="json")
            assert response.status_code == 400, (extra, response.data)
            assert field in response.data["errors"], (extra, response.data)
        assert Opportunity.objects.count() == 0
        assert OpportunityStageChange.objects.count() == 0

    def test_a_rep_edits_and_moves_only_their_own(self, api, rep, other_rep):
        account = factories.AccountFactory()
        mine = deal(account, "prospecting", 1, owner=rep, amount=Decimal("10"))
        theirs = deal(account, "prospecting", 1, owner=other_rep)
        client = api.as_user(rep)
        assert client.patch(f"{URL}{mine.pk}/", {"product": "Suite"},
                            format="json").status_code == 200
        assert client.patch(f"{URL}{theirs.pk}/", {"product": "Suite"},
                            format="json").status_code == 403
        assert client.patch(f"{URL}{mine.pk}/", {"owner": other_rep.pk},
                            format="json").status_code == 403
        moved = client.post(f"{URL}{mine.pk}/move/", {"stage": "Proposal"}, format="json")
        assert moved.status_code == 200 and moved.data["stage"] == "proposal"
        assert client.post(f"{URL}{theirs.pk}/move/", {"stage": "proposal"},
                           format="json").status_code == 403
        assert client.delete(f"{URL}{mine.pk}/").status_code == 403

    def test_marketers_edit_any_admins_delete(self, api, marketer, abm_admin, rep):
        d = deal(factories.AccountFactory(), "prospecting", 1, owner=rep)
        response = api.as_user(marketer).patch(f"{URL}{d.pk}/", {"owner": marketer.username},
                                               format="json")
        assert response.status_code == 200 and response.data["owner"] == marketer.pk
        assert api.as_user(marketer).delete(f"{URL}{d.pk}/").status_code == 403
        assert api.as_user(abm_admin).delete(f"{URL}{d.pk}/").status_code == 204
        assert not Opportunity.objects.exists() and not OpportunityStageChange.objects.exists()

    def test_move_refusals(self, api, marketer):
        d = deal(factories.AccountFactory(), "proposal", 1)
        client = api.as_user(marketer)
        same = client.post(f"{URL}{d.pk}/move/", {"stage": "proposal"}, format="json")
        assert same.status_code == 400 and "stage" in same.data["errors"]
        won = client.post(f"{URL}{d.pk}/move/", {"stage": "won"}, format="json")
        assert won.status_code == 400 and "amount" in won.data["errors"]
        early = client.post(f"{URL}{d.pk}/move/", {"stage": "negotiation",
                                                   "at": day(1, hour=8).isoformat()},
                            format="json")
        assert early.status_code == 400 and "at" in early.data["errors"]
        done = client.post(f"{URL}{d.pk}/move/", {"stage": "won", "amount": "75"},
                           format="json")
        assert done.status_code == 200 and done.data["status"] == "won"
        again = client.post(f"{URL}{d.pk}/move/", {"stage": "proposal"}, format="json")
        assert again.status_code == 400
        reopened = client.post(f"{URL}{d.pk}/move/", {"stage": "proposal", "reopen": True},
                               format="json")
        assert reopened.status_code == 200 and reopened.data["closed_at"] is None
        assert client.post(f"{URL}999999/move/", {"stage": "won"}).status_code == 404

    @pytest.mark.parametrize("role, code", [("rep", 403), ("marketer", 200),
                                            ("abm_admin", 200)])
    def test_bulk_by_role(self, api, request, role, code):
        account = factories.AccountFactory()
        items = [{"external_id": "b-1", "account": account.external_id or account.domain,
                  "stage": "proposal", "amount": "10"}]
        response = as_role(api, request, role).post(URL + "bulk/", items, format="json")
        assert response.status_code == code
        if code == 200:
            assert response.data == {"created": 1, "updated": 0, "unchanged": 0, "errors": []}
            again = as_role(api, request, role).post(URL + "bulk/", items, format="json")
            assert again.data == {"created": 0, "updated": 0, "unchanged": 1, "errors": []}

    def test_bulk_takes_at_most_ten_thousand(self, api, marketer):
        response = api.as_user(marketer).post(URL + "bulk/", [{}] * 10_001, format="json")
        assert response.status_code == 400


class TestStages:
    def test_admins_manage_stages_others_read(self, api, marketer, abm_admin):
        body = {"slug": "discovery", "name": "Discovery", "position": 15, "probability": 15}
        assert api.as_user(marketer).post("/api/v1/opportunity-stages/", body,
                                          format="json").status_code == 403
        created = api.as_user(abm_admin).post("/api/v1/opportunity-stages/", body,
                                              format="json")
        assert created.status_code == 201
        slugs = [s["slug"] for s in api.as_user(marketer).get(
            "/api/v1/opportunity-stages/").data]
        assert slugs == ["prospecting", "discovery", "qualification", "proposal",
                         "negotiation", "won", "lost"]

    def test_stage_refusals(self, api, abm_admin):
        client = api.as_user(abm_admin)
        for body, field in (
                ({"slug": "x", "name": "PROPOSAL", "position": 1, "probability": 5}, "name"),
                ({"slug": "y", "name": "Y", "position": 1, "probability": 101}, "probability"),
                ({"slug": "z", "name": "Z", "position": 1, "probability": 5, "is_won": True,
                  "is_lost": True}, "is_lost")):
            response = client.post("/api/v1/opportunity-stages/", body, format="json")
            assert response.status_code == 400 and field in str(response.data), response.data
        won = OpportunityStage.objects.get(slug="won")
        deal(factories.AccountFactory(), "won", 1, amount=Decimal("1"))
        response = client.patch(f"/api/v1/opportunity-stages/{won.pk}/", {"is_won": False},
                                format="json")
        assert response.status_code == 400
        assert client.delete(f"/api/v1/opportunity-stages/{won.pk}/").status_code == 409


class TestAttributionAndRoiParameters:
    def test_bad_parameters_are_400(self, api, rep):
        client = api.as_user(rep)
        assert client.get("/api/v1/campaigns/attribution/", {"model": "vibes"}
                          ).status_code == 400
        assert client.get("/api/v1/campaigns/attribution/", {"start": "yesterday"}
                          ).status_code == 400
        campaign = factories.CampaignFactory()
        roi = f"/api/v1/campaigns/{campaign.pk}/roi/"
        assert client.get(roi, {"start": "2025-01-01"}).status_code == 400
        assert client.get(roi, {"model": "nope"}).status_code == 400
        assert client.get("/api/v1/campaigns/999999/roi/").status_code == 404
        assert client.get(f"/api/v1/campaigns/{campaign.pk}/").status_code == 200

    def test_schema_lists_the_endpoints(self, api, abm_admin):
        content = api.as_user(abm_admin).get("/api/v1/schema/").content
        for path in (b"/api/v1/opportunities/report/", b"/api/v1/opportunities/forecast/",
                     b"/api/v1/opportunities/{id}/move/", b"/api/v1/opportunities/bulk/",
                     b"/api/v1/campaigns/attribution/", b"/api/v1/opportunity-stages/"):
            assert path in content, path


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="SQLite serialises writers: no real concurrent transactions")
def test_two_concurrent_bulk_loads_create_each_deal_once(marketer):
    from tests.pipeline.helpers import bulk

    account = factories.AccountFactory()
    items = [{"external_id": f"c-{n}", "account": account.domain, "stage": "proposal",
              "amount": "5"} for n in range(200)]
    results = fire_together([lambda: bulk(items, marketer), lambda: bulk(items, marketer)])
    assert not any(isinstance(r, Exception) for r in results), results
    assert sum(r.created for r in results) == 200
    assert all(r.created + r.unchanged == 200 and not r.errors for r in results)
    assert Opportunity.objects.count() == 200
    assert OpportunityStageChange.objects.count() == 200
