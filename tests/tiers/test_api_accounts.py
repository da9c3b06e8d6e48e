"""The accounts and contacts API (tiers/views.py), with who may and who may not; and the
regressions review found there (permission holes, 500s, stale scores)."""

import pytest
from django.urls import reverse

from tests.factories import AccountFactory, ContactFactory, ProgramOrderFactory, RepFactory
from tiers.models import Account, Contact

pytestmark = pytest.mark.django_db

ACCOUNTS = "/api/v1/accounts/"


def test_token_auth_round_trip(client, rep):
    response = client.post("/api/v1/auth/token/", {"username": "rep1", "password": "pass-word-1"})
    assert response.status_code == 200
    token = response.json()["token"]
    listed = client.get(ACCOUNTS, HTTP_AUTHORIZATION=f"Token {token}")
    assert listed.status_code == 200
    assert client.get(ACCOUNTS, HTTP_AUTHORIZATION="Token wrong").status_code == 401


def test_token_auth_refuses_bad_password(client, rep):
    response = client.post("/api/v1/auth/token/", {"username": "rep1", "password": "nope"})
    assert response.status_code == 400
    assert "non_field_errors" in response.json()


def test_anonymous_is_refused(client):
    assert client.get(ACCOUNTS).status_code in (401, 403)


def test_user_without_role_is_refused(api, nobody):
    assert api.as_user(nobody).get(ACCOUNTS).status_code == 403


class TestPermissions:
    def test_every_role_reads(self, api, rep, marketer, abm_admin):
        account = AccountFactory()
        for user in (rep, marketer, abm_admin):
            response = api.as_user(user).get(f"{ACCOUNTS}{account.pk}/")
            assert response.status_code == 200
            assert response.json()["domain"] == account.domain

    def test_rep_edits_own_account_only(self, api, rep, other_rep):
        mine = AccountFactory(owner=rep)
        theirs = AccountFactory(owner=other_rep)
        client = api.as_user(rep)
        assert client.patch(f"{ACCOUNTS}{mine.pk}/", {"industry": "retail"},
                            format="json").status_code == 200
        assert client.patch(f"{ACCOUNTS}{theirs.pk}/", {"industry": "retail"},
                            format="json").status_code == 403
        mine.refresh_from_db(), theirs.refresh_from_db()
        assert mine.industry == "retail" and theirs.industry == "software"

    def test_rep_and_marketer_cannot_create_or_delete(self, api, rep, marketer):
        account = AccountFactory(owner=rep)
        for user in (rep, marketer):
            client = api.as_user(user)
            assert client.post(ACCOUNTS, {"name": "X", "domain": "x.com"},
                               format="json").status_code == 403
            assert client.delete(f"{ACCOUNTS}{account.pk}/").status_code == 403
        assert Account.objects.filter(pk=account.pk).exists()

    def test_marketer_cannot_edit(self, api, marketer):
        account = AccountFactory()
        assert api.as_user(marketer).patch(f"{ACCOUNTS}{account.pk}/", {"name": "Y"},
                                           format="json").status_code == 403

    def test_admin_creates_updates_deletes(self, api, abm_admin, rep):
        client = api.as_user(abm_admin)
        response = client.post(ACCOUNTS, {
            "name": "Globex", "domain": "https://www.Globex.com/about",
            "technologies": ["Salesforce", "SAP ERP"], "owner": rep.pk, "employees": 1200,
        }, format="json")
        assert response.status_code == 201, response.json()
        body = response.json()
        assert body["domain"] == "globex.com"
        assert sorted(body["technologies"]) == ["SAP ERP", "Salesforce"]
        assert body["owner"] == rep.pk
        pk = body["id"]
        assert client.patch(f"{ACCOUNTS}{pk}/", {"technologies": ["HubSpot"]},
                            format="json").json()["technologies"] == ["HubSpot"]
        assert client.delete(f"{ACCOUNTS}{pk}/").status_code == 204
        assert not Account.objects.filter(pk=pk).exists()


