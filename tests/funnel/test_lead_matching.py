"""Leads matched to accounts by e-mail domain, or by company name when the address is a
free-mail one (funnel/services/leads.py on tiers.companies)."""

import pytest
from django.test import override_settings

from funnel import services
from funnel.models import Lead
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme():
    return factories.AccountFactory(name="Acme Corporation", domain="acme.com")


def test_company_domain_wins(acme):
    lead = services.lead_create(email="ann@acme.com", company="Something Else")
    assert (lead.account, lead.account_match, lead.account_match_score) == (
        acme, "domain", 100)


@pytest.mark.parametrize("email, company, score", [
    ("bob@gmail.com", "ACME Corp.", 100), ("bob@yahoo.co.id", "Acme Corporation", 100),
    ("bob@outlook.com", "Acme Corp", 100), ("bob@qq.com", "acme, inc", 100)])
def test_free_mail_lead_matched_by_company(acme, email, company, score):
    lead = services.lead_create(email=email, company=company)
    assert (lead.account, lead.account_match, lead.account_match_score) == (
        acme, "company", score)


def test_a_near_miss_is_a_fuzzy_match():
    bank = factories.AccountFactory(name="PT Bank Central Asia Tbk", domain="bca.co.id")
    lead = services.lead_create(email="hana@gmail.com", company="Bank Centrl Asia")
    assert (lead.account, lead.account_match, lead.account_match_score) == (
        bank, "company", 97)


def test_free_mail_lead_below_the_threshold_stays_unmatched(acme):
    lead = services.lead_create(email="cy@gmail.com", company="Acme Rockets")
    assert (lead.account, lead.account_match, lead.account_match_score) == (None, "", None)


@override_settings(ABMCRM_COMPANY_MATCH_THRESHOLD=50)
def test_the_threshold_is_a_setting(acme):
    lead = services.lead_create(email="cy@gmail.com", company="Acme Rockets")
    assert lead.account == acme and lead.account_match == "company"


def test_a_company_address_is_not_matched_by_name(acme):
    lead = services.lead_create(email="dee@initech.com", company="Acme")
    assert lead.account is None and lead.account_match == ""


def test_an_account_given_is_not_a_match(acme):
    lead = services.lead_create(email="eve@gmail.com", company="Acme", account=acme)
    assert lead.account == acme and lead.account_match == ""


def test_update_rematches_on_a_new_company(acme):
    lead = services.lead_create(email="fay@gmail.com", company="Nobody")
    assert lead.account is None
    lead = services.lead_update(lead=lead, company="Acme Corp")
    assert (lead.account, lead.account_match) == (acme, "company")


def test_bulk_ingest_reads_the_accounts_once_per_batch(acme):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    factories.AccountFactory(name="Globex", domain="globex.com")
    rows = [(n, {"email": f"p{n}@gmail.com", "company": "ACME corp" if n % 2 else "Globex Ltd"})
            for n in range(60)]
    rows.append((60, {"email": "x@globex.com"}))
    with CaptureQueriesContext(connection) as queries:
        created, *_ = services.lead_bulk_upsert(rows=rows)
    # One read of the domains, one of the names: not one per lead.
    assert sum('FROM "tiers_account"' in q["sql"] for q in queries.captured_queries) == 2
    assert created == 61
    matches = dict(Lead.objects.values_list("email", "account_match"))
    assert matches["p1@gmail.com"] == "company" and matches["x@globex.com"] == "domain"
    assert Lead.objects.filter(account=acme, account_match="company").count() == 30


def test_api_shows_the_match(api, marketer, acme):
    response = api.as_user(marketer).post("/api/v1/funnel/leads/", {
        "email": "gus@hotmail.com", "company": "Acme Corp."}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["account"], body["account_match"], body["account_match_score"]) == (
        acme.pk, "company", 100)
