from celery import shared_task

from marketplace.services import idempotency


@shared_task(name="marketplace.ping")
def ping(token: str) -> str:
    """Echo the token back, proving a worker consumes from the broker and stores results."""
    return token


@shared_task(name="marketplace.purge_idempotency_records", acks_late=True)
def purge_idempotency_records() -> int:
    """Forget stored responses older than IDEMPOTENCY_TTL_S."""
    return idempotency.purge_expired()