class TestValidation:
    def test_bad_fields_get_400_with_field_errors(self, api, abm_admin):
        response = api.as_user(abm_admin).post(ACCOUNTS, {
            "name": "", "domain": "not a domain", "employees": -3, "annual_revenue": "lots",
            "funding_stage": "series_z", "owner": 999999,
        }, format="json")
        assert response.status_code == 400
        errors = response.json()
        assert set(errors) >= {"name", "domain", "employees", "annual_revenue", "funding_stage",
                               "owner"}
        assert Account.objects.count() == 0

    def test_duplicate_domain_is_refused(self, api, abm_admin):
        AccountFactory(domain="acme.com")
        response = api.as_user(abm_admin).post(ACCOUNTS, {"name": "Acme 2",
                                                          "domain": "WWW.ACME.COM"}, format="json")
        assert response.status_code == 400
        assert "domain" in response.json()

    def test_duplicate_external_id_is_refused(self, api, abm_admin):
        AccountFactory(external_id="CRM-1")
        response = api.as_user(abm_admin).post(ACCOUNTS, {"name": "B", "domain": "b.com",
                                                          "external_id": "CRM-1"}, format="json")
        assert response.status_code == 400
        assert "external_id" in response.json()


class TestFilters:
    def test_filters(self, api, rep):
        a = AccountFactory(name="Acme", domain="acme.com", industry="retail", country="Germany",
                           employees=100, annual_revenue=1_000_000, owner=rep, is_customer=True)
        b = AccountFactory(name="Globex", domain="globex.io", industry="software",
                           employees=5000, annual_revenue=900_000_000)
        from tiers.services import account_set_technologies

        account_set_technologies(account=a, names=["Salesforce"])
        account_set_technologies(account=b, names=["HubSpot", "SAP ERP"])
        client = api.as_user(rep)

        def ids(query):
            response = client.get(ACCOUNTS + "?" + query)
            assert response.status_code == 200, response.json()
            return {row["id"] for row in response.json()["results"]}

        assert ids("industry=Retail") == {a.pk}
        assert ids("country=germany") == {a.pk}
        assert ids(f"owner={rep.pk}") == {a.pk}
        assert ids("is_customer=true") == {a.pk}
        assert ids("technology=salesforce") == {a.pk}
        assert ids("technology=SAP ERP") == {b.pk}
        assert ids("employees_min=1000") == {b.pk}
        assert ids("employees_max=1000") == {a.pk}
        assert ids("revenue_min=2000000") == {b.pk}
        assert ids("revenue_max=2000000") == {a.pk}
        assert ids("search=globex") == {b.pk}
        assert ids("search=acme.c") == {a.pk}
        ordered = client.get(ACCOUNTS + "?ordering=-employees").json()["results"]
        assert [row["id"] for row in ordered] == [b.pk, a.pk]

    def test_bad_filter_value_is_400(self, api, rep):
        response = api.as_user(rep).get(ACCOUNTS + "?employees_min=many")
        assert response.status_code == 400
        assert "employees_min" in response.json()


class TestPagination:
    def test_page_shape_and_size_cap(self, api, rep):
        AccountFactory.create_batch(7)
        body = api.as_user(rep).get(ACCOUNTS + "?page_size=3&page=2").json()
        assert set(body) == {"count", "next", "previous", "results"}
        assert body["count"] == 7 and len(body["results"]) == 3
        assert "page=3" in body["next"] and body["previous"]
        assert len(api.as_user(rep).get(ACCOUNTS + "?page_size=100000").json()["results"]) == 7

    def test_page_size_is_capped_at_500(self, api, rep):
        from abmcrm.core.api.pagination import PageNumberPagination

        assert PageNumberPagination.max_page_size == 500

    @pytest.mark.parametrize("rows", [1, 50])
    def test_query_count_does_not_grow(self, api, rep, rows, django_assert_max_num_queries):
        owners = [RepFactory() for _ in range(3)]
        for i in range(rows):
            account = AccountFactory(owner=owners[i % 3])
            from tiers.services import account_set_technologies

            account_set_technologies(account=account, names=["Salesforce", f"Tech{i % 4}"])
        client = api.as_user(rep)
        with django_assert_max_num_queries(6):
            response = client.get(ACCOUNTS + "?page_size=50")
        assert len(response.json()["results"]) == rows


