"""The demo users: loading them again keeps everyone who is using the demo logged in."""

import pytest

from abmcrm.core.demo import load_users

pytestmark = pytest.mark.django_db


def test_reloading_the_demo_users_keeps_their_sessions(client):
    load_users()
    assert client.login(username="rep", password="rep-demo")
    assert client.get("/accounts/").status_code == 200

    load_users()  # `make demo` again, while the rep's browser is open

    assert client.get("/accounts/").status_code == 200


def test_reloading_resets_a_changed_password_and_staff_flag():
    users = load_users()
    users["marketer"].set_password("something-else-entirely")
    users["marketer"].is_staff = False
    users["marketer"].save()

    marketer = load_users()["marketer"]

    marketer.refresh_from_db()
    assert marketer.check_password("marketer-demo") and marketer.is_staff
