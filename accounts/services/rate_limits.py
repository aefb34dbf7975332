"""Fixed-window rate limits on an atomic counter in the cache (Redis INCR in production)."""

import ipaddress
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from redis import Redis

from accounts import errors


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    retry_after_s: int


def _redis_client() -> Redis | None:
    """Return the raw Redis client behind the cache, or None for other cache backends."""
    if not str(settings.CACHES["default"]["BACKEND"]).startswith("django_redis"):
        return None
    from django_redis import get_redis_connection

    client: Redis = get_redis_connection("default")
    return client


def hit_rate_limit(*, bucket: str, limit: int, window_s: int = 60) -> RateDecision:
    """Count one hit in `bucket` and say whether it is within `limit` hits per window."""
    now = time.time()
    window = int(now // window_s)
    key = f"rl:{bucket}:{window}"
    client = _redis_client()
    if client is not None:
        # One round trip, atomic: MULTI INCR EXPIRE EXEC.
        full_key = cache.make_key(key)
        pipe = client.pipeline(transaction=True)
        pipe.incr(full_key)
        pipe.expire(full_key, window_s + 1)
        count = pipe.execute()[0]
    else:
        cache.add(key, 0, timeout=window_s + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=window_s + 1)
            count = 1
    retry_after_s = max(1, math.ceil((window + 1) * window_s - now))
    return RateDecision(
        allowed=count <= limit,
        limit=limit,
        remaining=max(0, limit - count),
        retry_after_s=retry_after_s,
    )


def _ip_or_none(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_address(meta: Mapping[str, str]) -> str:
    """Return the client's address from a request's META, trusting only our own proxies.

    With TRUSTED_PROXY_COUNT = 0 the app is reached directly and X-Forwarded-For is the
    client's to write, so only the socket address counts. With N trusted proxies, each appends
    the address it was reached from; the entry N places from the right is the one the outermost
    trusted proxy saw, and anything left of it is the client's own (forgeable) text.
    """
    remote = _ip_or_none(meta.get("REMOTE_ADDR", "") or "") or "unknown"
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote
    hops = [hop for hop in (part.strip() for part in forwarded.split(",")) if hop]
    if not hops:
        return remote
    return _ip_or_none(hops[-min(proxies, len(hops))]) or remote


def check_login_allowed(*, email: str, client_ip: str) -> None:
    """Count a login attempt per address and per account; raise RateLimited past the limit."""
    limit = settings.LOGIN_RATE_LIMIT_PER_MINUTE
    for bucket in (f"login:ip:{client_ip}", f"login:email:{email.strip().lower()}"):
        decision = hit_rate_limit(bucket=bucket, limit=limit, window_s=60)
        if not decision.allowed:
            raise errors.RateLimited(
                "Too many login attempts. Try again later.",
                retry_after_s=decision.retry_after_s,
            )


def check_sign_up_allowed(*, client_address: str) -> None:
    """Count a sign-up attempt per client address; raise RateLimited past the hourly limit."""
    decision = hit_rate_limit(
        bucket=f"signup:ip:{client_address}",
        limit=settings.SIGNUP_RATE_LIMIT_PER_HOUR,
        window_s=3600,
    )
    if not decision.allowed:
        raise errors.RateLimited(
            "Too many sign-ups from this address. Try again later.",
            retry_after_s=decision.retry_after_s,
        )


def check_password_reset_allowed(*, email: str, client_ip: str) -> None:
    """Count a password-reset request per address and per account (each sends an email);
    raise RateLimited past the login limit."""
    limit = settings.LOGIN_RATE_LIMIT_PER_MINUTE
    for bucket in (f"reset:ip:{client_ip}", f"reset:email:{email.strip().lower()}"):
        decision = hit_rate_limit(bucket=bucket, limit=limit, window_s=60)
        if not decision.allowed:
            raise errors.RateLimited(
                "Too many password-reset requests. Try again later.",
                retry_after_s=decision.retry_after_s,
            )
