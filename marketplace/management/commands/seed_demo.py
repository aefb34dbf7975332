"""Seed the demo marketplace (idempotent) and print logins, a fresh agent key and examples."""

import json
import time
from urllib.parse import quote_plus

from django.core.management.base import BaseCommand, CommandError

from accounts import services as accounts
from marketplace import demo

ANSWER_QUESTION = "How does a heat pump keep working in freezing weather?"
SEARCH_QUERY = "why does sourdough rise"
CHAT_QUESTION = "What does Cache-Control: no-cache mean, and how is it different from no-store?"
MCP_QUESTION = "How does caffeine keep you awake?"


class Command(BaseCommand):
    help = (
        "Create the demo providers, articles, license offers, agent agreements and logins "
        "(idempotent) and print a fresh agent API key with examples."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="http://127.0.0.1:8000")

    def handle(self, *args, host, **options):
        started = time.monotonic()
        try:
            summary = demo.seed_demo()
        except demo.DemoContentError as exc:
            raise CommandError(str(exc)) from exc
        elapsed_s = time.monotonic() - started
        key = summary.api_key
        auth = f'-H "Authorization: Bearer {key}"'
        answer_body = json.dumps({"question": ANSWER_QUESTION})
        sponsored_body = json.dumps({"question": ANSWER_QUESTION, "allow_sponsored": True})
        chat = (
            f"from openai import OpenAI; "
            f'client = OpenAI(base_url="{host}/v1", api_key="{key}"); '
            f'r = client.chat.completions.create(model="provenant", '
            f'messages=[{{"role": "user", "content": "{CHAT_QUESTION}"}}]); '
            f"print(r.choices[0].message.content)"
        )

        out = self.stdout
        out.write("")
        out.write(f"Provenant demo is ready ({elapsed_s:.1f}s).")
        out.write(f"  Portal:   {host}/   (API docs: {host}/api/docs/)")
        for account in summary.accounts:
            out.write(f"  Login:    {account.email} / {demo.DEMO_PASSWORD}   ({account.org_name})")
        out.write(
            f"  Catalog:  {summary.providers} providers, {len(summary.collections)} collections, "
            f"{summary.documents} documents ({summary.documents_ingested} ingested now), "
            f"{len(summary.offers)} offers; Acme Agents holds {summary.agreements} licences."
        )
        if summary.usage is not None:
            earned = ", ".join(
                f"{name} ${micros / 1_000_000:.4f}"
                for name, micros in summary.usage.payable_micros.items()
            )
            out.write(
                f"  Billing:  {summary.usage.answers} demo answers asked now, "
                f"{summary.usage.rated} ledger transactions written; earned so far: {earned}."
            )
        if summary.ads is not None:
            funds = ", ".join(
                f"{name} ${micros / 1_000_000:.2f}"
                for name, micros in summary.ads.prepaid_micros.items()
            )
            out.write(
                f"  Ads:      {len(summary.ads.advertisers)} advertisers, "
                f"{summary.ads.approved_units} approved units; prepaid funds: {funds}."
            )
        if summary.operator_email:
            out.write(
                f"  Operator: {summary.operator_email} / {demo.DEMO_PASSWORD}   "
                f"(reviews ads at {host}/admin/)"
            )
        out.write("")
        out.write("The demo agent's API key (shown once; `make run` prints a new one each time):")
        out.write(f"PROVENANT_API_KEY={key}")
        out.write("")
        out.write("Try it:")
        out.write(f"  curl -s {auth} {host}/api/v1/organizations")
        out.write(
            f"  curl -s -X POST {host}/api/v1/answers {auth} "
            f"-H \"Content-Type: application/json\" -d '{answer_body}'"
        )
        out.write(
            f"  curl -s -X POST {host}/api/v1/answers {auth} "
            f"-H \"Content-Type: application/json\" -d '{sponsored_body}'"
            "   # the same answer, with a labelled sponsored item beside it"
        )
        out.write(f'  curl -s "{host}/api/v1/search?q={quote_plus(SEARCH_QUERY)}" {auth}')
        out.write(f"  .venv/bin/python -c '{chat}'   # the openai package is in .venv")
        out.write(
            f'  PROVENANT_API_KEY={key} .venv/bin/python examples/mcp_ask.py "{MCP_QUESTION}"'
            "   # MCP: the official mcp client runs `manage.py mcp_server` over stdio"
        )
        if summary.locked_document is not None:
            document_id, collection = summary.locked_document
            out.write(
                f"  curl -si {host}/api/v1/documents/{document_id}/content {auth}"
                f"   # 402 Payment Required: no licence for {collection} yet"
            )
        if summary.locked_offer_id is not None:
            accept_url = f"{host}/api/v1/market/offers/{summary.locked_offer_id}/accept"
            json_type = '-H "Content-Type: application/json"'
            out.write(
                f"  curl -s -X POST {accept_url} {auth} {json_type} -d '{{}}'"
                "   # subscribe: the first month is charged to the wallet now; the 402 above opens"
            )
        if summary.training_agreement_id is not None:
            export_url = f"{host}/api/v1/agreements/{summary.training_agreement_id}/dataset-export"
            out.write(
                f"  curl -s -X POST {export_url} {auth}"
                "   # the training licence it bought: a signed URL to a ZIP (JSONL + manifest)"
            )
        out.write("")
        out.write("What those answers cost, and earned:")
        out.write(f"  curl -s {host}/api/v1/usage {auth}   # the agent's spend by day, provider")
        out.write(f"  curl -s {host}/api/v1/billing/balance {auth}   # wallet, owed, earned")
        provider = next((a for a in summary.accounts if accounts.PROVIDER in a.roles), None)
        if provider is not None:
            out.write(
                f"  log in at {host}/login/ as {provider.email} and open "
                f"{host}/api/v1/provider/usage/events   # {provider.org_name}'s earnings, per use"
            )
        advertiser = next((a for a in summary.accounts if accounts.ADVERTISER in a.roles), None)
        if advertiser is not None:
            out.write(
                f"  log in at {host}/login/ as {advertiser.email} and open "
                f"{host}/api/v1/ads/reports   # {advertiser.org_name}'s impressions, clicks, spend"
            )
        out.write("")
