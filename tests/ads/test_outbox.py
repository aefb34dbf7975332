"""The outbox: answers' records pushed to Redis, one task draining many (needs REDIS_URL)."""

import os
from unittest import mock

import pytest

from ads import services as ads
from ads.models import AdEvent, AuctionTrace, Serving
from ads.services.placement import outbox
from tests.ads.test_placement import HEAT, context

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue(settings):
    url = os.environ.get("REDIS_URL", "")
    if not url:
        pytest.skip("needs Redis: set REDIS_URL")
    settings.REDIS_URL = url
    client = outbox._client(url)
    client.delete(outbox.QUEUE_KEY)
    yield client
    client.delete(outbox.QUEUE_KEY)


def test_the_first_push_queues_the_task_and_one_task_records_every_answer_queued(
    queue, agent, approved_unit, django_capture_on_commit_callbacks
):
    approved_unit(**HEAT)
    with mock.patch("ads.tasks.record_servings.delay") as poke:
        for _ in range(3):
            with django_capture_on_commit_callbacks(execute=True):
                ads.serve_selection(ads.select_sponsored(context(agent)))

    assert poke.call_count == 1  # only the push that found the list empty
    assert queue.llen(outbox.QUEUE_KEY) == 3 and Serving.objects.count() == 0
    assert ads.record_served() == 3
    assert queue.llen(outbox.QUEUE_KEY) == 0
    assert Serving.objects.count() == AdEvent.objects.count() == AuctionTrace.objects.count() == 3
    assert ads.record_served() == 0


def test_a_record_that_cannot_be_written_does_not_stop_the_others(
    queue, agent, approved_unit, django_capture_on_commit_callbacks
):
    approved_unit(**HEAT)
    queue.rpush(outbox.QUEUE_KEY, b'{"request_id": "broken"}')
    with (
        mock.patch("ads.tasks.record_servings.delay"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        ads.serve_selection(ads.select_sponsored(context(agent)))

    assert ads.record_served() == 1
    assert Serving.objects.count() == 1


def test_without_redis_an_answer_is_recorded_at_once_or_by_its_own_task(
    settings, agent, approved_unit, django_capture_on_commit_callbacks
):
    settings.REDIS_URL = ""
    approved_unit(**HEAT)
    with django_capture_on_commit_callbacks(execute=True):
        ads.serve_selection(ads.select_sponsored(context(agent)))
    assert Serving.objects.count() == 1  # no broker: written on commit

    settings.CELERY_TASK_ALWAYS_EAGER = False
    with (
        mock.patch("ads.tasks.record_serving.delay") as queued,
        django_capture_on_commit_callbacks(execute=True),
    ):
        ads.serve_selection(ads.select_sponsored(context(agent)))
    (call,) = queued.call_args_list
    assert call.args[0]["agent_id"] == str(agent.id)
    assert Serving.objects.count() == 1
