from django.core.management.base import BaseCommand, CommandError

from tiers import services
from tiers.models import Account, RecomputeJob


class Command(BaseCommand):
    help = ("Rescore (fit, intent, engagement) and retier all accounts, or the given ones, in "
            "the foreground with a progress bar. Same rules as the periodic task and the API.")

    def add_arguments(self, parser):
        parser.add_argument("--accounts", nargs="+", type=int, metavar="ID",
                            help="Only these account ids (default: every account).")

    def handle(self, accounts=None, **options):
        if accounts:
            found = set(Account.objects.filter(pk__in=accounts).values_list("pk", flat=True))
            missing = sorted(set(accounts) - found)
            if missing:
                raise CommandError(f"No account with id {', '.join(map(str, missing))}.")
        job = RecomputeJob.objects.create(account_ids=accounts or None)
        job = services.recompute_run(job=job, progress=self._progress)
        self.stdout.write("")
        result = job.result
        self.stdout.write(self.style.SUCCESS(
            f"Recompute #{job.pk}: {result['accounts']} accounts scored, "
            f"{result['scores_changed']} with new scores, {result['newly_engaged']} newly "
            f"engaged, {result['tier_changes']} tier changes."
        ))
        for number, report in sorted(result["overflow"].items()):
            self.stdout.write(self.style.WARNING(
                f"Tier {number} is full (capacity {report['capacity']}): {report['count']} "
                f"qualifying account(s) left out, e.g. {report['accounts'][:10]}."
            ))

    def _progress(self, done, total):
        total = total or 1
        width = 30
        filled = int(width * min(done, total) / total)
        self.stdout.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} accounts",
                          ending="")
        self.stdout.flush()
