"""The demo seed shows money moving: its first answers are rated, every paid provider has
earned, the ledger checks out, and a second seed moves nothing more."""

import io
import json
import re
import zipfile

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.models import Organization
from billing import services as billing
from billing.models import Entry, Transaction
from catalog.models import Document
from marketplace.demo_usage import DEMO_CREDIT_MICROS

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _isolated_index(settings, tmp_path):
    settings.RETRIEVAL_INDEX_DIR = tmp_path / "index"
    settings.RETRIEVAL_RELOAD_INTERVAL_S = 0


def _seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_the_seeded_usage_is_rated_and_every_paid_provider_has_earned():
    output = _seed()

    summary = {line for line in output.splitlines() if "Billing:" in line}
    assert len(summary) == 1 and "6 demo answers asked now" in summary.pop()
    kinds = set(Transaction.objects.values_list("kind", flat=True))
    assert kinds == {"credit", "use", "revenue_share", "purchase"}  # the training licence
    for provider in Organization.objects.filter(is_provider=True):
        earned = billing.balance_of(organization_id=provider.id).currencies[0].payable_micros
        assert earned > 0, provider.name
    agent = Organization.objects.get(name="Acme Agents")
    line = billing.balance_of(organization_id=agent.id).currencies[0]
    spent = DEMO_CREDIT_MICROS - line.wallet_micros
    assert 0 < spent < DEMO_CREDIT_MICROS and line.receivable_micros == 0
    assert line.reserved_micros == 0  # no answer is in flight once the seed is done
    assert billing.check_ledger().ok

    entries = Entry.objects.count()
    second = _seed()

    assert "0 demo answers asked now, 0 ledger transactions written" in second
    assert Entry.objects.count() == entries


def test_the_demo_agent_bought_a_training_licence_and_downloads_its_dataset():
    output = _seed()
    key = re.search(r"PROVENANT_API_KEY=(\S+)", output).group(1)
    export_url = re.search(r"curl -s -X POST (\S+/dataset-export)", output).group(1)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    made = client.post(export_url.removeprefix("http://127.0.0.1:8000"), format="json")

    assert made.status_code == 201, made.json()
    purchase = Transaction.objects.get(kind="purchase")
    assert purchase.idempotency_key == f"purchase:{made.json()['agreement_id']}"
    download = client.get(made.json()["url"])
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    manifest = json.loads(archive.read("manifest.json"))
    names = {c["name"] for c in manifest["collections"]}
    assert names == {"Energy & Climate Explainers", "History Desk"}
    in_licence = Document.objects.filter(collection__name__in=names, status="ready")
    assert manifest["files"]["data.jsonl"]["records"] == in_licence.count() > 0
    assert manifest["licence"]["offer"]["price_micros"] == 1_500_000_000


def test_the_printed_subscribe_step_charges_the_first_month_and_opens_the_402():
    output = _seed()
    key = re.search(r"PROVENANT_API_KEY=(\S+)", output).group(1)
    locked_url = re.search(r"curl -si (\S+/content) .*# 402 Payment Required", output).group(1)
    accept_url = re.search(r"curl -s -X POST (\S+/accept) ", output).group(1)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    agent = Organization.objects.get(name="Acme Agents")
    before = billing.balance_of(organization_id=agent.id).currencies[0].wallet_micros
    assert client.get(locked_url.removeprefix("http://127.0.0.1:8000")).status_code == 402

    accepted = client.post(accept_url.removeprefix("http://127.0.0.1:8000"), {}, format="json")

    assert accepted.status_code == 201, accepted.json()
    charge = Transaction.objects.get(kind="subscription")
    assert charge.idempotency_key == f"subscription:{accepted.json()['id']}:0"
    after = billing.balance_of(organization_id=agent.id).currencies[0].wallet_micros
    assert before - after == 49_000_000  # Research Roundups' first month, from the wallet
    assert client.get(locked_url.removeprefix("http://127.0.0.1:8000")).status_code == 200
    assert billing.check_ledger().ok
