"""Pieces every app's REST API shares: strict serializers and the acting principal."""

from rest_framework import exceptions, permissions, serializers

from marketplace import services as marketplace


class StrictSerializer(serializers.Serializer):
    """A serializer that refuses fields it does not know, so typos never pass silently."""

    refuses_unknown_fields = True  # the schema says so: additionalProperties false
    json_types = True  # a JSON body: 0 is not false, 1 is not "1" (query strings set False)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: ["Unknown field."] for name in unknown}, code="unknown_field"
                )
            if self.json_types:
                wrong = {
                    name: [problem]
                    for name, field in self.fields.items()
                    if name in data and (problem := json_type_problem(field, data[name]))
                }
                if wrong:
                    raise serializers.ValidationError(wrong)
        return super().to_internal_value(data)


def json_type_problem(field: serializers.Field, value) -> str | None:
    """Return why a JSON value does not have the type its field documents, or None.

    DRF coerces (0 to false, 5 to "5", "5" to 5); the schema promises the JSON types, so a
    value of another type is refused rather than converted.
    """
    if value is None:
        return None  # allow_null decides
    expected = {
        serializers.BooleanField: (bool,),
        serializers.CharField: (str,),
        serializers.ChoiceField: (str,),
        serializers.IntegerField: (int,),
        serializers.ListField: (list,),
    }
    for kind, types in expected.items():
        if isinstance(field, kind):
            if not isinstance(value, types) or (
                kind is serializers.IntegerField and isinstance(value, bool)
            ):
                return f"Must be of type {_JSON_NAMES[types[0]]}."
            if kind is serializers.ListField:
                for item in value:
                    problem = json_type_problem(field.child, item)
                    if problem:
                        return problem
            return None
    return None


_JSON_NAMES = {bool: "boolean", str: "string", int: "integer", list: "array"}


class StrictCharField(serializers.CharField):
    """A string field that refuses numbers and booleans instead of turning them into text."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


# What a view's `required_scope` may name besides one of the API key scopes.
ANY_SCOPE = "any"  # any valid API key (or a signed-in user)
NO_AUTH = "none"  # public: no key needed


def required_scope_for(view, method: str) -> str | None:
    """Return the scope an API key needs for this view and method, or None if undeclared.

    A view declares `required_scope = "licensing"`, or one per method
    (`required_scope = {"get": "licensing", "post": "query"}`). The schema documents it
    (`x-required-scope`) and `HasRequiredScope` enforces it.
    """
    declared = getattr(view, "required_scope", None)
    if isinstance(declared, dict):
        return declared.get(method.lower())
    return declared


class HasRequiredScope(permissions.BasePermission):
    """Refuse an API key that lacks the scope the view documents (403 insufficient_scope)."""

    def has_permission(self, request, view):
        scope = required_scope_for(view, request.method)
        if scope not in (None, ANY_SCOPE, NO_AUTH):
            require_scope(request, scope)
        return True


def actor_from_request(request) -> marketplace.Actor:
    """Return who is acting: the API key's organization, or the signed-in user."""
    key = request.auth
    if isinstance(key, marketplace.AuthenticatedKey):
        return marketplace.actor_for_api_key(
            api_key_id=key.id, organization_id=key.organization_id, scopes=key.scopes
        )
    if request.user and request.user.is_authenticated:
        return marketplace.actor_for_user(user_id=request.user.pk)
    raise exceptions.NotAuthenticated()


def may_use_scope(request, scope: str) -> bool:
    """Return whether the request may do what `scope` allows (signed-in users: the services
    decide)."""
    key = request.auth
    return not isinstance(key, marketplace.AuthenticatedKey) or scope in key.scopes


def require_scope(request, scope: str) -> None:
    """Refuse an API key that lacks `scope`; signed-in users are checked by the services."""
    key = request.auth
    if isinstance(key, marketplace.AuthenticatedKey) and scope not in key.scopes:
        raise exceptions.PermissionDenied(
            f"This API key lacks the '{scope}' scope.", code="insufficient_scope"
        )


def acting_organization(request, *, role: str, scope: str) -> marketplace.OrganizationInfo:
    """Return the organization the request acts for, which must have `role`.

    An API key acts for its own organization. A signed-in user names one with the
    `X-Organization` header or `organization` query parameter, unless they belong to only one.
    """
    require_scope(request, scope)
    if isinstance(request.auth, marketplace.AuthenticatedKey):
        organization = request.auth.organization  # loaded with the key, a moment ago
    else:
        actor = actor_from_request(request)
        organization_id = request.headers.get("X-Organization") or request.query_params.get(
            "organization"
        )
        if not organization_id:
            mine = marketplace.list_organizations(actor=actor)
            if len(mine) != 1:
                raise exceptions.ValidationError(
                    {"organization": ["Name the organization you act for (X-Organization)."]},
                    code="organization_required",
                )
            organization_id = mine[0].id
        organization = marketplace.get_organization(actor=actor, organization_id=organization_id)
    if role not in organization.roles:
        raise exceptions.PermissionDenied(
            f"This needs an organization with the {role} role.", code="wrong_role"
        )
    return organization
