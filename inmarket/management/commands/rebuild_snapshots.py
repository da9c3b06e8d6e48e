from django.core.management.base import BaseCommand, CommandError

from inmarket import services


class Command(BaseCommand):
    help = ("Rebuild the in-market snapshots of past weeks from the raw events, intent "
            "signals, funnel transitions and deals (idempotent: the same rows again).")

    def add_arguments(self, parser):
        parser.add_argument("--weeks", type=int, default=52,
                            help="How many weeks before the current one (default 52).")

    def handle(self, *args, weeks, **options):
        if not 1 <= weeks <= 520:
            raise CommandError("--weeks must be between 1 and 520.")

        def progress(done, total):
            self.stdout.write(f"week {done}/{total}")

        result = services.snapshots_rebuild(weeks=weeks, progress=progress)
        self.stdout.write(self.style.SUCCESS(
            f"Rebuilt {result['rows']} snapshots over {result['weeks']} weeks."))
