"""The CSV import pages: who may import what, the upload, an import's page."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from abmcrm.core.models import ImportJob

pytestmark = pytest.mark.django_db


def test_roles_and_the_kinds_each_may_import(client, nobody, rep, abm_admin):
    assert client.get("/imports/").status_code == 302
    client.force_login(nobody)
    assert client.get("/imports/").status_code == 403
    client.force_login(rep)
    html = client.get("/imports/").content.decode()
    assert '<option value="contacts"' in html and '<option value="accounts"' not in html
    client.force_login(abm_admin)
    html = client.get("/imports/").content.decode()
    assert '<option value="accounts"' in html and "Engagement events" in html
    assert "engagement_events<" not in html  # people's labels, not the kind's code


def test_a_rep_may_not_import_a_kind_beyond_their_role(client, rep):
    client.force_login(rep)
    response = client.post("/imports/", {"kind": "accounts", "file": SimpleUploadedFile(
        "a.csv", b"domain,name\na.example.com,A\n")})
    assert response.status_code == 400 and not ImportJob.objects.exists()


def test_upload_queues_the_import_and_its_page_shows_it(client, abm_admin,
                                                        django_capture_on_commit_callbacks):
    client.force_login(abm_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/imports/", {"kind": "accounts", "file": SimpleUploadedFile(
            "a.csv", b"domain,name,notes\na.example.com,A,x\n")})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == f"/imports/{job.pk}/"
    html = client.get(response.url).content.decode()
    assert 'class="warning"' in html and "Ignored unknown column(s): notes." in html
    assert f'data-api="/api/v1/imports/{job.pk}/"' in html
    assert 'http-equiv="refresh"' not in html  # finished: nothing left to follow


def test_an_unfinished_import_reloads_itself_without_javascript(client, abm_admin):
    job = ImportJob.objects.create(kind="accounts", file="imports/x.csv", created_by=abm_admin)
    client.force_login(abm_admin)
    html = client.get(f"/imports/{job.pk}/").content.decode()
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in html


def test_others_imports_are_not_shown_to_a_rep(client, rep, abm_admin):
    job = ImportJob.objects.create(kind="accounts", file="imports/x.csv", created_by=abm_admin)
    client.force_login(rep)
    assert client.get(f"/imports/{job.pk}/").status_code == 404


@pytest.mark.parametrize("rows", [1, 30])
def test_the_list_runs_a_fixed_number_of_queries(client, abm_admin, rows,
                                                 django_assert_max_num_queries):
    for _ in range(rows):
        ImportJob.objects.create(kind="accounts", file="imports/x.csv", created_by=abm_admin)
    client.force_login(abm_admin)
    with django_assert_max_num_queries(8):
        response = client.get("/imports/")
    assert response.content.decode().count("data-import=") == min(rows, 25)
