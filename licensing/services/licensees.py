"""A provider's licensees: which agents hold agreements on its offers, since when, and what
they spent under them (the provider's side of `agreements.list_agreements`)."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from accounts import services as accounts
from accounts.services import Actor
from licensing.models import LicenseAgreement
from licensing.services.acting import provider_id_for
from licensing.services.agreements import _effective_status


@dataclass(frozen=True)
class LicenseeInfo:
    agreement_id: uuid.UUID
    agent_id: uuid.UUID
    agent_name: str
    offer_id: uuid.UUID
    offer_name: str
    offer_version: int
    payment_type: str
    status: str  # active, expired (its end has passed), cancelled, suspended
    origin: str  # accepted, auto_accept or single_fetch
    starts_at: datetime
    ends_at: datetime | None
    cancelled_at: datetime | None
    spend_cap_micros: int | None
    spent_micros: int
    currency: str


def list_licensees(
    *, actor: Actor, organization_id: uuid.UUID | str | None = None, limit: int = 1000
) -> list[LicenseeInfo]:
    """Return the agreements agents hold on the acting provider's offers, newest first."""
    provider_id = provider_id_for(actor, organization_id)
    rows = list(
        LicenseAgreement.objects.filter(offer__provider_id=provider_id)
        .select_related("offer", "offer_version")
        .order_by("-starts_at", "id")[:limit]
    )
    names = accounts.organization_names(organization_ids={a.agent_id for a in rows})
    return [
        LicenseeInfo(
            agreement_id=a.id,
            agent_id=a.agent_id,
            agent_name=names.get(a.agent_id, ""),
            offer_id=a.offer_id,
            offer_name=a.offer.name,
            offer_version=a.offer_version.version,
            payment_type=a.offer_version.payment_type,
            status=_effective_status(a),
            origin=a.origin,
            starts_at=a.starts_at,
            ends_at=a.ends_at,
            cancelled_at=a.cancelled_at,
            spend_cap_micros=a.spend_cap_micros,
            spent_micros=a.spent_micros,
            currency=a.offer_version.currency,
        )
        for a in rows
    ]
