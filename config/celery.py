"""The Celery application: tasks are discovered in each app's tasks.py."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("provenant")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Billing keeps its Stripe tasks apart from rating (billing/payment_tasks.py).
app.autodiscover_tasks(["billing"], related_name="payment_tasks")
