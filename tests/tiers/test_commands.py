import io
import os
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from abmcrm.core import roles
from abmcrm.core.demo import DEMO_USERS
from tiers.models import Account, Contact

pytestmark = pytest.mark.django_db


class TestLoadDemo:
    def test_loads_realistic_data_idempotently(self):
        out = io.StringIO()
        call_command("load_demo", stdout=out)
        accounts, contacts = Account.objects.count(), Contact.objects.count()
        assert 190 <= accounts <= 260
        assert contacts >= accounts * 2
        assert Account.objects.values("industry").distinct().count() >= 8
        assert Account.objects.values("country").distinct().count() >= 10
        assert not Account.objects.filter(owner__isnull=True).exists()
        assert Contact.objects.values("buying_role").distinct().count() >= 5
        for username, role, password, _ in DEMO_USERS:
            assert f"{username} / {password}" in out.getvalue()
            user = get_user_model().objects.get(username=username)
            assert user.check_password(password) and roles.has_role(user, role)
        rep = get_user_model().objects.get(username="rep")
        assert Account.objects.filter(owner=rep).count() >= 30

        call_command("load_demo", stdout=io.StringIO())
        assert (Account.objects.count(), Contact.objects.count()) == (accounts, contacts)


class TestCreateUser:
    def test_creates_user_with_role(self):
        out = io.StringIO()
        call_command("create_user", "mia", "--role", "marketer", "--email", "mia@x.com",
                     stdout=out)
        user = get_user_model().objects.get(username="mia")
        password = out.getvalue().rsplit("password: ", 1)[1].strip()
        assert user.check_password(password) and user.is_staff
        assert roles.has_role(user, roles.MARKETER) and not roles.is_abm_admin(user)
        call_command("create_user", "mia", "--role", "rep", "--password", "s3cret-pass",
                     stdout=io.StringIO())
        user.refresh_from_db()
        assert user.check_password("s3cret-pass") and not user.is_staff
        assert list(user.groups.values_list("name", flat=True)) == [roles.SALES_REP]

    def test_unknown_role_is_refused(self):
        with pytest.raises(CommandError):
            call_command("create_user", "x", "--role", "king")


class TestRoles:
    def test_groups_and_permissions(self):
        from django.contrib.auth.models import Group

        perms = {g.name: set(g.permissions.values_list("codename", flat=True))
                 for g in Group.objects.filter(name__in=roles.ROLES)}
        assert {"view_account", "change_account"} <= perms[roles.SALES_REP]
        assert "delete_account" not in perms[roles.SALES_REP]
        assert "view_account" in perms[roles.MARKETER]
        assert "change_account" not in perms[roles.MARKETER]
        assert {"add_account", "delete_account", "add_user"} <= perms[roles.ABM_ADMIN]

    def test_superuser_counts_as_admin(self):
        user = get_user_model().objects.create_superuser("root", "r@x.com", "pw")
        assert roles.is_abm_admin(user) and roles.is_marketer(user)


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
