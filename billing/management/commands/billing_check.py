"""`manage.py billing_check`: verify the ledger; exit non-zero if anything is off."""

from django.core.management.base import BaseCommand, CommandError

from billing import services


class Command(BaseCommand):
    help = (
        "Check that every ledger transaction balances, that the trial balance is zero per "
        "currency, that balance rows match their entries, and that every rated usage event has "
        "exactly one transaction and every rating transaction its event."
    )

    def handle(self, *args, **options):
        report = services.check_ledger()
        trial = ", ".join(f"{c} {t}" for c, t in sorted(report.trial_balance.items())) or "empty"
        self.stdout.write(f"{report.transactions} transactions; trial balance: {trial}")
        if not report.ok:
            for problem in report.problems:
                self.stderr.write(problem)
            raise CommandError(f"billing_check: {len(report.problems)} problem(s)")
        self.stdout.write("billing_check: OK")
