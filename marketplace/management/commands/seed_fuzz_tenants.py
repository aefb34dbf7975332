"""Seed the demo and print two tenants' API keys for the API fuzzer (tests/fuzz)."""

from django.core.management.base import BaseCommand

from accounts import services as accounts
from accounts.models import Membership, Organization
from marketplace import demo

FUZZ_KEY_NAME = "Fuzzing key"


class Command(BaseCommand):
    help = "Seed the demo marketplace and print PROVIDER_KEY=... and AGENT_KEY=... lines."

    def handle(self, *args, **options):
        catalog = demo.load_catalog()
        demo.seed_demo(catalog)
        emails = {
            accounts.PROVIDER: catalog.providers[0].account.email,
            accounts.AGENT: catalog.agent.email,
        }
        for tenant, email in emails.items():
            membership = Membership.objects.select_related("user", "organization").get(
                user__email=email, role=Membership.Role.OWNER
            )
            org: Organization = membership.organization
            created = accounts.create_api_key(
                actor=accounts.actor_for_user(user_id=membership.user.pk),
                organization_id=org.id,
                name=FUZZ_KEY_NAME,
                # No `admin`: a fuzzer holding it would revoke its own key half-way through.
                scopes=list(accounts.SCOPES_BY_ROLE[tenant]),
            )
            self.stdout.write(f"{tenant.upper()}_KEY={created.secret}")
