import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from abmcrm.core import roles

ROLE_NAMES = {"rep": roles.SALES_REP, "marketer": roles.MARKETER, "admin": roles.ABM_ADMIN}


class Command(BaseCommand):
    help = "Create (or update) a user with one of the roles: rep, marketer, admin."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", choices=sorted(ROLE_NAMES), required=True)
        parser.add_argument("--email", default="")
        parser.add_argument("--password", help="Default: a random one, printed once.")

    def handle(self, username, role, email, password, **options):
        try:
            group = Group.objects.get(name=ROLE_NAMES[role])
        except Group.DoesNotExist as exc:
            raise CommandError("Roles are missing: run `manage.py migrate` first.") from exc
        user, created = get_user_model().objects.get_or_create(username=username)
        password = password or secrets.token_urlsafe(12)
        user.set_password(password)
        if email:
            user.email = email
        # Marketers and admins use the Django admin; reps work in the pages.
        user.is_staff = role != "rep"
        user.save()
        user.groups.set([group])
        self.stdout.write(self.style.SUCCESS(
            f"{'Created' if created else 'Updated'} {username} ({ROLE_NAMES[role]}); "
            f"password: {password}"
        ))
