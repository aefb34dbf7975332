"""The attack benchmark's attacker, in process: sign up, upload the copies, publish offers.

bench/bench_attribution_attacks.py does this against a live server with httpx; the leave-one-
out benchmark does the same calls through Django's test client on its own seeded database, so
that it can run the product's answer planning and writing in the same process. Imports Django:
call after django.setup().
"""

from __future__ import annotations

import json

import _attacks as attacks
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

ATTACKER_EMAIL = "desk@content-desk.example"
ATTACKER_PASSWORD = "Copied-content-2025!"  # the benchmark's throwaway account
ATTACKER_ORG = "Content Desk"
TERM_FIELDS = ("usage_types", "payment_type", "price_micros", "price_unit", "period",
               "revenue_share_bps")  # fmt: skip


class BenchError(Exception):
    pass


def _expect(response, *statuses: int):
    if response.status_code not in statuses:
        raise BenchError(
            f"{response.request['REQUEST_METHOD']} {response.request['PATH_INFO']} -> "
            f"{response.status_code}: {response.content[:300]!r}"
        )
    return response.json() if response.content else {}


def target_terms(agent: Client, targets) -> dict[str, dict]:
    """Return, per target, the terms of the offer the agent reads the target article under."""
    from catalog.models import Document

    entitled = {
        e["collection_id"]: e
        for e in _expect(agent.get("/api/v1/entitlements?usage_type=ai-input"), 200)
    }
    terms = {}
    for target in targets:
        document = Document.objects.get(source_url=target.url)
        offer_id = entitled[str(document.collection_id)]["offer_id"]
        offer = _expect(agent.get(f"/api/v1/market/offers/{offer_id}"), 200)
        terms[target.slug] = {k: offer["terms"][k] for k in TERM_FIELDS}
    return terms


def _sign_up() -> Client:
    """Return a client holding a catalog + licensing key of a newly signed-up provider."""
    portal = Client()
    response = portal.post(
        "/signup/",
        {
            "email": ATTACKER_EMAIL,
            "password": ATTACKER_PASSWORD,
            "organization_name": ATTACKER_ORG,
            "roles": "provider",
        },
    )
    if response.status_code != 302:
        raise BenchError(f"sign-up -> {response.status_code}")
    org = next(
        o for o in _expect(portal.get("/api/v1/organizations"), 200) if "provider" in o["roles"]
    )
    created = _expect(
        portal.post(
            f"/api/v1/organizations/{org['id']}/api-keys",
            {"name": "leave-one-out benchmark", "scopes": ["catalog", "licensing"]},
            content_type="application/json",
        ),
        201,
    )
    return Client(HTTP_AUTHORIZATION=f"Bearer {created['key']}")


def set_up(agent: Client, attack: attacks.AttackPlan, targets) -> dict:
    """Upload the attacker's documents, one collection and one published auto-accept offer
    per target (the target's own terms), let the agent accept any it is not entitled to, and
    rebuild the index in one segment; return what was created."""
    from catalog import services as catalog
    from catalog.models import Document

    terms = target_terms(agent, targets)
    attacker = _sign_up()
    collections = {}
    for target in targets:
        collection = _expect(
            attacker.post(
                "/api/v1/collections",
                {"name": f"{ATTACKER_ORG}: {target.slug}", "topics": [target.slug]},
                content_type="application/json",
            ),
            201,
        )
        records = "".join(
            json.dumps(d.record(), ensure_ascii=False) + "\n" for d in attack.documents[target.slug]
        )
        upload = SimpleUploadedFile(f"{target.slug}.jsonl", records.encode(), "application/jsonl")
        job = _expect(
            attacker.post(f"/api/v1/collections/{collection['id']}/uploads", {"files": [upload]}),
            202,
        )
        job = _expect(attacker.get(f"/api/v1/ingestion-jobs/{job['id']}"), 200)
        if job["status"] != "succeeded":
            raise BenchError(f"ingestion of {target.slug}: {job['status']} {job.get('errors')}")
        offer = _expect(
            attacker.post(
                "/api/v1/offers",
                {
                    "name": f"{ATTACKER_ORG}: {target.slug}",
                    "collection_ids": [collection["id"]],
                    **terms[target.slug],
                    "auto_accept": True,
                },
                content_type="application/json",
            ),
            201,
        )
        _expect(attacker.post(f"/api/v1/offers/{offer['id']}/publish"), 200)
        collections[collection["id"]] = offer["id"]
    entitlements = _expect(agent.get("/api/v1/entitlements?usage_type=ai-input"), 200)
    entitled = {e["collection_id"] for e in entitlements}
    accepted = 0
    for collection_id, offer_id in collections.items():
        if collection_id not in entitled:
            path = f"/api/v1/market/offers/{offer_id}/accept"
            _expect(agent.post(path, {}, content_type="application/json"), 200, 201)
            accepted += 1
    catalog.rebuild_search_index()
    documents = Document.objects.filter(collection_id__in=list(collections))
    return {
        "documents": documents.count(),
        "held_out_as_duplicates": documents.exclude(duplicate_of=None).count(),
        "offers_accepted": accepted,
        "gibberish_lines": len(attack.gibberish),
    }
