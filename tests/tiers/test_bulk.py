import pytest

from tests.factories import AccountFactory, RepFactory
from tiers.models import Account, Contact

pytestmark = pytest.mark.django_db

BULK = "/api/v1/accounts/bulk/"


def account(i, **extra):
    return {"name": f"Company {i}", "domain": f"company{i}.com", "external_id": f"C-{i}",
            "industry": "software", "country": "Germany", "employees": 100 + i,
            "annual_revenue": "1500000.50", "technologies": ["Salesforce", "NetSuite"], **extra}


class TestAccountsBulk:
    def test_creates_then_is_idempotent(self, api, abm_admin):
        client = api.as_user(abm_admin)
        payload = [account(i) for i in range(25)]
        first = client.post(BULK, payload, format="json")
        assert first.status_code == 200
        assert first.json() == {"created": 25, "updated": 0, "unchanged": 0, "errors": []}
        second = client.post(BULK, payload, format="json")
        assert second.json() == {"created": 0, "updated": 0, "unchanged": 25, "errors": []}
        assert Account.objects.count() == 25
        acct = Account.objects.get(external_id="C-3")
        assert sorted(t.name for t in acct.technologies.all()) == ["NetSuite", "Salesforce"]

    def test_upserts_by_external_id_then_domain(self, api, abm_admin):
        by_ext = AccountFactory(external_id="C-1", domain="old-domain.com", name="Old")
        by_domain = AccountFactory(external_id=None, domain="company2.com", name="Old 2")
        response = api.as_user(abm_admin).post(BULK, [account(1), account(2)], format="json")
        assert response.json()["updated"] == 2 and response.json()["created"] == 0
        by_ext.refresh_from_db(), by_domain.refresh_from_db()
        assert (by_ext.domain, by_ext.name) == ("company1.com", "Company 1")
        assert (by_domain.external_id, by_domain.name) == ("C-2", "Company 2")

    def test_left_out_fields_are_kept(self, api, abm_admin, rep):
        existing = AccountFactory(domain="keep.com", industry="retail", owner=rep)
        api.as_user(abm_admin).post(BULK, [{"name": "Renamed", "domain": "keep.com"}],
                                    format="json")
        existing.refresh_from_db()
        assert (existing.name, existing.industry, existing.owner) == ("Renamed", "retail", rep)

    def test_valid_items_land_and_bad_ones_are_reported(self, api, abm_admin):
        payload = [
            account(1),
            {"name": "No domain"},
            account(3, employees=-5),
            account(4, domain="not a domain"),
            "not an object",
            account(6, owner=987654),
            account(7, funding_stage="series_z"),
            account(8, domain="company1.com", external_id="C-8"),  # same domain as item 0
            account(9),
        ]
        body = api.as_user(abm_admin).post(BULK, payload, format="json").json()
        assert body["created"] == 2
        errors = {e["index"]: e["errors"] for e in body["errors"]}
        assert set(errors) == {1, 2, 3, 4, 5, 6, 7}
        assert "domain" in errors[1] and "employees" in errors[2] and "domain" in errors[3]
        assert "non_field_errors" in errors[4] and "owner" in errors[5]
        assert "funding_stage" in errors[6] and "Duplicate domain" in errors[7]["domain"][0]
        assert set(Account.objects.values_list("external_id", flat=True)) == {"C-1", "C-9"}

    def test_owner_by_username_or_id(self, api, abm_admin):
        owner = RepFactory(username="anna.snelling")
        payload = [account(1, owner="anna.snelling"), account(2, owner=owner.pk)]
        api.as_user(abm_admin).post(BULK, payload, format="json")
        assert Account.objects.filter(owner=owner).count() == 2

    def test_domain_claimed_by_another_external_id_is_refused(self, api, abm_admin):
        AccountFactory(external_id="OTHER", domain="company1.com")
        body = api.as_user(abm_admin).post(BULK, [account(1)], format="json").json()
        assert body["created"] == 0
        assert "OTHER" in body["errors"][0]["errors"]["domain"][0]

    def test_refuses_more_than_10000_and_non_lists(self, api, abm_admin):
        client = api.as_user(abm_admin)
        too_many = client.post(BULK, [{}] * 10_001, format="json")
        assert too_many.status_code == 400 and "10000" in too_many.json()["detail"]
        not_list = client.post(BULK, {"name": "x"}, format="json")
        assert not_list.status_code == 400
        assert Account.objects.count() == 0

    def test_only_admins_may_bulk_upsert(self, api, rep, marketer):
        for user in (rep, marketer):
            response = api.as_user(user).post(BULK, [account(1)], format="json")
            assert response.status_code == 403
        assert Account.objects.count() == 0


class TestContactsBulk:
    def test_account_by_id_external_id_or_domain(self, api, abm_admin):
        a = AccountFactory(external_id="EXT-A", domain="a.com")
        payload = [
            {"account": a.pk, "email": "one@a.com", "buying_role": "champion"},
            {"account": "EXT-A", "email": "two@a.com"},
            {"account": "https://www.A.com", "email": "Three@A.com", "title": "CFO"},
            {"account": "nope.example", "email": "x@nope.example"},
            {"account": a.pk, "email": "not-an-email"},
            {"account": a.pk, "email": "one@a.com", "buying_role": "wizard"},
        ]
        body = api.as_user(abm_admin).post("/api/v1/contacts/bulk/", payload, format="json")
        body = body.json()
        assert body["created"] == 3
        errors = {e["index"]: e["errors"] for e in body["errors"]}
        assert set(errors) == {3, 4, 5}
        assert "No account" in errors[3]["account"][0]
        assert "email" in errors[4] and "buying_role" in errors[5]
        assert set(Contact.objects.values_list("email", flat=True)) == {
            "one@a.com", "two@a.com", "three@a.com"}

    def test_resending_updates_in_place(self, api, abm_admin):
        a = AccountFactory(domain="a.com")
        client = api.as_user(abm_admin)
        client.post("/api/v1/contacts/bulk/", [{"account": "a.com", "email": "x@a.com"}],
                    format="json")
        body = client.post("/api/v1/contacts/bulk/", [
            {"account": "a.com", "email": "x@a.com", "title": "CMO"}], format="json").json()
        assert body["updated"] == 1 and body["created"] == 0
        assert Contact.objects.get(account=a).title == "CMO"
