import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from abmcrm.core.models import ImportJob
from tests.factories import AccountFactory, ContactFactory, RepFactory
from tiers.models import Account

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_abm(client, abm_admin):
    client.force_login(abm_admin)
    return client


@pytest.mark.parametrize("rows", [1, 50])
def test_account_changelist_runs_fixed_queries(admin_client_abm, rows,
                                              django_assert_max_num_queries):
    owners = [RepFactory() for _ in range(5)]
    for i in range(rows):
        AccountFactory(owner=owners[i % 5])
    with django_assert_max_num_queries(14):
        response = admin_client_abm.get("/admin/tiers/account/")
    assert response.status_code == 200
    assert response.context["cl"].result_count == rows


def test_account_changelist_search_and_filters(admin_client_abm):
    AccountFactory(name="Acme", domain="acme.com", industry="retail", country="Kenya")
    AccountFactory(name="Globex", domain="globex.com")
    response = admin_client_abm.get("/admin/tiers/account/?q=acme")
    assert [a.name for a in response.context["cl"].result_list] == ["Acme"]
    response = admin_client_abm.get("/admin/tiers/account/?industry=retail")
    assert [a.name for a in response.context["cl"].result_list] == ["Acme"]


def test_account_change_page_has_contact_inline(admin_client_abm):
    contact = ContactFactory(first_name="Grace")
    response = admin_client_abm.get(f"/admin/tiers/account/{contact.account.pk}/change/")
    assert response.status_code == 200 and contact.email in response.content.decode()


def test_marketer_reads_but_cannot_change(client, marketer):
    account = AccountFactory()
    client.force_login(marketer)
    assert client.get(f"/admin/tiers/account/{account.pk}/change/").status_code == 200
    response = client.post(f"/admin/tiers/account/{account.pk}/change/", {"name": "Hacked"})
    assert response.status_code == 403
    assert Account.objects.get(pk=account.pk).name != "Hacked"


def test_rep_has_no_admin(client, rep):
    client.force_login(rep)
    assert client.get("/admin/").status_code == 302  # to the admin login: not staff


def test_import_from_admin_page(admin_client_abm, django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile("a.csv", b"name,domain\nAcme,acme.com\nBad,bad domain\n")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_abm.post("/admin/abmcore/importjob/add/",
                                         {"kind": "accounts", "file": upload})
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert (job.status, job.created, job.error_count) == ("done", 1, 1)
    page = admin_client_abm.get(f"/admin/abmcore/importjob/{job.pk}/change/").content.decode()
    assert "bad domain" in page


def test_tier_history_reads_as_tiers_not_ids(client, abm_admin):
    from tests.factories import AccountFactory, tier
    from tiers.models import TierAssignment

    account = AccountFactory(name="Initech", surging_topics=["intent data", "crm"])
    change = TierAssignment.objects.create(account=account, old_tier=None, new_tier=tier(1),
                                           reason="Rule #1")
    assert str(change) == "Initech: untiered → Tier 1"
    client.force_login(abm_admin)
    html = client.get(f"/admin/tiers/account/{account.pk}/change/").content.decode()
    assert "Tier history" in html and "Initech: untiered → Tier 1" in html
    assert "intent data, crm" in html and '["intent data"' not in html


def test_a_change_saves_the_fields_the_form_changed_only(rf, abm_admin):
    """Scores written while the change form was open (the recompute's, the in-market
    scoring's) are not written back by the save."""
    from django.contrib import admin
    from django.forms.models import model_to_dict

    account = AccountFactory(name="Old name")
    model_admin = admin.site._registry[Account]
    request = rf.post("/")
    request.user = abm_admin
    stale = Account.objects.get(pk=account.pk)
    form_class = model_admin.get_form(request, stale, change=True)
    data = {name: value for name, value in model_to_dict(stale, fields=form_class.base_fields)
            .items() if value is not None}
    data["technologies"] = [tech.pk for tech in data.get("technologies", [])]
    data["name"] = "New name"
    form = form_class(data=data, instance=stale)
    assert form.is_valid(), form.errors
    Account.objects.filter(pk=account.pk).update(fit_score=77, in_market_probability=0.42,
                                                 buying_stage="decision")
    model_admin.save_model(request, form.save(commit=False), form, change=True)
    account.refresh_from_db()
    assert (account.name, account.fit_score, account.in_market_probability,
            account.buying_stage) == ("New name", 77, 0.42, "decision")
