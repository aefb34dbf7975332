from rest_framework import serializers

from accounts import services
from accounts.models import APIKey, Membership, Organization
from core.api.serializers import StrictSerializer

ORG_ROLES = tuple(services.ROLES)


class OrganizationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    slug = serializers.CharField()
    roles = serializers.ListField(child=serializers.ChoiceField(choices=ORG_ROLES))
    my_role = serializers.ChoiceField(
        choices=Membership.Role.choices,
        allow_null=True,
        help_text="Your membership role (null when an API key is acting).",
    )
    created_at = serializers.DateTimeField()


class OrganizationCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=Organization._meta.get_field("name").max_length)
    roles = serializers.ListField(
        child=serializers.ChoiceField(choices=ORG_ROLES), min_length=1, max_length=3
    )


class MemberSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    user_id = serializers.IntegerField()
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Membership.Role.choices)
    created_at = serializers.DateTimeField()


class InvitationCreateSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=Membership.Role.choices, default="member")


class InvitationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    organization_id = serializers.UUIDField()
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Membership.Role.choices)
    status = serializers.ChoiceField(choices=["pending", "accepted", "revoked", "expired"])
    invited_by_email = serializers.EmailField(allow_null=True)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    accepted_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class InvitationAcceptSerializer(StrictSerializer):
    token = serializers.CharField(max_length=100, help_text="The token from the emailed link.")


class MemberUpdateSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class APIKeySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The public part of the key, shown in listings.")
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=list(services.SCOPES)))
    rate_limit_per_minute = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True)
    is_active = serializers.BooleanField()
    allow_sponsored = serializers.BooleanField(
        help_text="Whether answers to this key carry sponsored items when a request does not "
        "say (`allow_sponsored` on the request overrides it)."
    )


class APIKeyCreatedSerializer(APIKeySerializer):
    key = serializers.CharField(help_text="The full key. It is shown only in this response.")


class APIKeyCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=APIKey._meta.get_field("name").max_length)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=list(services.SCOPES)),
        required=False,
        min_length=1,
        help_text="Defaults to every scope the organization's roles allow, except 'admin'.",
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    rate_limit_per_minute = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=1_000_000
    )
    allow_sponsored = serializers.BooleanField(
        required=False,
        default=False,
        help_text="The key's default for sponsored items beside answers (opt-in; a request's "
        "own `allow_sponsored` overrides it).",
    )


class APIKeyUpdateSerializer(StrictSerializer):
    min_fields = 1
    allow_sponsored = serializers.BooleanField(
        help_text="The key's default for sponsored items beside answers."
    )
