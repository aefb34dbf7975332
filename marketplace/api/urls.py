from django.urls import path

from marketplace.api import views

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
        "organizations/<uuid:organization_id>/api-keys",
        views.APIKeyListView.as_view(),
        name="api-keys",
    ),
    path(
        "organizations/<uuid:organization_id>/api-keys/<uuid:api_key_id>/revoke",
        views.APIKeyRevokeView.as_view(),
        name="api-key-revoke",
    ),
]
