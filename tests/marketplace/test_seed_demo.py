import io
import re

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from marketplace.models import APIKey, Organization

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_prints_a_working_key_and_curl_example_and_is_repeatable():
    first = _seed()
    second = _seed()

    raw_first = re.search(r"^PROVENANT_API_KEY=(\S+)$", first, re.M).group(1)
    raw_second = re.search(r"^PROVENANT_API_KEY=(\S+)$", second, re.M).group(1)
    assert Organization.objects.count() == 3
    assert APIKey.objects.filter(revoked_at__isnull=True).count() == 1
    assert f'curl -s -H "Authorization: Bearer {raw_second}"' in second
    assert "agent@demo.provenant.dev / provenant-demo" in second

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_second}")
    response = client.get("/api/v1/organizations")
    assert response.status_code == 200
    assert [o["name"] for o in response.json()] == ["Acme Agents"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_first}")
    assert client.get("/api/v1/organizations").status_code == 401
