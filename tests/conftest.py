import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from tests import factories

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _empty_caches():
    """Throttle counts (failed log-ins, per-user rates) do not carry over between tests."""
    from django.core.cache import caches

    for cache in caches.all(initialized_only=True):
        cache.clear()
    yield


@pytest.fixture
def rep(db):
    return factories.RepFactory(username="rep1")


@pytest.fixture
def other_rep(db):
    return factories.RepFactory(username="rep2")


@pytest.fixture
def marketer(db):
    return factories.MarketerFactory(username="marketer1")


@pytest.fixture
def abm_admin(db):
    return factories.AdminFactory(username="admin1")


@pytest.fixture
def nobody(db):
    """Logged in but with no abmcrm role."""
    return factories.UserFactory(username="norole")


@pytest.fixture
def api():
    """An API client; `api.as_user(user)` authenticates it."""
    client = APIClient()

    def as_user(user):
        client.force_authenticate(user)
        return client

    client.as_user = as_user
    return client


def _stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class WorkerProcess:
    """A real `celery worker` process on the test database and the configured broker."""

    def __init__(self, db_name, log_path, concurrency=2, pool="threads"):
        self.db_name, self.log_path = db_name, log_path
        self.concurrency, self.pool = concurrency, pool
        self.process = None

    def start(self):
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings",
               "ABMCRM_TEST_DB_NAME": self.db_name, "PYTHONPATH": str(ROOT)}
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "abmcrm", "worker", "--loglevel", "INFO",
             "--pool", self.pool, "--concurrency", str(self.concurrency), "--without-gossip",
             "--without-mingle", "--without-heartbeat", "--hostname", f"test{os.getpid()}@%h"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited: {Path(self.log_path).read_text()[-2000:]}")
            if b"ready." in Path(self.log_path).read_bytes():
                return self
            time.sleep(0.2)
        raise RuntimeError(f"worker not ready: {Path(self.log_path).read_text()[-2000:]}")

    def kill(self):
        """SIGKILL the whole worker, as a crash would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self):
        _stop(self.process)
        self.log.close()


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    """Start a real worker process; tasks are queued on the real broker (not run eagerly).

    Uses `transactional_db` so that what the test writes is committed and visible to it."""
    from django.db import connection

    from abmcrm.celery import app

    _purge_broker(app)
    app.conf.task_always_eager = False
    worker = WorkerProcess(connection.settings_dict["NAME"], tmp_path / "worker.log").start()
    try:
        yield worker
    finally:
        worker.stop()
        app.conf.task_always_eager = True
        _purge_broker(app)


def _purge_broker(app):
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
    else:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge("celery")


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser(_serialized_db_contents):
    """Debian's Chromium driven by Playwright's sync API, one for the whole run (the pages'
    tests in tests/browser/ and the install test share it: a second sync Playwright cannot
    start while one runs)."""
    if not shutil.which(CHROMIUM):
        pytest.fail("Debian's chromium is missing: `apt-get install chromium` (.ci/run does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        # From here on the test runs in Playwright's context, whose connection object is not
        # the one Django gave the serialized database contents to. This session fixture is
        # set up before the first browser test's database fixture, which restores the
        # reference rows a previous transactional test flushed: it needs them here.
        from django.db import connections

        if _serialized_db_contents is not None:
            connections["default"]._test_serialized_contents = _serialized_db_contents
        yield browser
        browser.close()


def fire_together(calls):
    """Run each call in its own thread, all released at once (a barrier), each on its own
    database connection; return their results in order, an exception standing for a call
    that raised (the caller's assertions report it)."""
    import threading

    from django.db import connections

    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=30)
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - reported by the assertions, never swallowed
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def wait_for(predicate, timeout=30, interval=0.2):
    """Poll until predicate() is truthy; returns its value or fails the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {predicate.__doc__ or predicate}")


TRANSACTIONAL_FIXTURES = {"transactional_db", "live_server", "celery_worker_process"}


@pytest.fixture(scope="session")
def _serialized_db_contents(django_db_setup, django_db_blocker):
    from django.db import connections

    return getattr(connections["default"], "_test_serialized_contents", None)


@pytest.fixture(autouse=True)
def _site_language():
    """Each test starts in the site's language: a request's LocaleMiddleware activates the
    language it negotiated for the rest of the thread, so an earlier test's Korean request
    would otherwise translate the next test's messages."""
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache (lists cache their long counts)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _share_serialized_db_contents(request, _serialized_db_contents):
    """Django keeps the serialized contents on the connection object, which is per context;
    Playwright's sync API runs the test in another context, whose connection lacks them."""
    from django.db import connections

    if _serialized_db_contents is not None:
        connections["default"]._test_serialized_contents = _serialized_db_contents


def pytest_collection_modifyitems(items):
    """Transactional tests flush the database afterwards, which would also wipe the
    reference rows that data migrations create (roles, tiers, stages…): have them restored."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        kwargs = dict(marker.kwargs) if marker else {}
        fixturenames = set(getattr(item, "fixturenames", ()))
        if kwargs.get("transaction") or TRANSACTIONAL_FIXTURES & fixturenames:
            kwargs["serialized_rollback"] = True
            item.add_marker(pytest.mark.django_db(**kwargs), append=False)
