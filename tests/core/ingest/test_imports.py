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


class TestImportsAlwaysEnd:
    """Every file ends its job, done or failed, with a readable message; a bad cell is a bad
    row; no path stores errors without bound."""

    def test_utf16_without_bom_is_read(self, api, abm_admin):
        for encoding in ("utf-16-le", "utf-16-be"):
            content = f"name,domain\nMünchen GmbH,{encoding}.de\n".encode(encoding)
            client = api.as_user(abm_admin)
            job = job_of(client, upload(client, content))
            assert job["status"] == "done" and job["created"] == 1, job
        assert Account.objects.count() == 2

    def test_utf16_without_bom_of_another_kind_fails_readably(self, api, abm_admin):
        """Its header, decoded, names no known column: the job fails with a message that
        can be stored and read (it used to carry NUL bytes and stay running forever)."""
        content = "Name;Domain\nAcme;acme.com\n".encode("utf-16-le")
        client = api.as_user(abm_admin)
        job = job_of(client, upload(client, content))
        assert job["status"] == "failed" and job["finished_at"]
        assert "Missing column(s): name, domain" in job["message"]
        assert "\x00" not in job["message"]

    def test_a_header_with_nul_bytes_fails_readably(self, api, abm_admin):
        content = b"n\x00ame,dom\x00ain\nAcme,acme.com\n"
        client = api.as_user(abm_admin)
        job = job_of(client, upload(client, content))
        assert job["status"] == "failed" and "Missing column(s)" in job["message"]
        assert "\x00" not in job["message"]

    @pytest.mark.parametrize("cell", ["ac\x00me.com", "x\x00"])
    def test_a_nul_in_a_lookup_cell_is_one_bad_row(self, api, marketer, cell):
        AccountFactory(domain="acme.com")
        content = ("account,topic,score,source,week\n"
                   f"{cell},crm,50,g2,2024-01-01\n"
                   "acme.com,crm,60,g2,2024-01-01\n")
        client = api.as_user(marketer)
        job = job_of(client, upload(client, content, kind="intent_signals"))
        assert job["status"] == "done", job
        assert (job["created"], job["error_count"]) == (1, 1)
        assert job["errors"][0]["line"] == 2 and "\x00" not in str(job["errors"])

    def test_a_nul_in_any_cell_is_one_bad_row(self, api, abm_admin):
        content = "name,domain,funding_stage,country\nAc\x00me,a.com,seed,DE\nB,b.com,x\x00,DE\n" \
                  "C,c.com,seed,D\x00E\nD,d.com,seed,DE\n"
        client = api.as_user(abm_admin)
        job = job_of(client, upload(client, content))
        assert job["status"] == "done" and job["created"] == 1 and job["error_count"] == 3

    def test_rows_with_too_many_fields_are_capped(self, api, abm_admin):
        """200,000 rows of too many fields in a 1.2 MB file: counted, 1,000 stored."""
        from abmcrm.core.ingest import imports

        content = "name,domain\n" + "a,b,c\n" * 200_000
        client = api.as_user(abm_admin)
        job = job_of(client, upload(client, content))
        assert job["status"] == "done" and job["error_count"] == 200_000
        assert len(job["errors"]) == imports.IMPORT_MAX_STORED_ERRORS
        assert ImportJob.objects.get(pk=job["id"]).errors[-1]["line"] == 1001

    def test_stored_messages_are_cut(self, api, abm_admin):
        content = "name,domain,funding_stage\nA,a.com," + "x" * 100_000 + "\n"
        client = api.as_user(abm_admin)
        job = job_of(client, upload(client, content))
        (message,) = job["errors"][0]["errors"]["funding_stage"]
        assert job["error_count"] == 1 and len(message) <= 500

    def test_a_header_of_many_columns_is_named_in_part(self, api, abm_admin):
        header = ",".join(f"c{i}" for i in range(5000))
        client = api.as_user(abm_admin)
        job = job_of(client, upload(client, header + "\n"))
        assert job["status"] == "failed" and "and 4970 more" in job["message"]
        assert len(job["message"]) < 2000

    def test_the_list_leaves_the_bad_rows_out(self, api, abm_admin):
        client = api.as_user(abm_admin)
        job_of(client, upload(client, "name,domain\n" + "a,b,c\n" * 50))
        listed = client.get(IMPORTS).json()["results"][0]
        assert "errors" not in listed and listed["error_count"] == 50
        assert len(client.get(f"{IMPORTS}{listed['id']}/").json()["errors"]) == 50

    @pytest.mark.parametrize("pk", ["abc", "1e3", "-1", "99999999999999999999", "%00"])
    def test_an_id_that_is_no_id_is_404(self, api, abm_admin, pk):
        assert api.as_user(abm_admin).get(f"{IMPORTS}{pk}/").status_code == 404


