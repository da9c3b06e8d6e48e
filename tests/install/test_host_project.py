"""Installing abmcrm into a fresh host project exactly as docs/guide/install.md says.

The test builds the wheel from a copy of the source tree, installs it (without its
dependencies: this venv already has them) into a folder placed first on PYTHONPATH, creates
a project with `django-admin startproject proj` in a temporary folder outside the checkout,
and applies the guide's code blocks marked for it (`install:settings`, `install:urls`,
`install:celery`, `install:init`), runs its `install:run` commands (migrate, check,
load_demo) and starts its `install:serve` processes (a real Celery worker with beat, and
runserver). Then, over real HTTP, the rep gets an API token, uses it and revokes it; in
Chromium the rep logs in (sent there from the home page), opens the API docs and comes back,
orders two programs by ticking boxes, and a marketer approves one; the worker mails the rep.
A documented step that is missing or wrong fails it: the guide's blocks are the only set-up
the project gets, besides what this machine needs (its database, broker and a mail folder:
`harness()`).
"""

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.install

GUIDE = ROOT / "docs" / "guide" / "install.md"
BLOCK = re.compile(r"^```(\w+) install:(\w+)\n(.*?)^```", re.M | re.S)
# Not part of the package: left out of the copy the wheel is built from.
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "var", "build", "dist", "*.egg-info",
                                    "__pycache__", ".pytest_cache", ".ruff_cache",
                                    ".hypothesis", "node_modules")


def guide_blocks(kind):
    """The guide's code blocks marked `install:<kind>`, in order."""
    found = [body for _, marked, body in BLOCK.findall(GUIDE.read_text()) if marked == kind]
    assert found, f"docs/guide/install.md has no `install:{kind}` block"
    return found


def commands(kind):
    """The guide's `install:<kind>` commands: one per line, comments left out."""
    lines = []
    for block in guide_blocks(kind):
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                lines.append(shlex.split(line))
    return lines


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Host:
    """The host project and the environment its processes run in."""

    def __init__(self, folder, site):
        self.folder, self.site = folder, site
        self.project = folder / "proj"          # manage.py
        self.package = self.project / "proj"    # settings.py, urls.py, …
        self.env = {key: value for key, value in os.environ.items()
                    if not key.startswith(("DJANGO_", "CELERY_", "ABMCRM_", "DATABASE_"))
                    and key not in ("PYTHONPATH", "PYTHONSTARTUP")}
        # The installed wheel first; the checkout is not on the path (its editable install
        # comes after PYTHONPATH, and nothing runs from inside it).
        self.env.update(PYTHONPATH=str(site), PIP_DISABLE_PIP_VERSION_CHECK="1")
        self.processes = []

    def argv(self, words):
        """A documented command as this venv runs it."""
        program, *rest = words
        if program == "python":
            return [sys.executable, *rest]
        if program in ("celery", "django-admin"):
            return [sys.executable, "-m", {"celery": "celery", "django-admin": "django"}[
                program], *rest]
        raise AssertionError(f"the guide runs {program!r}, which this test does not know")

    def run(self, words, **kwargs):
        result = subprocess.run(self.argv(words), cwd=self.project, env=self.env,
                                capture_output=True, text=True, timeout=600, **kwargs)
        assert result.returncode == 0, (
            f"`{shlex.join(words)}` failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result

    def start(self, argv, log):
        handle = open(log, "ab")  # noqa: SIM115 - closed when the process is stopped
        process = subprocess.Popen(argv, cwd=self.project, env=self.env, stdout=handle,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append((process, handle))
        return process

    def stop(self):
        for process, handle in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            handle.close()


def build_and_install(tmp):
    """Build the wheel from a copy of the source tree (a stale build/ in the checkout must
    not leak into it) and install it, without dependencies, into tmp/site."""
    source, dist, site = tmp / "src", tmp / "dist", tmp / "site"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", dist, source],
                   check=True, capture_output=True, timeout=300)
    (wheel,) = dist.glob("abmcrm-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--no-index", "--target", site, wheel],
                   check=True, capture_output=True, timeout=300)
    return site


