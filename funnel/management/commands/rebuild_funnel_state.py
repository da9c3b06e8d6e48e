from django.core.management.base import BaseCommand

from funnel import services


class Command(BaseCommand):
    help = ("Rebuild the funnel state rows' first-reached times (what the funnel report reads) "
            "from the transitions' history. Safe to run again: rows already right are left "
            "alone.")

    def handle(self, **options):
        changed = services.funnel_state_rebuild()
        self.stdout.write(self.style.SUCCESS(
            f"Rebuilt from history: {changed['accounts']} account state rows and "
            f"{changed['leads']} lead rows changed."))
