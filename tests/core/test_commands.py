"""The core's management commands (load_demo, create_user) and the roles they rely on."""
import io

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
