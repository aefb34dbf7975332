"""Per-key (or per-user) rate limits on an atomic cache counter, answering 429 + Retry-After.

Anonymous requests count per client address, as `services.client_address` resolves it behind
the trusted proxies (never the raw X-Forwarded-For, which a client can write).
"""

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from accounts import services


class APIKeyRateThrottle(BaseThrottle):
    """Allow each API key its `rate_limit_per_minute`; signed-in users get the default."""

    def allow_request(self, request, view):
        key = request.auth if isinstance(request.auth, services.AuthenticatedKey) else None
        if key is not None:
            bucket, limit = f"key:{key.id}", key.rate_limit_per_minute
        elif request.user and request.user.is_authenticated:
            bucket, limit = f"user:{request.user.pk}", settings.API_KEY_RATE_LIMIT_PER_MINUTE
        else:
            bucket = f"ip:{services.client_address(request.META)}"
            limit = settings.API_KEY_RATE_LIMIT_PER_MINUTE
        self.decision = services.hit_rate_limit(bucket=bucket, limit=limit, window_s=60)
        request.rate_limit = self.decision
        return self.decision.allowed

    def wait(self):
        return self.decision.retry_after_s
