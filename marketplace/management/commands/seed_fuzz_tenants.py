"""Seed the demo and print three tenants' API keys for the API fuzzer (tests/fuzz)."""

from django.core.management.base import BaseCommand

from accounts import services as accounts
from accounts.models import Membership, Organization
from ads import services as ads
from marketplace import demo

FUZZ_KEY_NAME = "Fuzzing key"


class Command(BaseCommand):
    help = (
        "Seed the demo marketplace and print PROVIDER_KEY=..., AGENT_KEY=... and "
        "ADVERTISER_KEY=... lines."
    )

    def handle(self, *args, **options):
        catalog = demo.load_catalog()
        demo.seed_demo(catalog)
        emails = {
            accounts.PROVIDER: catalog.providers[0].account.email,
            accounts.AGENT: catalog.agent.email,
        }
        owners = {}
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
            owners[tenant] = membership.user.pk
        # The agent's owner also runs an advertiser (one person, several organizations).
        self._advertiser(owner_id=owners[accounts.AGENT])

    def _advertiser(self, *, owner_id: int) -> None:
        """Add an advertiser organization (with one campaign) for the ads operations."""
        owner = accounts.actor_for_user(user_id=owner_id)
        org = accounts.create_organization(
            user_id=owner_id, name="Fuzz Advertiser", roles=[accounts.ADVERTISER]
        )
        ads.create_campaign(
            actor=owner, organization_id=org.id, name="Fuzz", total_budget_micros=10**12
        )
        created = accounts.create_api_key(
            actor=owner,
            organization_id=org.id,
            name=FUZZ_KEY_NAME,
            scopes=list(accounts.SCOPES_BY_ROLE[accounts.ADVERTISER]),
        )
        self.stdout.write(f"ADVERTISER_KEY={created.secret}")
