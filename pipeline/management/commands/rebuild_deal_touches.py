from django.core.management.base import BaseCommand

from pipeline.services import deal_touches


class Command(BaseCommand):
    help = ("Compute the per-deal touch table that attribution reads (each deal's campaigns "
            "and their weight under each model) from the touches, milestones and deals. Run "
            "it once after installing or upgrading, and after changing "
            "ABMCRM_ATTRIBUTION_LOOKBACK_DAYS, ABMCRM_ATTRIBUTION_HALF_LIFE_DAYS or the "
            "funnel's handoff stage; until then attribution computes per request. Safe to "
            "run again.")

    def add_arguments(self, parser):
        parser.add_argument("--chunk", type=int, default=5000,
                            help="Accounts a transaction (default 5000).")

    def handle(self, **options):
        def progress(done, total):
            self.stdout.write(f"{done:,} / {total:,} accounts with deals")

        rows = deal_touches.deal_touches_rebuild(chunk=max(1, options["chunk"]),
                                                 progress=progress)
        self.stdout.write(self.style.SUCCESS(
            f"Rebuilt the deal touches: {rows:,} rows. Attribution reads them from now on."))
