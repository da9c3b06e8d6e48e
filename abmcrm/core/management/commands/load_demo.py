from django.apps import apps
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string

from abmcrm.core.demo import DEMO_USERS


class Command(BaseCommand):
    help = ("Load realistic demo data (accounts, contacts, demo users, and whatever each "
            "installed abmcrm app adds). Safe to run again: it changes nothing the second time.")

    def handle(self, *args, **options):
        for config in apps.get_app_configs():
            for path in getattr(config, "demo_loaders", ()):
                self.stdout.write(f"{config.verbose_name}: ", ending="")
                import_string(path)(stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("\nDemo users (username / password):"))
        for username, role, password, _ in DEMO_USERS:
            self.stdout.write(f"  {role:<10} {username} / {password}")
