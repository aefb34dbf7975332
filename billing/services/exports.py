"""Dataset exports of purchase licences: what a training or dataset licence delivers once paid.

`create_dataset_export` (POST /api/v1/agreements/{id}/dataset-export) checks that the agreement
is the acting agent's, an active purchase whose licence permits `ai-train`, and paid (its
`purchase:<agreement>` charge posted and not reversed); it records the export, meters it once
as an `ai-train` use of the licence (one usage event per licensed collection, nothing charged:
the purchase paid for it) and returns a download URL signed with Django's `TimestampSigner`,
good for BILLING_EXPORT_URL_TTL_S.

`open_dataset_export` (GET on that URL, with the licensee's API key) checks the signature
(403 `bad_signature` when altered), its age (410 `export_expired`), that the export is the
acting organization's (404 otherwise) and that the licence still stands (403
`licence_ended`); the view then streams the archive `export_files.export_archive` writes.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts import services as accounts
from billing import errors
from billing.models import DatasetExport, Transaction
from billing.services.export_files import ExportSource
from billing.services.rating.agreements import purchase_key
from catalog import services as catalog
from licensing import services as licensing

_SALT = "billing.dataset-export"
TRAINING_USE = "ai-train"


@dataclass(frozen=True)
class DatasetExportInfo:
    id: uuid.UUID
    agreement_id: uuid.UUID
    documents: int
    created_at: datetime
    expires_at: datetime
    token: str  # the signed part of the download URL


def _purchase_paid(agreement_id: uuid.UUID) -> bool:
    return Transaction.objects.filter(
        idempotency_key=purchase_key(agreement_id), reversal__isnull=True
    ).exists()


def _licensed_purchase(agreement: licensing.AgreementInfo) -> None:
    """Refuse an agreement that does not (or no longer) license a paid dataset export."""
    terms = agreement.offer.terms
    if terms.payment_type != "purchase":
        raise errors.Conflict(
            "Only a purchase licence (a training or dataset licence) comes with a dataset "
            f"export; this agreement is paid by {terms.payment_type}.",
            code="not_a_purchase",
        )
    if not licensing.usage_covers(terms.usage_types, TRAINING_USE):
        raise errors.Conflict(
            "This licence does not permit ai-train, which a dataset export is.",
            code="not_licensed_for_training",
            details={"usage_types": list(terms.usage_types)},
        )
    if agreement.status != "active":
        raise errors.Conflict(
            f"This agreement is {agreement.status}: it no longer licenses an export.",
            code="agreement_not_active",
        )
    if not _purchase_paid(agreement.id):
        raise errors.PurchaseNotPaid(
            "This purchase is not paid; a dataset export comes once it is."
        )


def create_dataset_export(
    *,
    actor: accounts.Actor,
    agreement_id: uuid.UUID | str,
    organization_id: uuid.UUID | str | None = None,
) -> DatasetExportInfo:
    """Make a dataset export of the acting agent's paid purchase licence (metered once as an
    `ai-train` use) and return it with its signed download token."""
    accounts.require_scope(actor, accounts.LICENSING)
    agreement = licensing.get_agreement(
        actor=actor, agreement_id=agreement_id, organization_id=organization_id
    )
    _licensed_purchase(agreement)
    offer = agreement.offer
    collections = offer.terms.collection_ids
    documents = catalog.count_licensed_documents(collection_ids=collections)
    now = timezone.now()
    with transaction.atomic():
        export = DatasetExport.objects.create(
            agreement_id=agreement.id,
            agent_id=agreement.agent_id,
            offer_version_id=offer.version_id,
            documents=documents,
            created_at=now,
            expires_at=now + timedelta(seconds=settings.BILLING_EXPORT_URL_TTL_S),
        )
        licensing.record_use(
            licensing.UseRecord(
                request_id=f"dataset-export-{export.id}",
                agent_id=agreement.agent_id,
                usage_type=TRAINING_USE,
                kind="export",
                created_at=now,
                sources=tuple(
                    licensing.SourceUse(
                        collection_id=collection_id,
                        provider_id=offer.provider_id,
                        offer_version_id=offer.version_id,
                        agreement_id=agreement.id,
                        attribution_weight_ppm=1_000_000 // len(collections),
                    )
                    for collection_id in collections
                ),
            )
        )
    return DatasetExportInfo(
        id=export.id,
        agreement_id=agreement.id,
        documents=documents,
        created_at=export.created_at,
        expires_at=export.expires_at,
        token=signing.TimestampSigner(salt=_SALT).sign(str(export.id)),
    )


def open_dataset_export(
    *, actor: accounts.Actor, token: str, organization_id: uuid.UUID | str | None = None
) -> ExportSource:
    """Return what the signed token's export delivers, for the acting agent that made it;
    count the download."""
    try:
        export_id = signing.TimestampSigner(salt=_SALT).unsign(
            token, max_age=timedelta(seconds=settings.BILLING_EXPORT_URL_TTL_S)
        )
    except signing.SignatureExpired as exc:
        raise errors.ExportExpired(
            "This download link has expired; ask for a new one (POST "
            "/api/v1/agreements/{id}/dataset-export).",
        ) from exc
    except signing.BadSignature as exc:
        raise errors.PermissionDenied(
            "This download link is not one we signed.", code="bad_signature"
        ) from exc
    accounts.require_scope(actor, accounts.LICENSING)
    export = DatasetExport.objects.filter(id=export_id).first()
    if export is None:
        raise errors.NotFound("Export not found.")
    try:  # the agreement is looked up as the actor's: another organization's export is 404
        agreement = licensing.get_agreement(
            actor=actor, agreement_id=export.agreement_id, organization_id=organization_id
        )
    except errors.NotFound as exc:
        raise errors.NotFound("Export not found.") from exc
    if agreement.agent_id != export.agent_id:
        raise errors.NotFound("Export not found.")
    try:
        _licensed_purchase(agreement)
    except errors.DomainError as exc:
        raise errors.PermissionDenied(
            f"The licence behind this export no longer stands: {exc.message}",
            code="licence_ended",
        ) from exc
    DatasetExport.objects.filter(id=export.id).update(
        downloads=F("downloads") + 1, last_downloaded_at=timezone.now()
    )
    return ExportSource(
        export_id=export.id,
        created_at=export.created_at,
        agreement=agreement,
        licensee_id=export.agent_id,
    )