def harness(tmp, database_name):
    """What this machine needs and a real project configures for itself: the database (on
    the PostgreSQL leg), the broker (the given Redis, else kombu's filesystem transport, which
    needs no server) on a queue of its own, and a folder for the mail."""
    lines = ["", "# ---- tests/install: this machine's database, broker and mail ----"]
    database_url = os.environ.get("DATABASE_URL", "")
    if database_url.startswith("postgres"):
        parts = urlsplit(database_url)
        lines.append("DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql', "
                     f"'NAME': {database_name!r}, 'USER': {parts.username or ''!r}, "
                     f"'PASSWORD': {parts.password or ''!r}, 'HOST': {parts.hostname or ''!r}, "
                     f"'PORT': {str(parts.port or '')!r}}}}}")
    broker = os.environ.get("CELERY_BROKER_URL")
    if broker:
        lines.append(f"CELERY_BROKER_URL = {broker!r}")
    else:
        folder = tmp / "broker"
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True)
        lines += ["CELERY_BROKER_URL = 'filesystem://localhost/'",
                  "CELERY_BROKER_TRANSPORT_OPTIONS = {"
                  f"'data_folder_in': {str(folder / 'queue')!r}, "
                  f"'data_folder_out': {str(folder / 'queue')!r}, "
                  f"'processed_folder': {str(folder / 'processed')!r}, "
                  f"'control_folder': {str(folder / 'control')!r}}}",
                  "CELERY_WORKER_ENABLE_REMOTE_CONTROL = False"]
    lines += ["CELERY_TASK_DEFAULT_QUEUE = 'abmcrm-install-test'",
              "EMAIL_BACKEND = 'django.core.mail.backends.filebased.EmailBackend'",
              f"EMAIL_FILE_PATH = {str(tmp / 'mail')!r}", ""]
    return "\n".join(lines)


