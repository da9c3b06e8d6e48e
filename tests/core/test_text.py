"""Text from outside that the database can store (abmcrm/core/text.py), and the ref lookups
of every bulk endpoint that rely on it: a NUL byte or a lone surrogate in a reference is that
item's error, never a 500 for the whole request."""

import json

import pytest

from abmcrm.core import text
from tests.factories import AccountFactory, CampaignFactory, ContactFactory, LeadFactory

pytestmark = pytest.mark.django_db

BAD = ["a\x00b", "\ud800", "acme.com\x00", "x\udfff"]


def post(client, path, data):
    """POST `data` as JSON, escaped as a client would send a lone surrogate (`\ud800`)."""
    return client.post(path, data=json.dumps(data), content_type="application/json")


def test_storable():
    assert text.is_storable("Ünïcødé ✓ 😀") and not any(map(text.is_storable, BAD))
    assert text.storable("n\x00a\x00m\x00e") == "name"
    assert text.storable("a\ud800b") == "a\ufffdb"
    assert text.lookup_keys([None, "", "  x ", 7, *BAD]) == {"x", "7"}


def test_json_problem_walks_without_recursion():
    deep = []
    for _ in range(100_000):
        deep = [deep]
    assert "nested more than 64" in text.json_problem(deep)
    assert "NUL" in text.json_problem({"a": [{"b": "x\x00"}]})
    assert "surrogate" in text.json_problem({"\ud800": 1})
    assert text.json_problem({"a": [1, "ok", None, {"b": 2.5}]}) == ""


@pytest.mark.parametrize("raw", [b"[" * 1000 + b"]" * 1000, b"{", b"\xff", "[" * 70 + "]" * 70])
def test_parse_json_refuses_with_one_error_class(raw):
    with pytest.raises(text.JSONDocumentError):
        text.parse_json(raw)


@pytest.mark.parametrize("bad", BAD)
class TestBulkReferences:
    def test_intent_signals(self, api, marketer, bad):
        AccountFactory(domain="acme.com")
        items = [{"account": bad, "topic": "crm", "score": 50, "source": "g2",
                  "week": "2024-01-01"},
                 {"account": "acme.com", "topic": "crm", "score": 50, "source": "g2",
                  "week": "2024-01-01"}]
        body = post(api.as_user(marketer), "/api/v1/intent-signals/bulk/", items).json()
        assert body["created"] == 1 and [e["index"] for e in body["errors"]] == [0]
        assert "account" in body["errors"][0]["errors"]

    def test_engagement_events(self, api, marketer, bad):
        contact = ContactFactory(account=AccountFactory(domain="acme.com"))
        items = [{"account": bad, "kind": "demo_request", "occurred_at": "2024-01-01T10:00Z"},
                 {"account": "acme.com", "contact": bad, "kind": "demo_request",
                  "occurred_at": "2024-01-01T10:00Z"},
                 {"account": "acme.com", "contact": contact.email, "kind": "demo_request",
                  "occurred_at": "2024-01-01T10:00Z"}]
        body = post(api.as_user(marketer), "/api/v1/engagement-events/bulk/", items).json()
        assert body["created"] == 1 and [e["index"] for e in body["errors"]] == [0, 1]

    def test_contacts(self, api, abm_admin, bad):
        AccountFactory(domain="acme.com")
        items = [{"account": bad, "email": "a@acme.com"},
                 {"account": "acme.com", "email": "b@acme.com"}]
        body = post(api.as_user(abm_admin), "/api/v1/contacts/bulk/", items).json()
        assert body["created"] == 1 and [e["index"] for e in body["errors"]] == [0]

    def test_account_owners(self, api, abm_admin, bad):
        items = [{"name": "A", "domain": "a.com", "owner": bad},
                 {"name": "B", "domain": "b.com", "owner": abm_admin.username}]
        body = post(api.as_user(abm_admin), "/api/v1/accounts/bulk/", items).json()
        assert body["created"] == 1 and [e["index"] for e in body["errors"]] == [0]

    def test_leads(self, api, marketer, bad):
        CampaignFactory(code="spring")
        items = [{"email": "a@x.com", "account": bad}, {"email": "b@x.com", "campaign": bad},
                 {"email": "c@x.com", "campaign": "spring"}]
        body = post(api.as_user(marketer), "/api/v1/funnel/leads/bulk/", items).json()
        assert body["created"] == 1 and [e["index"] for e in body["errors"]] == [0, 1]

    def test_transitions(self, api, marketer, bad):
        account = AccountFactory(domain="acme.com")
        LeadFactory(email="lee@x.com")
        items = [{"account": bad, "to_stage": "target"},
                 {"lead": bad, "to_stage": "mql"},
                 {"account": account.domain, "to_stage": "target", "campaign": bad},
                 {"account": account.domain, "to_stage": "target"}]
        response = post(api.as_user(marketer), "/api/v1/funnel/transitions/", items)
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["created"] == 1
        assert sorted(e["index"] for e in body["errors"]) == [0, 1, 2]


@pytest.mark.parametrize("bad", BAD)
def test_icp_criterion_values_and_segment_filters_are_field_errors(api, abm_admin, bad):
    client = api.as_user(abm_admin)
    profile = post(client, "/api/v1/icp/profiles/", {"name": "ICP"}).json()
    response = post(client, "/api/v1/icp/criteria/", {
        "profile": profile["id"], "attribute": "industry", "values": ["software", bad]})
    assert response.status_code == 400 and "values" in response.json()
    response = post(client, "/api/v1/segments/", {"name": "S", "filters": {"industry": bad}})
    assert response.status_code == 400 and "filters" in response.json()
    response = post(client, "/api/v1/segments/", {"name": bad, "filters": {}})
    assert response.status_code == 400 and "name" in response.json()
