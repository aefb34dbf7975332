"""Click URLs: `/c/<token>`, where the token is the serving's id signed with a timestamp
(`django.core.signing.TimestampSigner`, a salt of its own, SECRET_KEY).

A valid token counts one click per serving, whatever the number of times it is followed, and
sends the browser to the URL the unit showed when it was served (kept in its `AdVersion`, so
neither the token nor the request chooses where it goes: never an open redirect). A token not
signed here, or naming nothing served, is refused (400) and counts nothing; one older than
ADS_CLICK_TTL_S is refused (410) and counts nothing.

A CPC click's charge is taken from the campaign's budgets in the budget store when it is
counted, as a serving's is before it is served: a campaign whose total or today's budget is
spent gets the click free (`over_budget`), the last micros of a budget cap the charge.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from ads import errors
from ads.models import AdEvent, Serving
from ads.services.charging import charge_soon, click_charge
from ads.services.spend import hold_for_event

SALT = "provenant.ads.click"
TOKEN_MAX_LENGTH = 200


@dataclass(frozen=True)
class Click:
    url: str  # where the click goes: the unit's URL as it was served
    counted: bool  # False: this serving's click was counted before


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT)


def click_path(serving_id: uuid.UUID) -> str:
    """Return the path that counts a click on a serving and redirects (`/c/<token>`)."""
    return reverse("ads-click", kwargs={"token": _signer().sign(str(serving_id))})


def record_click(*, token: str, now: datetime | None = None) -> Click:
    """Count the click a token stands for (once per serving) and return where it goes."""
    if not isinstance(token, str) or len(token) > TOKEN_MAX_LENGTH:
        raise errors.InvalidClick("This link is not valid.")
    try:
        value = _signer().unsign(token, max_age=settings.ADS_CLICK_TTL_S)
    except signing.SignatureExpired as exc:
        raise errors.ClickExpired("This link has expired.") from exc
    except signing.BadSignature as exc:
        raise errors.InvalidClick("This link is not valid.") from exc
    try:
        serving = Serving.objects.select_related("ad_version").get(id=uuid.UUID(value))
    except (ValueError, Serving.DoesNotExist) as exc:
        raise errors.InvalidClick("This link is not valid.") from exc
    amount = click_charge(serving)
    hold = hold_for_event(serving.campaign_id, amount, hold_id=f"click:{serving.id}")
    status = AdEvent.Status.PENDING if amount else AdEvent.Status.FREE
    if amount and hold is not None:
        if hold.reservation is None:  # the campaign's budget (total or today's) is spent
            amount, status = 0, AdEvent.Status.OVER_BUDGET
        else:
            amount = hold.reservation.amount_micros  # the last micros of a budget
    try:
        with transaction.atomic():
            AdEvent.objects.create(
                serving=serving,
                kind=AdEvent.Kind.CLICK,
                idempotency_key=f"click:{serving.id}",
                amount_micros=amount,
                status=status,
                created_at=now or timezone.now(),
            )
            if amount:
                charge_soon()
            if hold is not None:
                hold.settle_on_commit(amount)
    except IntegrityError:  # counted before: a replay counts nothing
        if hold is not None:
            hold.release()
        return Click(url=serving.ad_version.url, counted=False)
    return Click(url=serving.ad_version.url, counted=True)
