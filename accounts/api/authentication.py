"""`Authorization: Bearer <api key>` for the REST API."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from accounts import services


class APIKeyPrincipal:
    """The request's user when an API key authenticates: the organization, not a person."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, key: services.AuthenticatedKey):
        self.key = key
        self.organization_id = key.organization_id

    def __str__(self) -> str:
        return f"api-key:{self.key.id}"


class APIKeyAuthentication(authentication.BaseAuthentication):
    """Authenticate `Bearer pvn_...` keys; every failure is the same 401."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request)
        if not header:
            return None
        parts = header.split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Invalid API key.", code="invalid_api_key")
        try:
            raw_key = parts[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed(
                "Invalid API key.", code="invalid_api_key"
            ) from exc
        key = services.authenticate_api_key(raw_key=raw_key)
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid API key.", code="invalid_api_key")
        return APIKeyPrincipal(key), key

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'


class APIKeyScheme(OpenApiAuthenticationExtension):
    """Describe API keys in the OpenAPI schema as HTTP bearer tokens."""

    target_class = APIKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "pvn_<prefix>_<secret>"}
