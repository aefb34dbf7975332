"""Who may call the MCP tools: an agent organization's API key with the `query` scope."""

from accounts import services as accounts
from marketplace import errors


class NotAuthenticated(errors.DomainError):
    status = 401
    code = "invalid_api_key"


def authorize(*, raw_key: str | None) -> accounts.AuthenticatedKey:
    """Return the API key if it is valid and may query as an agent; raise otherwise.

    The scope and role are checked by the same service the REST and OpenAI-compatible APIs use.
    """
    if not raw_key:
        raise NotAuthenticated(
            "An API key is required: Authorization: Bearer <api key>.", code="missing_api_key"
        )
    key = accounts.authenticate_api_key(raw_key=raw_key)
    if key is None:
        raise NotAuthenticated("Invalid API key.")
    accounts.acting_organization(
        actor=accounts.actor_for_key(key), role=accounts.AGENT, scope=accounts.QUERY
    )
    return key


def count_call(key: accounts.AuthenticatedKey) -> None:
    """Count one tool call against the key's per-minute limit, shared with the REST API."""
    decision = accounts.hit_rate_limit(
        bucket=f"key:{key.id}", limit=key.rate_limit_per_minute, window_s=60
    )
    if not decision.allowed:
        raise errors.RateLimited(
            f"Rate limit of {decision.limit} requests per minute reached for this API key.",
            retry_after_s=decision.retry_after_s,
            code="throttled",
            details={"limit": decision.limit, "retry_after_s": decision.retry_after_s},
        )