class PostgresDatabase:
    """A database of its own for the host on the PostgreSQL leg (dropped afterwards)."""

    def __init__(self):
        url = os.environ.get("DATABASE_URL", "")
        self.url = urlsplit(url) if url.startswith("postgres") else None
        self.name = f"{(self.url.path.lstrip('/') if self.url else 'abmcrm')}_install_host"

    def _execute(self, statement):
        import psycopg

        with psycopg.connect(host=self.url.hostname, port=self.url.port or 5432,
                             user=self.url.username, password=self.url.password,
                             dbname="postgres", autocommit=True) as connection:
            connection.execute(statement)

    def __enter__(self):
        if self.url:
            self._execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            self._execute(f'CREATE DATABASE "{self.name}"')
        return self

    def __exit__(self, *exc):
        if self.url:
            self._execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def wait_until(predicate, what, timeout=90, process_logs=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    logs = "\n".join(f"--- {log}:\n{Path(log).read_text()[-3000:]}" for log in process_logs)
    pytest.fail(f"timed out waiting for {what}\n{logs}")


def serving(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_install_as_documented_then_a_rep_orders_and_a_marketer_approves(tmp_path, browser):
    site = build_and_install(tmp_path)
    host = Host(tmp_path / "host", site)
    host.folder.mkdir()
    subprocess.run(host.argv(["django-admin", "startproject", "proj"]), cwd=host.folder,
                   env=host.env, check=True, timeout=60)

    # The installed wheel is what the host imports, not this checkout.
    where = host.run(["python", "-c", "import abmcrm, tiers, programs, funnel; "
                                      "print(abmcrm.__file__, tiers.__file__)"]).stdout
    assert all(path.startswith(str(site)) for path in where.split()), where
    assert (site / "tiers" / "demo_data" / "accounts.csv").exists()

    with PostgresDatabase() as database:
        # The documented steps, and nothing else but this machine's harness.
        settings = host.package / "settings.py"
        settings.write_text(settings.read_text() + "\n" + "\n".join(guide_blocks("settings"))
                            + harness(tmp_path, database.name))
        urls = host.package / "urls.py"
        urls.write_text(urls.read_text() + "\n" + "\n".join(guide_blocks("urls")))
        (host.package / "celery.py").write_text("\n".join(guide_blocks("celery")))
        init = host.package / "__init__.py"
        init.write_text(init.read_text() + "\n".join(guide_blocks("init")))

        for words in commands("run"):
            result = host.run(words)
            if words[1:3] == ["manage.py", "check"]:
                assert "System check identified no issues" in result.stdout, result.stdout

        schedule = host.run(["python", "-c", "from proj.celery import app; "
                                             "print(sorted(app.conf.beat_schedule))"]).stdout
        assert "abmcrm-recompute-tiers" in schedule and "abmcrm-redrive" in schedule

        port = free_port()
        worker_log, web_log = tmp_path / "worker.log", tmp_path / "web.log"
        try:
            for words in commands("serve"):
                if words[0] == "celery":
                    assert words[1:4] == ["-A", "proj", "worker"], words
                    host.start(host.argv(words) + [
                        "--pool", "threads", "--concurrency", "2", "--without-gossip",
                        "--without-mingle", "--without-heartbeat",
                        "--schedule", str(tmp_path / "celerybeat-schedule")], worker_log)
                else:
                    assert words == ["python", "manage.py", "runserver"], words
                    host.start(host.argv(words) + [f"127.0.0.1:{port}", "--noreload"], web_log)
            logs = (worker_log, web_log)
            wait_until(lambda: b"ready." in worker_log.read_bytes(), "the worker",
                       process_logs=logs)
            wait_until(lambda: serving(port), "runserver", process_logs=logs)
            api_token_round_trip(f"http://127.0.0.1:{port}")
            order_and_approve(browser, f"http://127.0.0.1:{port}", tmp_path, logs)
        finally:
            host.stop()


def api_token_round_trip(base_url):
    """Over real HTTP: a token for the rep, the API with it, and its revocation."""
    import json
    import urllib.error
    import urllib.request

    def call(method, path, body=None, token=None):
        request = urllib.request.Request(
            base_url + path, method=method, data=json.dumps(body).encode() if body else None,
            headers={"Content-Type": "application/json",
                     **({"Authorization": f"Token {token}"} if token else {})})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    status, body = call("POST", "/api/v1/auth/token/",
                        {"username": "rep", "password": "rep-demo"})
    assert status == 200, body
    token = json.loads(body)["token"]
    status, body = call("GET", "/api/v1/accounts/?page_size=1", token=token)
    assert status == 200 and json.loads(body)["count"] > 0
    assert call("POST", "/api/v1/auth/token/revoke/", token=token)[0] == 204
    assert call("GET", "/api/v1/accounts/", token=token)[0] == 401


def order_and_approve(browser, base_url, tmp_path, logs):
    context = browser.new_context(base_url=base_url)
    try:
        context.set_default_timeout(30_000)
        page = context.new_page()
        failed, csp_errors = [], []
        page.on("response", lambda response: response.status >= 400 and failed.append(
            f"{response.status} {response.url}"))
        page.on("console", lambda message: "Content Security Policy" in message.text
                and csp_errors.append(message.text))

        # An anonymous visitor is sent to abmcrm's login page (not /accounts/login/).
        response = page.goto("/")
        assert "/login/?next=/" in page.url
        assert "script-src 'self'" in response.headers["content-security-policy"]
        log_in(page, "rep", "rep-demo")
        assert page.url.endswith("/accounts/")
        assert "Sales rep" in page.inner_text("header")
        # The package's stylesheet is served: the page is styled.
        assert page.evaluate("getComputedStyle(document.body).margin") == "0px"

        # The API docs: Swagger UI from the sidecar's files, under the CSP.
        page.goto("/api/v1/docs/")
        page.wait_for_selector(".opblock-tag")
        page.click("text=Back to abmcrm")
        page.wait_for_load_state()

        placed = order_two_programs(page)

        page.click("button:has-text('Log out')")
        page.wait_for_load_state()
        log_in(page, "marketer", "marketer-demo")
        page.goto("/orders/approvals/")
        page.check(f"#order-{placed[0]}")
        page.click("button:has-text('Approve selected')")
        page.wait_for_load_state()
        assert "1 order approved" in page.inner_text(".messages")

        assert failed == [] and csp_errors == []
    finally:
        context.close()

    # The worker (not the web process) mailed the rep about the approval.
    wait_until(lambda: any("Approved:" in mail.read_text()
                           for mail in (tmp_path / "mail").glob("*.log")),
               "the approval e-mail", process_logs=logs)
    worker = logs[0].read_text()
    assert re.search(r"Task programs\.tasks\.notify_order_status\[[\w-]+\] succeeded", worker), \
        worker[-3000:]


def log_in(page, username, password):
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def order_two_programs(page):
    """On one of the rep's Tier 1 accounts, tick two programs that wait for approval and
    order them; returns the new orders' ids."""
    page.goto("/accounts/?tier=1")
    accounts = page.eval_on_selector_all("tbody tr a[href^='/accounts/']",
                                         "links => links.map(link => link.pathname)")
    assert accounts, "the rep has no Tier 1 account"
    for account in dict.fromkeys(accounts):
        page.goto(f"{account}programs/")
        rows = page.locator("form.menu tr.menu-item:not(.disabled)").filter(
            has_not_text="approved at once")
        if rows.count() < 2:
            continue
        for index in range(2):
            row = rows.nth(index)
            row.locator("input[type=checkbox]").check()
            recipient = row.locator("select[data-recipient]")
            if recipient.count():  # a program sent to a person: one with an address
                names = recipient.locator("option").all_inner_texts()
                recipient.select_option(index=next(
                    i for i, name in enumerate(names) if i and "no address" not in name))
        page.fill("#note", "Ordered by the install test")
        page.click("button:has-text('Order selected programs')")
        page.wait_for_load_state()
        placed = page.locator("#placed tr[data-order]")
        assert placed.count() == 2, page.inner_text("main")
        assert page.inner_text("#placed").count("Requested") == 2
        return [placed.nth(i).get_attribute("data-order") for i in range(2)]
    pytest.fail("no Tier 1 account of the rep has two programs left to order")
