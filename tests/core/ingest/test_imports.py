import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from abmcrm.core.models import ImportJob
from tests.factories import AccountFactory, RepFactory
from tiers.models import Account, Contact

pytestmark = pytest.mark.django_db

IMPORTS = "/api/v1/imports/"
HEADER = "name,domain,external_id,industry,country,employees,annual_revenue,technologies,owner\n"


_on_commit = {}


@pytest.fixture(autouse=True)
def _run_on_commit(django_capture_on_commit_callbacks):
    """The import is queued on commit, and tests run inside a transaction: `upload` runs the
    queued callbacks (the task, eager here) as its request ends."""
    _on_commit["capture"] = django_capture_on_commit_callbacks


def upload(client, content, kind="accounts", name="accounts.csv"):
    data = content.encode("utf-8") if isinstance(content, str) else content
    with _on_commit["capture"](execute=True):
        return client.post(IMPORTS, {"kind": kind, "file": SimpleUploadedFile(name, data)},
                           format="multipart")


def job_of(client, response):
    assert response.status_code == 202, response.content
    body = client.get(f"{IMPORTS}{response.json()['id']}/").json()
    return body


class TestAccountImport:
    def test_good_file_with_bom_quotes_and_lists(self, api, abm_admin):
        RepFactory(username="anna.snelling")
        content = "\ufeff" + HEADER + (
            'Acme,acme.com,A-1,software,Germany,120,"1,000.00",Salesforce;SAP ERP,anna.snelling\n'
            '"Globex, Inc.",https://www.globex.io,A-2,retail,"United\nStates",5000,2000000,,\n'
        )
        client = api.as_user(abm_admin)
        job = job_of(client, upload(client, content))
        assert job["status"] == "done"
        assert (job["total_rows"], job["rows_done"], job["created"]) == (2, 2, 1)
        # "1,000.00" is no number: that row is reported, the other lands.
        assert job["errors"] == [{"line": 2, "errors": {"annual_revenue": [
            "A valid number is required."]}}]
        globex = Account.objects.get(domain="globex.io")
        assert globex.name == "Globex, Inc." and globex.country == "United\nStates"
        assert job["progress"] == 1.0

    def test_bad_rows_reported_with_line_numbers(self, api, abm_admin):
        content = HEADER + (
            "Good,good.com,,,,10,,,\n"
            "No domain,,,,,10,,,\n"
            "Bad employees,bad.com,,,,many,,,\n"
            "Dup,good.com,,,,10,,,\n"
            "Bad owner,owner.com,,,,10,,,ghost\n"
            "Too,many,fields,,,,,,,,,,,\n"
            "\n"
            "Also good,also.com,,,,10,,,\n"
        )
        client = api.as_user(abm_admin)
        job = job_of(client, upload(client, content))
        assert job["status"] == "done" and job["created"] == 2
        lines = {e["line"]: e["errors"] for e in job["errors"]}
        assert set(lines) == {3, 4, 5, 6, 7}
        assert "domain" in lines[3] and "employees" in lines[4]
        assert "Duplicate domain" in lines[5]["domain"][0] and "line 2" in lines[5]["domain"][0]
        assert "owner" in lines[6] and "header has 9" in lines[7]["non_field_errors"][0]
        assert job["error_count"] == 5
        assert set(Account.objects.values_list("domain", flat=True)) == {"good.com", "also.com"}

    def test_blank_cells_change_nothing(self, api, abm_admin):
        AccountFactory(domain="keep.com", industry="medical", employees=77)
        client = api.as_user(abm_admin)
        job = job_of(client, upload(client, "name,domain,industry,employees\nKeep,keep.com,,\n"))
        assert job["updated"] == 1
        account = Account.objects.get(domain="keep.com")
        assert (account.name, account.industry, account.employees) == ("Keep", "medical", 77)

    def test_missing_required_column(self, api, abm_admin):
        client = api.as_user(abm_admin)
        job = job_of(client, upload(client, "name,industry\nAcme,software\n"))
        assert job["status"] == "failed"
        assert "Missing column(s): domain" in job["message"]
        assert Account.objects.count() == 0

    def test_semicolon_separated_file_gets_a_hint(self, api, abm_admin):
        client = api.as_user(abm_admin)
        job = job_of(client, upload(client, "name;domain\nAcme;acme.com\n"))
        assert job["status"] == "failed" and "separated by something other" in job["message"]

    def test_unknown_columns_are_ignored_and_said(self, api, abm_admin):
        client = api.as_user(abm_admin)
        job = job_of(client, upload(client, "name,domain,favourite_colour\nAcme,acme.com,red\n"))
        assert job["status"] == "done" and job["created"] == 1
        assert "favourite_colour" in job["message"]

    def test_header_only_and_empty_file(self, api, abm_admin):
        client = api.as_user(abm_admin)
        job = job_of(client, upload(client, "name,domain\n"))
        assert job["status"] == "done" and job["total_rows"] == 0
        assert "no data rows" in job["message"]
        empty = upload(client, b"")
        assert empty.status_code == 400 and "empty" in empty.json()["file"][0]
        blank = job_of(client, upload(client, "\n\n"))
        assert blank["status"] == "failed" and "empty" in blank["message"]

    def test_not_utf8_fails_clearly_and_writes_nothing(self, api, abm_admin):
        content = (HEADER + "Café,cafe.com,,,,,,,\n").encode("latin-1")
        client = api.as_user(abm_admin)
        job = job_of(client, upload(client, content))
        assert job["status"] == "failed"
        assert "not UTF-8" in job["message"] and "nothing was imported" in job["message"]
        assert "on line 2" in job["message"]
        assert Account.objects.count() == 0

    def test_utf16_with_bom(self, api, abm_admin):
        content = "name,domain\nMünchen GmbH,muenchen.de\n".encode("utf-16")
        client = api.as_user(abm_admin)
        job = job_of(client, upload(client, content))
        assert job["status"] == "done"
        assert Account.objects.get().name == "München GmbH"

    def test_duplicate_across_batches_is_reported(self, api, abm_admin, settings):
        from abmcrm.core.ingest import imports

        rows = "".join(f"Co {i},co{i}.com\n" for i in range(imports.IMPORT_BATCH_SIZE + 5))
        rows += "Again,co1.com\n"
        client = api.as_user(abm_admin)
        job = job_of(client, upload(client, "name,domain\n" + rows))
        assert job["created"] == imports.IMPORT_BATCH_SIZE + 5
        assert len(job["errors"]) == 1 and "line 3" in job["errors"][0]["errors"]["domain"][0]


