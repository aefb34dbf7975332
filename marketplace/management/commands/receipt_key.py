"""Make a receipt signing key, or show the public key of one (for a key rotation)."""

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from marketplace.services import receipts


class Command(BaseCommand):
    help = (
        "Print a new RECEIPT_SIGNING_KEY with its public key and key id. With --public KEY, "
        "print the public key of an existing signing key: after a rotation, add it to "
        "RECEIPT_PREVIOUS_PUBLIC_KEYS so the receipts it signed still verify."
    )

    def add_arguments(self, parser):
        parser.add_argument("--public", metavar="SIGNING_KEY", help="an existing signing key")

    def handle(self, *args, **options):
        if options["public"]:
            try:
                key = receipts.public_key_of(options["public"])
            except ImproperlyConfigured as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"RECEIPT_PREVIOUS_PUBLIC_KEYS entry: {key.public_key}")
            self.stdout.write(f"key id: {key.key_id}")
            return
        signing_key = receipts.new_signing_key()
        key = receipts.public_key_of(signing_key)
        self.stdout.write(f"RECEIPT_SIGNING_KEY={signing_key}")
        self.stdout.write(f"public key: {key.public_key}")
        self.stdout.write(f"key id: {key.key_id}")
