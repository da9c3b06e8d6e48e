"""Contacts given without an account are matched to one like leads: by the e-mail's domain, or
by company name for a free-mail address (tiers/serializers/rows.py and tiers/ingesters.py on
tiers/companies.py), through the API, the bulk endpoint and the CSV import."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from tests.factories import AccountFactory, ContactFactory
from tiers.models import Contact

pytestmark = pytest.mark.django_db

CONTACTS = "/api/v1/contacts/"
BULK = "/api/v1/contacts/bulk/"


@pytest.fixture
def acme():
    return AccountFactory(name="Acme Corporation", domain="acme.com")


def match_of(email):
    contact = Contact.objects.get(email=email)
    return contact.account, contact.account_match, contact.account_match_score


class TestCreate:
    def test_a_company_address_is_matched_by_its_domain(self, api, abm_admin, acme):
        response = api.as_user(abm_admin).post(CONTACTS, {"email": "Ann@Acme.com",
                                                          "company": "Whatever"}, format="json")
        assert response.status_code == 201, response.json()
        body = response.json()
        assert (body["account"], body["account_match"], body["account_match_score"]) == (
            acme.pk, "domain", 100)
        assert "company" not in body

    @pytest.mark.parametrize("company, name, score", [
        ("ACME Corp.", "acme", 100), ("Globex Industrie, Inc.", "globex", 97)])
    def test_a_free_mail_address_is_matched_by_company(self, api, abm_admin, acme, company,
                                                       name, score):
        globex = AccountFactory(name="Globex Industries", domain="globex.com")
        response = api.as_user(abm_admin).post(CONTACTS, {"email": "bob@gmail.com",
                                                          "company": company}, format="json")
        assert response.status_code == 201, response.json()
        account = {"acme": acme, "globex": globex}[name]
        assert match_of("bob@gmail.com") == (account, "company", score)

    def test_an_account_given_is_explicit(self, api, abm_admin, acme):
        other = AccountFactory(domain="other.com")
        response = api.as_user(abm_admin).post(CONTACTS, {
            "email": "cy@acme.com", "account": other.pk}, format="json")
        assert response.status_code == 201
        assert match_of("cy@acme.com") == (other, "explicit", None)

    @pytest.mark.parametrize("payload, says", [
        ({"email": "dee@initech.com", "company": "Acme"}, "domain “initech.com”"),
        ({"email": "dee@gmail.com", "company": "Acme Rockets"}, "company “Acme Rockets”"),
        ({"email": "dee@gmail.com"}, "without a company"),
    ])
    def test_no_match_is_a_400_on_the_account(self, api, abm_admin, acme, payload, says):
        response = api.as_user(abm_admin).post(CONTACTS, payload, format="json")
        assert response.status_code == 400
        message = response.json()["account"][0]
        assert message.startswith("No account matches") and says in message
        assert not Contact.objects.exists()

    def test_an_ambiguous_company_is_a_400(self, api, abm_admin, acme):
        AccountFactory(name="Acme Corp", domain="acme.de")
        response = api.as_user(abm_admin).post(CONTACTS, {"email": "eve@gmail.com",
                                                          "company": "Acme Inc"}, format="json")
        assert response.status_code == 400
        assert "several accounts" in response.json()["account"][0]

    def test_a_rep_may_not_add_to_an_account_matched_but_not_owned(self, api, rep, acme):
        response = api.as_user(rep).post(CONTACTS, {"email": "fay@acme.com"}, format="json")
        assert response.status_code == 403
        assert not Contact.objects.exists()

    def test_moving_a_matched_contact_by_hand_makes_it_explicit(self, api, abm_admin, acme):
        contact = ContactFactory(account=acme, email="gus@gmail.com", account_match="company",
                                 account_match_score=91)
        other = AccountFactory()
        client = api.as_user(abm_admin)
        client.patch(f"{CONTACTS}{contact.pk}/", {"title": "CFO"}, format="json")
        assert match_of("gus@gmail.com") == (acme, "company", 91)  # not moved: kept
        client.patch(f"{CONTACTS}{contact.pk}/", {"account": other.pk}, format="json")
        assert match_of("gus@gmail.com") == (other, "explicit", None)

    @override_settings(ABMCRM_COMPANY_MATCH_THRESHOLD=50)
    def test_the_threshold_is_the_leads_setting(self, api, abm_admin, acme):
        response = api.as_user(abm_admin).post(CONTACTS, {"email": "hal@gmail.com",
                                                          "company": "Acme Rockets"},
                                               format="json")
        assert response.status_code == 201
        assert match_of("hal@gmail.com")[:2] == (acme, "company")


def rows(count, *, start=0):
    """Half company addresses, half free-mail ones naming their company."""
    return [{"email": f"p{i}@company{i % 20}.com"} if i % 2 else
            {"email": f"p{i}@gmail.com", "company": f"Company {i % 20} GmbH", "title": "CFO"}
            for i in range(start, start + count)]


class TestBulk:
    def test_rows_are_matched_and_unmatched_ones_reported(self, api, abm_admin, acme):
        payload = [{"email": "a@acme.com"}, {"email": "b@yahoo.co.uk", "company": "Acme Corp."},
                   {"email": "c@nowhere.com"}, {"email": "d@gmail.com", "company": "Zeta"},
                   {"email": "e@gmail.com", "account": "acme.com"}]
        body = api.as_user(abm_admin).post(BULK, payload, format="json").json()
        assert body["created"] == 3
        errors = {e["index"]: e["errors"] for e in body["errors"]}
        assert sorted(errors) == [2, 3]
        assert "domain “nowhere.com”" in errors[2]["account"][0]
        assert "company “Zeta”" in errors[3]["account"][0]
        assert match_of("a@acme.com") == (acme, "domain", 100)
        assert match_of("b@yahoo.co.uk") == (acme, "company", 100)
        assert match_of("e@gmail.com") == (acme, "explicit", None)

    def test_a_rep_only_adds_to_accounts_they_own(self, api, rep, acme):
        AccountFactory(name="Initech", domain="initech.com", owner=rep)
        body = api.as_user(rep).post(BULK, [{"email": "a@acme.com"},
                                            {"email": "b@gmail.com", "company": "Initech"}],
                                     format="json").json()
        assert body["created"] == 1 and body["errors"][0]["index"] == 0
        assert "accounts you own" in body["errors"][0]["errors"]["account"][0]

    def test_a_fixed_number_of_queries_whatever_the_batch(self, api, abm_admin):
        for i in range(20):
            AccountFactory(name=f"Company {i}", domain=f"company{i}.com")
        client = api.as_user(abm_admin)
        client.post(BULK, rows(2), format="json")  # warm the session and the caches
        with CaptureQueriesContext(connection) as small:
            assert client.post(BULK, rows(10, start=10), format="json").json()["created"] == 10
        with CaptureQueriesContext(connection) as large:
            body = client.post(BULK, rows(200, start=100), format="json").json()
        assert (body["created"], body["errors"]) == (200, [])
        # The accounts by domain, their names (one index for the batch), the stored contacts,
        # the rules, the insert, the committees: none per row. (SQLite splits a bulk insert
        # by its limit on parameters, so inserts are compared apart.)
        assert len(small) <= 20
        assert statements(large, but="INSERT") == statements(small, but="INSERT")
        assert len(statements(large, only="INSERT")) <= 200 * 25 // 999 + 1
        assert Contact.objects.filter(account_match="company").count() == 106
        assert Contact.objects.filter(account_match="domain").count() == 106


def statements(context, *, but=None, only=None):
    """The kinds of statement run (SELECT, INSERT …) in order, without or only one kind."""
    kinds = [query["sql"].split(None, 1)[0].upper() for query in context.captured_queries]
    return [kind for kind in kinds if (but is None or kind != but) and (
        only is None or kind == only)]


def test_the_csv_import_matches_by_company(api, abm_admin, acme,
                                           django_capture_on_commit_callbacks):
    content = (b"company,email,first_name,title\n"
               b"Acme Corp,ann@gmail.com,Ann,CMO\n"
               b",bob@acme.com,Bob,\n"
               b"Nobody Ltd,cy@gmail.com,Cy,\n")
    client = api.as_user(abm_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/imports/", {
            "kind": "contacts", "file": SimpleUploadedFile("contacts.csv", content)},
            format="multipart")
    job = client.get(f"/api/v1/imports/{response.json()['id']}/").json()
    assert job["created"] == 2
    assert job["errors"][0]["line"] == 4 and "Nobody Ltd" in job["errors"][0]["errors"][
        "account"][0]
    assert match_of("ann@gmail.com") == (acme, "company", 100)
    assert match_of("bob@acme.com") == (acme, "domain", 100)