class TestReadInTheReadersLanguage:
    """What an import stores (its warnings, its bad rows) is shown in the language of whoever
    reads it, not of whoever uploaded: a Korean admin uploads, an Indonesian marketer and an
    English one read the same job."""

    CONTENT = HEADER.strip() + ",favourite_colour\n" + (
        "Good,good.com,,,,10,,,,red\n"
        ",nodomain.com,,,,10,,,,red\n"  # no name: DRF's "This field is required."
        "Dup,good.com,,,,10,,,,red\n"  # our own message, with values
    )

    def upload_in_korean(self, api, abm_admin):
        client = api.as_user(abm_admin)
        client.credentials(HTTP_ACCEPT_LANGUAGE="ko")
        response = upload(client, self.CONTENT)
        client.credentials()
        return client, response.json()["id"]

    def read(self, client, pk, language):
        return client.get(f"{IMPORTS}{pk}/", HTTP_ACCEPT_LANGUAGE=language).json()

    def test_the_warning_follows_the_reader(self, api, abm_admin):
        client, pk = self.upload_in_korean(api, abm_admin)
        assert self.read(client, pk, "en")["message"] == (
            "Ignored unknown column(s): favourite_colour.")
        assert self.read(client, pk, "id")["message"] == (
            "Kolom tidak dikenal diabaikan: favourite_colour.")
        assert self.read(client, pk, "ko")["message"] == (
            "알 수 없는 열은 무시했습니다: favourite_colour.")
        listed = client.get(IMPORTS, HTTP_ACCEPT_LANGUAGE="id").json()["results"][0]
        assert listed["message"] == "Kolom tidak dikenal diabaikan: favourite_colour."
        # The column keeps it in English, for the admin and a host's code.
        assert ImportJob.objects.get(pk=pk).message == (
            "Ignored unknown column(s): favourite_colour.")

    def test_bad_rows_follow_the_reader(self, api, abm_admin):
        client, pk = self.upload_in_korean(api, abm_admin)
        english = {e["line"]: e["errors"] for e in self.read(client, pk, "en")["errors"]}
        assert english == {
            3: {"name": ["This field is required."]},
            4: {"domain": ["Duplicate domain “good.com”: already at line 2."]}}
        korean = {e["line"]: e["errors"] for e in self.read(client, pk, "ko")["errors"]}
        assert korean[3] == {"name": ["이 필드는 필수 항목입니다."]}
        assert korean[4] == {"domain": ["중복된 domain “good.com”: 이미 line 2에 있습니다."]}
        indonesian = {e["line"]: e["errors"] for e in self.read(client, pk, "id")["errors"]}
        assert indonesian[3] == {"name": ["Bidang ini harus diisi."]}

    def test_the_page_follows_the_reader(self, client, abm_admin, api):
        _api_client, pk = self.upload_in_korean(api, abm_admin)
        client.force_login(abm_admin)
        html = client.get(f"/imports/{pk}/", HTTP_ACCEPT_LANGUAGE="id").content.decode()
        assert "Kolom tidak dikenal diabaikan: favourite_colour." in html
        assert "Bidang ini harus diisi." in html
        html = client.get(f"/imports/{pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "Ignored unknown column(s): favourite_colour." in html

    def test_a_failure_follows_the_reader(self, api, abm_admin):
        client = api.as_user(abm_admin)
        pk = upload(client, "name,industry\nAcme,software\n").json()["id"]
        korean = self.read(client, pk, "ko")["message"]
        assert korean.startswith("누락된 열: domain. 파일의 열: name, industry.")
        assert korean != self.read(client, pk, "en")["message"]
        assert self.read(client, pk, "en")["message"].startswith("Missing column(s): domain.")

    def test_a_job_stored_before_keeps_its_text(self, api, abm_admin):
        job = ImportJob.objects.create(
            kind="accounts", file="imports/old.csv", status=ImportJob.Status.DONE,
            message="알 수 없는 열은 무시했습니다: x.", created_by=abm_admin,
            errors=[{"line": 2, "errors": {"name": ["이 필드는 필수 항목입니다."]}}])
        body = self.read(api.as_user(abm_admin), job.pk, "en")
        assert body["message"] == "알 수 없는 열은 무시했습니다: x."
        assert body["errors"] == [{"line": 2, "errors": {"name": ["이 필드는 필수 항목입니다."]}}]

    def test_a_validator_message_quoting_a_value_follows_the_reader(self, api, abm_admin):
        client = api.as_user(abm_admin)
        client.credentials(HTTP_ACCEPT_LANGUAGE="ko")
        pk = upload(client, "name,domain,funding_stage\nA,a.com,pre-seed\n").json()["id"]
        client.credentials()
        english = self.read(client, pk, "en")["errors"][0]["errors"]["funding_stage"]
        assert english == ["\"pre-seed\" is not a valid choice."]
        korean = self.read(client, pk, "ko")["errors"][0]["errors"]["funding_stage"][0]
        assert "pre-seed" in korean and korean != english[0]
