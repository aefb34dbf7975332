"""Organizations, members and API keys. Views validate, call one service, serialize."""

from dataclasses import asdict

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.api import serializers as s
from accounts.api.auth import actor_from_request
from core.api.scopes import ANY_SCOPE


def _key_data(key: services.APIKeyInfo) -> dict:
    return {**asdict(key), "is_active": key.is_active}


class OrganizationListView(APIView):
    required_scope = {"get": ANY_SCOPE, "post": services.ADMIN}

    @extend_schema(responses=s.OrganizationSerializer(many=True), operation_id="organizations_list")
    def get(self, request):
        """List the organizations you belong to (an API key sees its own)."""
        orgs = services.list_organizations(actor=actor_from_request(request))
        return Response(s.OrganizationSerializer([asdict(o) for o in orgs], many=True).data)

    @extend_schema(
        request=s.OrganizationCreateSerializer,
        responses={201: s.OrganizationSerializer},
        operation_id="organizations_create",
    )
    def post(self, request):
        """Create an organization that you own (signed-in users only)."""
        actor = actor_from_request(request)
        if actor.user_id is None:
            return Response(
                {
                    "code": "user_required",
                    "message": "Only a signed-in user can create organizations.",
                    "details": {},
                },
                status=status.HTTP_403_FORBIDDEN,
            )
        data = s.OrganizationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        org = services.create_organization(user_id=actor.user_id, **data.validated_data)
        return Response(s.OrganizationSerializer(asdict(org)).data, status=status.HTTP_201_CREATED)


class OrganizationDetailView(APIView):
    required_scope = ANY_SCOPE

    @extend_schema(responses=s.OrganizationSerializer, operation_id="organizations_retrieve")
    def get(self, request, organization_id):
        org = services.get_organization(
            actor=actor_from_request(request), organization_id=organization_id
        )
        return Response(s.OrganizationSerializer(asdict(org)).data)


class MemberListView(APIView):
    required_scope = services.ADMIN

    @extend_schema(responses=s.MemberSerializer(many=True), operation_id="members_list")
    def get(self, request, organization_id):
        members = services.list_members(
            actor=actor_from_request(request), organization_id=organization_id
        )
        return Response(s.MemberSerializer([asdict(m) for m in members], many=True).data)


