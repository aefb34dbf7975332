"""Recording uses exactly once, undoing the metering of an answer never delivered, and
settling a streamed answer on what it cited."""

import uuid
from collections import defaultdict
from dataclasses import fields

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from licensing import errors
from licensing.models import AnswerRecord, LicenseAgreement
from licensing.services.metering.caps import (
    _admit_within_caps,
    _lock_agreements,
    _resolve_agreements,
)
from licensing.services.metering.pricing import _accepted_terms, _price_records
from licensing.services.metering.storage import (
    _add_spend,
    _insert_answers_returning_new,
    _insert_events,
)
from licensing.services.metering.uses import (
    BatchResult,
    MeteredAnswer,
    MeteredEvent,
    Row,
    UseRecord,
)


def record_uses(records: list[UseRecord]) -> BatchResult:
    """Meter a batch of uses exactly once each; uses that would pass a spend cap are refused."""
    return _record_batch(records)[0]


def _record_batch(
    records: list[UseRecord],
) -> tuple[BatchResult, dict[str, tuple[Row, list[Row]]]]:
    """Meter the batch; also return the rows written, by request id."""
    if not records:
        return BatchResult((), (), ()), {}
    resolved = _resolve_agreements(records)
    now = timezone.now()
    with transaction.atomic():
        agreement_ids = sorted(
            {str(a) for by_version in resolved.values() for a in by_version.values()}
        )
        agreements = {row["id"]: row for row in _lock_agreements(agreement_ids)}
        priced = _price_records(records, _accepted_terms(resolved, agreements), now)
        new_ids = _insert_answers_returning_new([answer for answer, _ in priced])
        admitted = _admit_within_caps(priced, new_ids, agreements)
        if admitted.over_cap:
            AnswerRecord.objects.filter(request_id__in=admitted.over_cap).delete()
        _insert_events(admitted.events)
        _add_spend({a: amount for a, amount in admitted.spend.items() if amount})
    written = {answer["request_id"]: (answer, events) for answer, events in priced}
    result = BatchResult(
        tuple(admitted.recorded), tuple(admitted.duplicates), tuple(admitted.over_cap)
    )
    return result, {request_id: written[request_id] for request_id in admitted.recorded}


# A metered event's fields, named as in the event rows written and on UsageEvent.
_EVENT_FIELDS = tuple(f.name for f in fields(MeteredEvent))


def _metered_from_rows(answer: Row, events: list[Row]) -> MeteredAnswer:
    return MeteredAnswer(
        answer_id=answer["id"],
        request_id=answer["request_id"],
        created=True,
        total_micros=answer["total_micros"],
        currency=answer["currency"],
        events=tuple(MeteredEvent(**{f: e[f] for f in _EVENT_FIELDS}) for e in events),
    )


def _metered(answer: AnswerRecord, created: bool) -> MeteredAnswer:
    events = tuple(
        MeteredEvent(**{f: getattr(e, f) for f in _EVENT_FIELDS})
        for e in answer.events.order_by("id")
    )
    return MeteredAnswer(
        answer_id=answer.id,
        request_id=answer.request_id,
        created=created,
        total_micros=answer.total_micros,
        currency=answer.currency,
        events=events,
    )


def record_use(record: UseRecord) -> MeteredAnswer:
    """Meter one answer exactly once; raise SpendCapReached if it would pass a cap."""
    result, written = _record_batch([record])
    if result.over_cap:
        raise errors.SpendCapReached(
            "This use would pass an agreement's spend cap.",
            details={"request_id": record.request_id},
        )
    if record.request_id in written:
        return _metered_from_rows(*written[record.request_id])
    answer = AnswerRecord.objects.get(request_id=record.request_id)
    return _metered(answer, created=False)


def is_metered(*, request_id: str) -> bool:
    """Return whether an answer was metered under this request id."""
    return AnswerRecord.objects.filter(request_id=request_id).exists()


def void_use(*, request_id: str) -> bool:
    """Undo the metering of an answer that was never delivered; return whether one was found.

    Its events are deleted and their amounts given back to the agreements' spend, so a
    retry under the same request id is metered afresh.
    """
    with transaction.atomic():
        answer = AnswerRecord.objects.filter(request_id=request_id).first()
        if answer is None:
            return False
        charged: defaultdict[uuid.UUID, int] = defaultdict(int)
        for agreement_id, amount in answer.events.values_list("agreement_id", "amount_micros"):
            charged[agreement_id] += amount
        _lock_agreements(sorted(str(a) for a in charged))
        for agreement_id, amount in charged.items():
            if amount:
                LicenseAgreement.objects.filter(id=agreement_id).update(
                    spent_micros=F("spent_micros") - amount
                )
        answer.events.all().delete()
        answer.delete()
    return True


def settle_use(record: UseRecord) -> MeteredAnswer:
    """Replace an answer metered before it was written with its final uses, in one transaction.

    A streamed answer is metered when its first text leaves, with every planned source at
    its quoted price; once the text is complete, which sources it cited and their weights
    are known, and this records them instead. Metering that never happened is done now.
    """
    with transaction.atomic():
        void_use(request_id=record.request_id)
        return record_use(record)
