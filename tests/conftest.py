import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts import services as accounts_services
from core import cache as local_caches
from tests.marketplace.factories import MembershipFactory, OrganizationFactory, UserFactory


@pytest.fixture(autouse=True)
def _clean_cache():
    """Start every test with empty counters and cold process-local caches (docs/caching.md).

    The shared cache has its own key prefix for the suite. Local caches are emptied after each
    test too, so nothing a test cached outlives the shared cache's generation counters.
    """
    if hasattr(cache, "delete_pattern"):  # Redis: only this suite's keys, never FLUSHDB
        cache.delete_pattern("*")
    else:
        cache.clear()
    local_caches.clear_all()
    yield
    local_caches.clear_all()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def make_org(db):
    """Return a function creating an organization with an owner user."""

    def make(*, roles=("agent",), name=None, owner=None):
        kwargs = {f"is_{role}": role in roles for role in ("provider", "agent", "advertiser")}
        if name:
            kwargs["name"] = name
        org = OrganizationFactory(**kwargs)
        owner = owner or UserFactory()
        MembershipFactory(organization=org, user=owner, role="owner")
        return org, owner

    return make


@pytest.fixture
def make_key(db):
    """Return a function creating an API key for an organization; it returns the raw secret."""

    def make(org, *, scopes=None, rate_limit_per_minute=None, expires_at=None):
        owner = org.memberships.filter(role="owner").first().user
        created = accounts_services.create_api_key(
            actor=accounts_services.actor_for_user(user_id=owner.pk),
            organization_id=org.id,
            name="test key",
            scopes=scopes,
            rate_limit_per_minute=rate_limit_per_minute,
            expires_at=expires_at,
        )
        return created.secret

    return make


@pytest.fixture
def key_client(make_key):
    """Return a function giving an APIClient authenticated with a new key of `org`."""

    def make(org, **kwargs):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(org, **kwargs)}")
        return client

    return make
