"""What a view declares it needs: `required_scope` (documented by the schema, enforced by
`accounts.api.auth.HasRequiredScope`)."""

# What a view's `required_scope` may name besides one of the API key scopes.
ANY_SCOPE = "any"  # any valid API key (or a signed-in user)
NO_AUTH = "none"  # public: no key needed


def required_scope_for(view: object, method: str) -> str | None:
    """Return the scope an API key needs for this view and method, or None if undeclared.

    A view declares `required_scope = "licensing"`, or one per method
    (`required_scope = {"get": "licensing", "post": "query"}`). The schema documents it
    (`x-required-scope`) and `HasRequiredScope` enforces it.
    """
    declared: str | dict[str, str] | None = getattr(view, "required_scope", None)
    if isinstance(declared, dict):
        return declared.get(method.lower())
    return declared
