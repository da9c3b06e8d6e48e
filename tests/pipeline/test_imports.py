"""CSV import of deals (kind `opportunities`): the bulk upsert's columns, `contacts` as
`email:role;email:role`, bad rows reported by line, a second import of the same file
changing nothing."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from pipeline.models import Opportunity, OpportunityStageChange
from tests import factories

pytestmark = pytest.mark.django_db

IMPORTS = "/api/v1/imports/"


@pytest.fixture
def upload(api, django_capture_on_commit_callbacks):
    def do(user, content):
        client = api.as_user(user)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(IMPORTS, {"kind": "opportunities", "file":
                                   SimpleUploadedFile("deals.csv", content.encode())},
                                   format="multipart")
        assert response.status_code in (202, 403), response.content
        if response.status_code == 403:
            return None
        return client.get(f"{IMPORTS}{response.json()['id']}/").json()
    return do


def test_import_with_committees_then_again(upload, marketer):
    account = factories.AccountFactory(domain="acme.example.com", external_id="ACME")
    factories.ContactFactory(account=account, email="cfo@acme.example.com",
                             buying_role="blocker")
    factories.ContactFactory(account=account, email="vp@acme.example.com")
    content = (
        "external_id,account,name,stage,amount,opened_at,closed_at,owner,contacts,colour\n"
        "D-1,ACME,Renewal,Negotiation,1200,2025-01-05T10:00:00Z,,marketer1,"
        "cfo@acme.example.com;vp@acme.example.com:champion,blue\n"
        "D-2,acme.example.com,Pilot,won,300,2025-01-02T10:00:00Z,2025-01-20T10:00:00Z,,,\n"
        "D-3,acme.example.com,Broken,won,,2025-01-02T10:00:00Z,,,,\n"
        "D-4,nowhere.example.com,Lost soul,proposal,5,,,,,\n"
    )
    job = upload(marketer, content)
    assert job["status"] == "done" and job["created"] == 2
    assert [e["line"] for e in job["errors"]] == [4, 5]
    assert "amount" in job["errors"][0]["errors"] and "account" in job["errors"][1]["errors"]
    assert "colour" in job["message"]
    d1 = Opportunity.objects.get(external_id="D-1")
    assert d1.stage.slug == "negotiation" and d1.owner == marketer
    assert sorted(d1.committee.values_list("contact__email", "role")) == [
        ("cfo@acme.example.com", "blocker"), ("vp@acme.example.com", "champion")]
    changes = OpportunityStageChange.objects.count()
    again = upload(marketer, content)
    assert again["created"] == 0 and again["updated"] == 0
    assert OpportunityStageChange.objects.count() == changes


def test_reps_may_not_import(upload, rep):
    assert upload(rep, "external_id,account\nX,acme.example.com\n") is None
