"""Shared by the benchmarks that time the API over HTTP (`ordering.py`, `lists.py`): a scratch
PostgreSQL database next to DATABASE_URL, the reference project under gunicorn on a free
local port, a keep-alive client and percentiles."""

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scratch_database(url, suffix):
    """A fresh database `<name>_<suffix>` on the same server as DATABASE_URL: (its url, a drop
    function). The database DATABASE_URL names is never touched."""
    import psycopg

    parsed = urlparse(url)
    name = f"{parsed.path.lstrip('/') or 'postgres'}_{suffix}"
    admin_url = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return urlunparse(parsed._replace(path=f"/{name}")), drop


def server_env(database_url):
    """The environment of the reference project with production settings (DEBUG off) on the
    scratch database, tasks run in-process."""
    return {
        **os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "abmcrm.settings",
        "DJANGO_SECRET_KEY": "bench-only-not-a-secret", "DJANGO_DEBUG": "",
        "DJANGO_SECURE_SSL_REDIRECT": "0", "DJANGO_SECURE_COOKIES": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost", "DJANGO_LOG_LEVEL": "WARNING",
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "DATABASE_CONN_MAX_AGE": "600", "CELERY_TASK_ALWAYS_EAGER": "1",
        "PYTHONPATH": str(ROOT),
    }


def migrate(env):
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT,
                   env=env, check=True)


@contextmanager
def gunicorn(env, *, workers, threads=1):
    """The reference project under gunicorn on a free port; yields the port."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "abmcrm.wsgi:application", "--bind",
               f"127.0.0.1:{port}", "--workers", str(workers), "--log-level", "warning"]
    if threads > 1:
        command += ["--worker-class", "gthread", "--threads", str(threads)]
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.2)
        yield port
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


class Client:
    """One keep-alive connection with an API token."""

    def __init__(self, port, token):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def request(self, method, path, body=None):
        start = time.perf_counter()
        self.conn.request(method, path, body=json.dumps(body) if body is not None else None,
                          headers=self.headers)
        response = self.conn.getresponse()
        payload = response.read()
        elapsed = time.perf_counter() - start
        return response.status, payload, elapsed


def percentile(values, p):
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]
