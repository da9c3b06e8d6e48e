"""Which Celery app abmcrm's tasks are sent with (abmcrm/core/celery_app.py) and the beat
schedule (abmcrm.beat_schedule). Each case starts a fresh interpreter, as a host project's
process starts: what matters is what happens at import and set-up time."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

import abmcrm
from tests.conftest import ROOT

PROBE = """
import json, sys, threading, time
{before}
import django
django.setup()
from celery import current_app
from tiers.tasks import run_recompute

def publish():
    started = time.monotonic()
    try:
        run_recompute.delay(1)
        error = None
    except Exception as exc:
        error = f"{{type(exc).__name__}}: {{exc}}"
    return {{"app": run_recompute.app.main, "error": error,
             "seconds": time.monotonic() - started}}

result = {{}}
thread = threading.Thread(target=lambda: result.update(thread=publish()))
thread.start(); thread.join()
result["main"] = publish()
result["abmcrm_celery_imported"] = "abmcrm.celery" in sys.modules
print(json.dumps(result))
"""


def probe(tmp_path, *, settings_extra="", before=""):
    """Run PROBE under a settings module (the tests' settings plus `settings_extra`) with no
    broker in the environment; returns its JSON."""
    (tmp_path / "probe_settings.py").write_text(
        "from tests.settings import *  # noqa\n"
        "CELERY_TASK_ALWAYS_EAGER = False\n" + textwrap.dedent(settings_extra))
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("CELERY_", "DJANGO_SETTINGS"))}
    env.update(DJANGO_SETTINGS_MODULE="probe_settings", PYTHONPATH=f"{tmp_path}:{ROOT}",
               ABMCRM_VAR_DIR=str(tmp_path / "var"))
    result = subprocess.run([sys.executable, "-c", PROBE.format(before=before)], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_no_host_app_and_no_broker_fails_fast_never_the_default_broker(tmp_path):
    result = probe(tmp_path, settings_extra="del CELERY_BROKER_URL\n")
    for where in ("main", "thread"):
        published = result[where]
        assert published["app"] == "abmcrm"  # abmcrm's own app, not Celery's fallback
        assert published["error"].startswith("BrokerNotConfigured: No Celery broker is "
                                             "configured")
        assert "CELERY_BROKER_URL" in published["error"]
        assert published["seconds"] < 1  # no connection attempt to amqp://localhost


def test_no_host_app_uses_the_configured_broker_in_every_thread(tmp_path):
    (tmp_path / "broker").mkdir()
    result = probe(tmp_path, settings_extra=f"""
        CELERY_BROKER_URL = "filesystem://localhost/"
        CELERY_BROKER_TRANSPORT_OPTIONS = {{
            "data_folder_in": "{tmp_path}/broker", "data_folder_out": "{tmp_path}/broker",
            "control_folder": "{tmp_path}/broker"}}
    """)
    for where in ("main", "thread"):
        assert result[where] | {"seconds": 0} == {"app": "abmcrm", "error": None,
                                                  "seconds": 0}
    assert len(list((tmp_path / "broker").glob("*.msg"))) == 2  # both reached the broker


def test_a_host_app_is_kept_and_used_in_every_thread(tmp_path):
    """The usual host set-up (proj/celery.py imported from proj/__init__.py, before Django
    is set up). Celery itself would send from other threads with its fallback app."""
    result = probe(tmp_path, before="""
from celery import Celery
host = Celery("host", broker="memory://")
host.config_from_object("django.conf:settings", namespace="CELERY")
""")
    for where in ("main", "thread"):
        assert result[where]["app"] == "host" and result[where]["error"] is None
    assert not result["abmcrm_celery_imported"]


def test_import_abmcrm_has_no_side_effects():
    script = ("import sys, abmcrm; print(sorted(m for m in sys.modules "
              "if m.split('.')[0] in ('celery', 'django', 'kombu') or m.startswith('abmcrm')))")
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    assert result.stdout.strip() == "['abmcrm']", result.stderr


class TestBeatSchedule:
    def test_the_installed_apps_periodic_jobs(self, settings):
        settings.ABMCRM_REDRIVE_EVERY = 60
        assert abmcrm.beat_schedule() == {
            "abmcrm-recompute-tiers": {"task": "tiers.tasks.recompute_all",
                                       "schedule": 86400.0},
            "abmcrm-train-in-market": {"task": "inmarket.tasks.train_scheduled",
                                       "schedule": 604800.0},
            "abmcrm-redrive": {"task": "abmcrm.core.tasks.redrive", "schedule": 60.0},
            "abmcrm-alert-digests": {"task": "plays.tasks.send_digests", "schedule": 86400.0},
        }

    def test_only_for_installed_apps(self, installed_apps):
        installed_apps(["abmcrm.core", "tiers"])
        assert list(abmcrm.beat_schedule()) == ["abmcrm-recompute-tiers", "abmcrm-redrive"]
        installed_apps(["abmcrm.core"])
        assert list(abmcrm.beat_schedule()) == ["abmcrm-redrive"]

    def test_each_task_is_registered(self):
        from abmcrm.celery import app

        for entry in abmcrm.beat_schedule().values():
            assert entry["task"] in app.tasks

    def test_the_reference_app_schedules_them(self):
        from abmcrm.celery import app

        assert abmcrm.beat_schedule().items() <= app.conf.beat_schedule.items()


@pytest.fixture
def installed_apps(monkeypatch):
    """INSTALLED_APPS as beat_schedule() reads it: from the settings, not the app registry
    (it runs before Django is set up), so the registry is left alone."""
    from types import SimpleNamespace

    from abmcrm.core import schedule

    def install(names):
        monkeypatch.setattr(schedule, "django_settings", SimpleNamespace(INSTALLED_APPS=names))

    return install


@pytest.mark.parametrize("entry", ["tiers", "tiers.apps.TiersConfig"])
def test_an_app_config_path_counts_as_installed(installed_apps, entry):
    installed_apps(["abmcrm.core", entry, "tiersx"])
    assert list(abmcrm.beat_schedule()) == ["abmcrm-recompute-tiers", "abmcrm-redrive"]
