"""The reference project's production settings: check --deploy, the secret key, static files."""
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.django_db


def test_deploy_check_is_clean_with_production_settings():
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env = {**env, "DJANGO_SETTINGS_MODULE": "abmcrm.settings",
           "DJANGO_SECRET_KEY": "x" * 60 + "-not-a-real-secret-but-long-enough",
           "DJANGO_DEBUG": "0", "DJANGO_ALLOWED_HOSTS": "abm.example.com"}
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy",
                             "--fail-level", "WARNING"], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout

def test_missing_secret_key_is_refused_when_debug_is_off():
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SECRET_KEY", "DJANGO_DEBUG")}
    env["DJANGO_SETTINGS_MODULE"] = "abmcrm.settings"
    result = subprocess.run([sys.executable, "manage.py", "check"], env=env,
                            capture_output=True, text=True)
    assert result.returncode != 0 and "DJANGO_SECRET_KEY must be set" in result.stderr

def test_production_pages_render_after_collectstatic(tmp_path):
    """Manifest static storage in production: the stylesheet must be found and collected."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update({"DJANGO_SETTINGS_MODULE": "abmcrm.settings", "DJANGO_SECRET_KEY": "y" * 60,
                "DJANGO_ALLOWED_HOSTS": "testserver", "DJANGO_STATIC_ROOT": str(tmp_path)})
    collect = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput"],
                             env=env, capture_output=True, text=True)
    assert collect.returncode == 0, collect.stderr
    assert (tmp_path / "staticfiles.json").exists()
    assert list(tmp_path.glob("abmcrm/site.*.css"))
    assert list(tmp_path.glob("drf_spectacular_sidecar/swagger-ui-dist/*.js"))
    script = ("import django; django.setup();"
              "from django.test import Client;"
              "r = Client().get('/login/', secure=True);"
              "print(r.status_code, 'site.' in r.content.decode())")
    page = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True)
    assert page.stdout.split() == ["200", "True"], page.stderr[-2000:]
