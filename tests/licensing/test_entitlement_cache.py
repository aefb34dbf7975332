"""Entitlements are kept per process under the shared generation, for a minute at most."""

from core.cache import LocalCache
from licensing import services
from licensing.services import cache as entitlement_cache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_entitlements_are_reused_until_another_process_moves_the_generation(
    provider, agent, make_collection, make_offer, django_assert_num_queries
):
    collection = make_collection(provider)
    make_offer(provider, [collection], auto_accept=True)
    first = services.get_entitlements(agent_id=agent.id, usage_type="ai-input")

    with django_assert_num_queries(0):
        assert services.get_entitlements(agent_id=agent.id, usage_type="ai-input") is first

    entitlement_cache.bump_generation()  # what another process's offer change does
    again = services.get_entitlements(agent_id=agent.id, usage_type="ai-input")
    assert again is not first
    assert again.collection_ids == {collection.id}


def test_entitlements_are_computed_again_after_a_minute(
    monkeypatch, provider, agent, make_collection, make_offer
):
    clock = Clock()
    monkeypatch.setattr(
        entitlement_cache,
        "_local",
        LocalCache("test.entitlements", maxsize=2048, ttl_s=60.0, timer=clock),
    )
    make_offer(provider, [make_collection(provider)], auto_accept=True)
    first = services.get_entitlements(agent_id=agent.id, usage_type="ai-input")

    clock.now += 59.9
    assert services.get_entitlements(agent_id=agent.id, usage_type="ai-input") is first
    clock.now += 0.1
    assert services.get_entitlements(agent_id=agent.id, usage_type="ai-input") is not first
