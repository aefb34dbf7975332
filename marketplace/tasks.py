from celery import shared_task


@shared_task(name="marketplace.ping")
def ping(token: str) -> str:
    """Echo the token back, proving a worker consumes from the broker and stores results."""
    return token