class TestImportApi:
    def test_unknown_kind_and_missing_file(self, api, abm_admin):
        client = api.as_user(abm_admin)
        response = upload(client, "name,domain\n", kind="planets")
        assert response.status_code == 400 and "planets" in response.json()["kind"][0]
        response = client.post(IMPORTS, {"kind": "accounts"}, format="multipart")
        assert response.status_code == 400 and "file" in response.json()

    def test_permissions(self, api, rep, marketer, abm_admin):
        for user in (rep, marketer):
            response = upload(api.as_user(user), "name,domain\nA,a.com\n")
            assert response.status_code == 403
        assert Account.objects.count() == 0

    def test_rep_cannot_read_others_jobs(self, api, rep, abm_admin):
        client = api.as_user(abm_admin)
        job_id = upload(client, "name,domain\nA,a.com\n").json()["id"]
        assert api.as_user(rep).get(f"{IMPORTS}{job_id}/").status_code == 404

    def test_contacts_import(self, api, abm_admin):
        AccountFactory(domain="a.com", external_id="EXT")
        content = ("account,first_name,last_name,email,title,buying_role\n"
                   "a.com,Ada,Lovelace,ada@a.com,CMO,decision_maker\n"
                   "EXT,Bob,B,bob@a.com,,champion\n"
                   "missing.com,C,C,c@missing.com,,user\n")
        client = api.as_user(abm_admin)
        job = job_of(client, upload(client, content, kind="contacts"))
        assert job["created"] == 2 and job["errors"][0]["line"] == 4
        assert Contact.objects.count() == 2


def test_large_file_streams_through(api, abm_admin, tmp_path):
    """A 50 MB file: every row lands, the stored error list stays bounded."""
    filler = "x" * 200
    buffer = io.StringIO()
    buffer.write("name,domain,industry,region\n")
    rows = 0
    while buffer.tell() < 50 * 1024 * 1024:
        bad = rows % 1000 == 999
        domain = "bad domain" if bad else f"c{rows}.com"
        buffer.write(f"Company {rows} {filler},{domain},software,{filler[:90]}\n")
        rows += 1
    client = api.as_user(abm_admin)
    job = job_of(client, upload(client, buffer.getvalue()))
    assert job["status"] == "done" and job["total_rows"] == rows
    assert job["error_count"] == rows // 1000
    assert job["created"] == rows - rows // 1000
    assert Account.objects.count() == rows - rows // 1000


class TestImportCommand:
    def test_imports_with_progress(self, tmp_path, capsys):
        path = tmp_path / "a.csv"
        path.write_text("name,domain\nA,a.com\nB,bad domain\n", encoding="utf-8")
        out = io.StringIO()
        err = io.StringIO()
        call_command("import_csv", "accounts", str(path), stdout=out, stderr=err)
        assert "2/2 rows" in out.getvalue() and "1 created" in out.getvalue()
        assert "line 3: domain:" in err.getvalue()
        assert ImportJob.objects.get().status == "done"

    def test_failures_are_command_errors(self, tmp_path):
        with pytest.raises(CommandError, match="Unknown kind"):
            call_command("import_csv", "planets", "x.csv")
        with pytest.raises(CommandError, match="Cannot read"):
            call_command("import_csv", "accounts", str(tmp_path / "missing.csv"))
        bad = tmp_path / "bad.csv"
        bad.write_text("foo,bar\n1,2\n")
        with pytest.raises(CommandError, match="Missing column"):
            call_command("import_csv", "accounts", str(bad), stdout=io.StringIO())
