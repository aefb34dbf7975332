from django.urls import path

from accounts.api import views

urlpatterns = [
    path("organizations", views.OrganizationListView.as_view(), name="organizations"),
    path(
        "organizations/<uuid:organization_id>",
        views.OrganizationDetailView.as_view(),
        name="organization",
    ),
    path(
        "organizations/<uuid:organization_id>/members",
        views.MemberListView.as_view(),
        name="members",
    ),
    path(
        "organizations/<uuid:organization_id>/members/<uuid:membership_id>",
        views.MemberDetailView.as_view(),
        name="member",
    ),
    path(
        "organizations/<uuid:organization_id>/leave",
        views.OrganizationLeaveView.as_view(),
        name="organization-leave",
    ),
    path(
        "organizations/<uuid:organization_id>/invitations",
        views.InvitationListView.as_view(),
        name="invitations",
    ),
    path(
        "organizations/<uuid:organization_id>/invitations/<uuid:invitation_id>/revoke",
        views.InvitationRevokeView.as_view(),
        name="invitation-revoke",
    ),
    path("invitations/accept", views.InvitationAcceptView.as_view(), name="invitation-accept"),
    path(
        "organizations/<uuid:organization_id>/api-keys",
        views.APIKeyListView.as_view(),
        name="api-keys",
    ),
    path(
        "organizations/<uuid:organization_id>/api-keys/<uuid:api_key_id>",
        views.APIKeyDetailView.as_view(),
        name="api-key",
    ),
    path(
        "organizations/<uuid:organization_id>/api-keys/<uuid:api_key_id>/revoke",
        views.APIKeyRevokeView.as_view(),
        name="api-key-revoke",
    ),
]
