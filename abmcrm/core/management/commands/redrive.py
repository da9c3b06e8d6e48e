from django.core.management.base import BaseCommand, CommandError

from abmcrm.core.redrive import redrive_all


class Command(BaseCommand):
    help = ("Run every sweeper once: queue again the work whose task never ran or whose worker "
            "died (background jobs, provider fulfillments, and what other apps add). Beat runs "
            "the same periodically (task abmcrm.core.tasks.redrive).")

    def handle(self, *args, **options):
        failed = []
        for name, counts, error in redrive_all():
            if error:
                failed.append(name)
                self.stderr.write(self.style.ERROR(f"{name}: failed: {error}"))
                continue
            summary = ", ".join(f"{what} {count}" for what, count in counts.items())
            self.stdout.write(f"{name}: {summary or 'nothing to do'}")
        if failed:
            raise CommandError(f"Sweeper(s) failed: {', '.join(failed)} (see above).")
