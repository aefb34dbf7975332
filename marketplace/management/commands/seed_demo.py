"""Seed the demo: a provider, an agent operator and an advertiser, with a fresh agent key."""

from django.core.management.base import BaseCommand
from django.db import transaction

from marketplace import services
from marketplace.models import APIKey, Membership, Organization, User

DEMO_PASSWORD = "provenant-demo"  # noqa: S105 - a documented demo login, printed on purpose
DEMO_KEY_NAME = "Demo agent key"
DEMO_ACCOUNTS = [
    ("provider@demo.provenant.dev", "Northwind Press", ("provider",)),
    ("agent@demo.provenant.dev", "Acme Agents", ("agent",)),
    ("advertiser@demo.provenant.dev", "Brightside Ads", ("advertiser",)),
]


class Command(BaseCommand):
    help = "Create the demo organizations and logins (idempotent) and print a fresh agent API key."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="http://127.0.0.1:8000")

    def handle(self, *args, host, **options):
        with transaction.atomic():
            orgs = {}
            for email, org_name, roles in DEMO_ACCOUNTS:
                user = User.objects.filter(email=email).first()
                if user is None:
                    user = User.objects.create_user(email=email, password=DEMO_PASSWORD)
                org = Organization.objects.filter(memberships__user=user, name=org_name).first()
                if org is None:
                    org_info = services.create_organization(
                        user_id=user.pk, name=org_name, roles=roles
                    )
                    org = Organization.objects.get(id=org_info.id)
                Membership.objects.get_or_create(
                    organization=org, user=user, defaults={"role": Membership.Role.OWNER}
                )
                orgs[roles[0]] = (user, org)

            agent_user, agent_org = orgs["agent"]
            actor = services.actor_for_user(user_id=agent_user.pk)
            # Keys are stored hashed, so each seed revokes the old demo key and prints a new one.
            for key in APIKey.objects.filter(
                organization=agent_org, name=DEMO_KEY_NAME, revoked_at__isnull=True
            ):
                services.revoke_api_key(
                    actor=actor, organization_id=agent_org.id, api_key_id=key.id
                )
            created = services.create_api_key(
                actor=actor, organization_id=agent_org.id, name=DEMO_KEY_NAME
            )

        out = self.stdout
        out.write("")
        out.write("Provenant demo is ready.")
        out.write(f"  Portal:   {host}/   (API docs: {host}/api/docs/)")
        for email, org_name, _roles in DEMO_ACCOUNTS:
            out.write(f"  Login:    {email} / {DEMO_PASSWORD}   ({org_name})")
        out.write("")
        out.write("The demo agent's API key (shown once; `make run` prints a new one each time):")
        out.write(f"PROVENANT_API_KEY={created.secret}")
        out.write("")
        out.write("Try it:")
        out.write(
            f'  curl -s -H "Authorization: Bearer {created.secret}" {host}/api/v1/organizations'
        )
        out.write("")
