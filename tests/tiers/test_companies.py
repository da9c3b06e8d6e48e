"""Company names and free-mail domains (tiers/companies.py, tiers/freemail.py)."""

import pytest

from tests.factories import AccountFactory
from tiers.companies import CompanyIndex, match_accounts, normalise_company
from tiers.freemail import is_free_mail


@pytest.mark.parametrize("name, expected", [
    ("Acme, Inc.", "acme"), ("ACME LLC", "acme"), ("Acme Ltd", "acme"),
    ("Siemens AG", "siemens"), ("Bosch GmbH", "bosch"),
    ("PT Bank Central Asia Tbk", "bank central asia"),
    ("Toyota Motor Co., Ltd.", "toyota motor"), ("トヨタ自動車株式会社", "トヨタ自動車"),
    ("Maju Sdn. Bhd.", "maju"), ("Johnson & Johnson", "johnson and johnson"),
    ("Inc", "inc"), ("", ""),
])
def test_normalise_company(name, expected):
    assert normalise_company(name) == expected


@pytest.mark.parametrize("domain, free", [
    ("gmail.com", True), ("outlook.com", True), ("yahoo.co.id", True), ("yahoo.com", True),
    ("hotmail.fr", True), ("icloud.com", True), ("proton.me", True), ("qq.com", True),
    ("naver.com", True), ("163.com", True), ("acme.com", False), ("mail.acme.com", False),
    ("", False)])
def test_free_mail(domain, free):
    assert is_free_mail(domain) is free


class TestIndex:
    index = CompanyIndex([("acme", "Acme Corporation"), ("globex", "Globex International"),
                          ("bca", "PT Bank Central Asia Tbk"), ("a1", "Twin"),
                          ("a2", "Twin Inc")], threshold=90)

    @pytest.mark.parametrize("name, expected", [
        ("ACME corp.", ("acme", 100)), ("Bank Central Asia", ("bca", 100)),
        ("Bank Centrl Asia", ("bca", 97)), ("Central Asia Bank", ("bca", 100)),
        ("Globex", None), ("Initech", None), ("", None),
        ("Twin", None),  # two accounts are named that: ambiguous
    ])
    def test_match(self, name, expected):
        assert self.index.match(name) == expected

    def test_threshold(self):
        lenient = CompanyIndex([("globex", "Globex International")], threshold=60)
        assert lenient.match("Globex Intl")[0] == "globex"


@pytest.mark.django_db
def test_match_accounts_by_domain_then_company(django_assert_num_queries):
    acme = AccountFactory(name="Acme Inc.", domain="acme.com")
    AccountFactory(name="Globex", domain="globex.com")
    with django_assert_num_queries(2):
        found = match_accounts([("ann@acme.com", ""), ("bob@gmail.com", "ACME, Inc"),
                                ("cy@yahoo.co.id", "Nobody Ltd"),
                                ("dee@unknown.org", "Acme")])
    assert found[("ann@acme.com", "")] == (acme, "domain", 100)
    assert found[("bob@gmail.com", "ACME, Inc")] == (acme, "company", 100)
    assert ("cy@yahoo.co.id", "Nobody Ltd") not in found
    # A company e-mail domain that is no account's is not matched by name.
    assert ("dee@unknown.org", "Acme") not in found
