"""The Celery application: tasks are discovered in each app's tasks.py."""

import os
from typing import Any

from celery import Celery
from celery.signals import worker_process_init

from core.runtime import settle_heap

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("provenant")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Billing keeps its Stripe tasks apart from rating (billing/payment_tasks.py).
app.autodiscover_tasks(["billing"], related_name="payment_tasks")


@worker_process_init.connect
def _settle_heap(**kwargs: Any) -> None:
    """Each worker process keeps its start-up heap out of garbage collection, as web ones do."""
    settle_heap()
