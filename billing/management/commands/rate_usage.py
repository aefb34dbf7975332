"""`manage.py rate_usage`: rate usage into the ledger and charge due agreements now."""

from django.core.management.base import BaseCommand

from billing import services


class Command(BaseCommand):
    help = "Rate usage events not yet rated, and charge due subscription periods and purchases."

    def add_arguments(self, parser):
        parser.add_argument(
            "--from-id",
            type=int,
            default=None,
            help="Re-rate every event after this id (what was rated stays as it is).",
        )

    def handle(self, *args, **options):
        run = services.rate_usage(from_id=options["from_id"])
        charges = services.charge_agreements()
        self.stdout.write(
            f"rated {run.events} events: {run.written} transactions written, "
            f"{run.already_rated} already rated, {run.reversed} voided charges reversed; "
            f"agreements: {charges.charged} charged, {charges.renewed} renewed, "
            f"{charges.unpaid} unpaid, {charges.lapsed} lapsed"
        )
