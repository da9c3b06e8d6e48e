from django.core.management.base import BaseCommand

from programs.fulfillment.dispatch import fulfillment_redrive


class Command(BaseCommand):
    help = ("Queue again the provider orders that were approved but never queued (the broker "
            "was down), and those stuck in progress (asking the provider first).")

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than", type=float, default=None, metavar="SECONDS",
            help="Treat as stuck what has not moved for this long (default: "
                 "ABMCRM_FULFILLMENT_STUCK_AFTER). 0 takes everything in flight.",
        )

    def handle(self, *args, older_than=None, **options):
        counts = fulfillment_redrive(older_than=older_than)
        self.stdout.write(f"Queued {counts['queued']} fulfillment(s); "
                          f"{counts['not_queued']} could not be queued.")
        return None
