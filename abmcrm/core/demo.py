"""The demo users, one per role (`manage.py load_demo`); idempotent."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from . import roles

DEMO_USERS = [
    # username, role, password, is_staff
    ("admin", roles.ABM_ADMIN, "abm-admin-demo", True),
    ("marketer", roles.MARKETER, "marketer-demo", True),
    ("rep", roles.SALES_REP, "rep-demo", False),
]


def load_users(stdout=None):
    """Create (or reset) the demo users; returns {username: user}.

    A password already right is not set again: a new hash (new salt) would change the
    session hash Django keeps in every session, and log out whoever is using the demo."""
    User = get_user_model()
    users = {}
    for username, role, password, is_staff in DEMO_USERS:
        user, _ = User.objects.get_or_create(username=username,
                                             defaults={"email": f"{username}@example.com"})
        changed = []
        if not user.check_password(password):
            user.set_password(password)
            changed.append("password")
        if user.is_staff != is_staff or not user.is_active:
            user.is_staff, user.is_active = is_staff, True
            changed += ["is_staff", "is_active"]
        if changed:
            user.save(update_fields=changed)
        user.groups.add(Group.objects.get(name=role))
        users[username] = user
    if stdout:
        stdout.write(f"{len(users)} demo users.")
    return users


def demo_users():
    """{username: user} of the demo users, as `load_users` left them."""
    names = [username for username, *_ in DEMO_USERS]
    return {user.username: user for user in get_user_model().objects.filter(username__in=names)}