class TestContacts:
    def test_list_filters(self, api, marketer):
        account = AccountFactory()
        c1 = ContactFactory(account=account, buying_role="champion", title="Head of Demand Gen")
        ContactFactory(buying_role="blocker")
        client = api.as_user(marketer)
        rows = client.get(f"/api/v1/contacts/?account={account.pk}").json()["results"]
        assert [r["id"] for r in rows] == [c1.pk]
        rows = client.get("/api/v1/contacts/?buying_role=champion").json()["results"]
        assert [r["id"] for r in rows] == [c1.pk]
        rows = client.get("/api/v1/contacts/?search=demand").json()["results"]
        assert [r["id"] for r in rows] == [c1.pk]

    def test_rep_adds_contacts_to_own_accounts_only(self, api, rep, other_rep):
        mine, theirs = AccountFactory(owner=rep), AccountFactory(owner=other_rep)
        client = api.as_user(rep)
        ok = client.post("/api/v1/contacts/", {"account": mine.pk, "email": "A@X.com",
                                               "buying_role": "champion"}, format="json")
        assert ok.status_code == 201 and ok.json()["email"] == "a@x.com"
        refused = client.post("/api/v1/contacts/", {"account": theirs.pk, "email": "b@x.com"},
                              format="json")
        assert refused.status_code == 403
        dup = client.post("/api/v1/contacts/", {"account": mine.pk, "email": "a@x.com"},
                          format="json")
        assert dup.status_code == 400 and "email" in dup.json()

    @pytest.mark.parametrize("rows", [1, 50])
    def test_query_count(self, api, rep, rows, django_assert_max_num_queries):
        ContactFactory.create_batch(rows)
        with django_assert_max_num_queries(5):
            response = api.as_user(rep).get("/api/v1/contacts/?page_size=50")
        assert len(response.json()["results"]) == rows


def test_schema_and_docs(api, rep):
    client = api.as_user(rep)
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/accounts/bulk/" in schema.content
    assert client.get("/api/v1/docs/").status_code == 200


def test_account_page_urls_resolve():
    assert reverse("account-detail", args=[1]) == "/accounts/1/"


def test_stylesheet_and_api_docs_assets_are_served_locally(client, rep):
    from django.contrib.staticfiles import finders

    assert finders.find("abmcrm/site.css"), "the stylesheet ships with the tiers app"
    client.force_login(rep)
    docs = client.get("/api/v1/docs/").content.decode()
    assert "cdn.jsdelivr" not in docs and "drf_spectacular_sidecar" in docs


def test_rep_cannot_bulk_write_contacts_of_others_accounts(api, rep, other_rep):
    mine = AccountFactory(owner=rep, domain="mine.com")
    theirs = AccountFactory(owner=other_rep, domain="theirs.com")
    ContactFactory(account=theirs, email="boss@theirs.com", title="CEO")
    body = api.as_user(rep).post("/api/v1/contacts/bulk/", [
        {"account": "theirs.com", "email": "boss@theirs.com", "title": "Hacked"},
        {"account": "mine.com", "email": "new@mine.com"},
    ], format="json").json()
    assert body["created"] == 1 and body["updated"] == 0
    assert body["errors"][0]["index"] == 0 and "own" in body["errors"][0]["errors"]["account"][0]
    assert Contact.objects.get(email="boss@theirs.com").title == "CEO"
    assert Contact.objects.filter(account=mine).count() == 1


def test_rep_cannot_move_a_contact_to_others_account(api, rep, other_rep):
    contact = ContactFactory(account=AccountFactory(owner=rep))
    theirs = AccountFactory(owner=other_rep)
    response = api.as_user(rep).patch(f"/api/v1/contacts/{contact.pk}/",
                                      {"account": theirs.pk}, format="json")
    assert response.status_code == 403
    contact.refresh_from_db()
    assert contact.account.owner == rep


def test_deleting_an_account_with_orders_is_a_conflict(api, abm_admin):
    order = ProgramOrderFactory()
    response = api.as_user(abm_admin).delete(f"/api/v1/accounts/{order.account_id}/")
    assert response.status_code == 409 and "program orders" in response.json()["detail"]
    assert Account.objects.filter(pk=order.account_id).exists()


def test_out_of_range_integers_are_field_errors(api, abm_admin):
    body = api.as_user(abm_admin).post("/api/v1/accounts/bulk/", [
        {"name": "Big", "domain": "big.com", "customer_count": 10**12}], format="json").json()
    assert body["created"] == 0 and "customer_count" in body["errors"][0]["errors"]


def test_account_edits_are_rescored(api, abm_admin, django_capture_on_commit_callbacks):
    account = AccountFactory()
    assert account.scored_at is None
    with django_capture_on_commit_callbacks(execute=True):
        response = api.as_user(abm_admin).patch(f"/api/v1/accounts/{account.pk}/",
                                                {"employees": 1234}, format="json")
    assert response.status_code == 200
    account.refresh_from_db()
    assert account.scored_at is not None


@pytest.mark.parametrize("pk", ["abc", "1.5", "-3", "99999999999999999999", "0x10"])
@pytest.mark.parametrize("suffix", ["scores/", "tier-history/", ""])
def test_an_account_id_that_is_no_id_is_404(api, rep, pk, suffix):
    assert api.as_user(rep).get(f"/api/v1/accounts/{pk}/{suffix}").status_code == 404