class MemberDetailView(APIView):
    required_scope = services.ADMIN

    @extend_schema(
        request=s.MemberUpdateSerializer,
        responses=s.MemberSerializer,
        operation_id="members_update",
    )
    def patch(self, request, organization_id, membership_id):
        """Change a member's role."""
        data = s.MemberUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        member = services.change_member_role(
            actor=actor_from_request(request),
            organization_id=organization_id,
            membership_id=membership_id,
            role=data.validated_data["role"],
        )
        return Response(s.MemberSerializer(asdict(member)).data)

    @extend_schema(responses={204: None}, operation_id="members_destroy")
    def delete(self, request, organization_id, membership_id):
        """Remove a member, or yourself to leave (the last owner stays)."""
        services.remove_member(
            actor=actor_from_request(request),
            organization_id=organization_id,
            membership_id=membership_id,
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class OrganizationLeaveView(APIView):
    required_scope = ANY_SCOPE

    @extend_schema(request=None, responses={204: None}, operation_id="organizations_leave")
    def post(self, request, organization_id):
        """Leave the organization (signed-in users; the last owner must hand over first)."""
        services.leave_organization(
            actor=actor_from_request(request), organization_id=organization_id
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationListView(APIView):
    required_scope = services.ADMIN

    @extend_schema(responses=s.InvitationSerializer(many=True), operation_id="invitations_list")
    def get(self, request, organization_id):
        """List the organization's invitations, newest first (owners and admins)."""
        invitations = services.list_invitations(
            actor=actor_from_request(request), organization_id=organization_id
        )
        return Response(s.InvitationSerializer([asdict(i) for i in invitations], many=True).data)

    @extend_schema(
        request=s.InvitationCreateSerializer,
        responses={201: s.InvitationSerializer},
        operation_id="invitations_create",
    )
    def post(self, request, organization_id):
        """Invite an email address; it joins when the invitee accepts the emailed link.

        The answer is the same whether or not the address has an account.
        """
        data = s.InvitationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = services.invite_member(
            actor=actor_from_request(request),
            organization_id=organization_id,
            base_url=request.build_absolute_uri("/"),
            **data.validated_data,
        )
        return Response(
            s.InvitationSerializer(asdict(invitation)).data, status=status.HTTP_201_CREATED
        )


class InvitationRevokeView(APIView):
    required_scope = services.ADMIN

    @extend_schema(
        request=None, responses=s.InvitationSerializer, operation_id="invitations_revoke"
    )
    def post(self, request, organization_id, invitation_id):
        """Revoke a pending invitation; its link stops working at once."""
        invitation = services.revoke_invitation(
            actor=actor_from_request(request),
            organization_id=organization_id,
            invitation_id=invitation_id,
        )
        return Response(s.InvitationSerializer(asdict(invitation)).data)


class InvitationAcceptView(APIView):
    required_scope = ANY_SCOPE

    @extend_schema(
        request=s.InvitationAcceptSerializer,
        responses=s.OrganizationSerializer,
        operation_id="invitations_accept",
    )
    def post(self, request):
        """Accept an invitation addressed to your email (signed-in users only)."""
        actor = actor_from_request(request)
        if actor.user_id is None:
            raise PermissionDenied(
                "Only a signed-in user can accept an invitation.", code="user_required"
            )
        data = s.InvitationAcceptSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        org = services.accept_invitation(user_id=actor.user_id, **data.validated_data)
        return Response(s.OrganizationSerializer(asdict(org)).data)


class APIKeyListView(APIView):
    required_scope = services.ADMIN

    @extend_schema(responses=s.APIKeySerializer(many=True), operation_id="api_keys_list")
    def get(self, request, organization_id):
        """List the organization's keys (prefixes only; secrets are never shown again)."""
        keys = services.list_api_keys(
            actor=actor_from_request(request), organization_id=organization_id
        )
        return Response(s.APIKeySerializer([_key_data(k) for k in keys], many=True).data)

    @extend_schema(
        request=s.APIKeyCreateSerializer,
        responses={201: s.APIKeyCreatedSerializer},
        operation_id="api_keys_create",
    )
    def post(self, request, organization_id):
        """Create a key. The response carries the full key once; store it now."""
        data = s.APIKeyCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = services.create_api_key(
            actor=actor_from_request(request),
            organization_id=organization_id,
            **data.validated_data,
        )
        body = {**_key_data(created.key), "key": created.secret}
        return Response(s.APIKeyCreatedSerializer(body).data, status=status.HTTP_201_CREATED)


class APIKeyDetailView(APIView):
    required_scope = services.ADMIN

    @extend_schema(
        request=s.APIKeyUpdateSerializer,
        responses=s.APIKeySerializer,
        operation_id="api_keys_update",
    )
    def patch(self, request, organization_id, api_key_id):
        """Change a key's default for sponsored items beside its answers."""
        data = s.APIKeyUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key = services.update_api_key(
            actor=actor_from_request(request),
            organization_id=organization_id,
            api_key_id=api_key_id,
            **data.validated_data,
        )
        return Response(s.APIKeySerializer(_key_data(key)).data)


class APIKeyRevokeView(APIView):
    required_scope = services.ADMIN

    @extend_schema(request=None, responses=s.APIKeySerializer, operation_id="api_keys_revoke")
    def post(self, request, organization_id, api_key_id):
        """Revoke a key at once. Requests with it get 401 from now on."""
        key = services.revoke_api_key(
            actor=actor_from_request(request),
            organization_id=organization_id,
            api_key_id=api_key_id,
        )
        return Response(s.APIKeySerializer(_key_data(key)).data)
