from django.contrib.auth import views as auth_views
from django.urls import path

from portal import advertiser_urls as advertiser
from portal import agent_urls as agent
from portal import (
    billing_views,
    content_views,
    offer_views,
    password_views,
    provider_views,
    report_urls,
    views,
)

app_name = "portal"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("signup/", views.signup, name="signup"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", password_views.PasswordResetView.as_view(), name="password-reset"),
    path(
        "password-reset/sent/",
        password_views.PasswordResetDoneView.as_view(),
        name="password-reset-done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        password_views.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path(
        "password-reset/done/",
        password_views.PasswordResetCompleteView.as_view(),
        name="password-reset-complete",
    ),
    path("orgs/<uuid:organization_id>/", views.organization, name="organization"),
    path("orgs/<uuid:organization_id>/keys/", views.create_key, name="create-key"),
    path(
        "orgs/<uuid:organization_id>/keys/<uuid:api_key_id>/revoke/",
        views.revoke_key,
        name="revoke-key",
    ),
    path("orgs/<uuid:organization_id>/invitations/", views.invite_member, name="invite-member"),
    path(
        "orgs/<uuid:organization_id>/invitations/<uuid:invitation_id>/revoke/",
        views.revoke_invitation,
        name="revoke-invitation",
    ),
    path("orgs/<uuid:organization_id>/leave/", views.leave_organization, name="leave"),
    path("invitations/<str:token>/", views.invitation, name="invitation"),
    path("orgs/<uuid:organization_id>/billing/", billing_views.billing_page, name="billing"),
    path(
        "orgs/<uuid:organization_id>/billing/top-up/",
        billing_views.top_up,
        name="billing-top-up",
    ),
    path(
        "orgs/<uuid:organization_id>/billing/connect/",
        billing_views.connect,
        name="billing-connect",
    ),
    path(
        "orgs/<uuid:organization_id>/billing/payout/",
        billing_views.payout,
        name="billing-payout",
    ),
    # Provider: content
    path("orgs/<uuid:organization_id>/content/", content_views.collections, name="collections"),
    path(
        "orgs/<uuid:organization_id>/content/<uuid:collection_id>/",
        content_views.collection,
        name="collection",
    ),
    path(
        "orgs/<uuid:organization_id>/content/<uuid:collection_id>/upload/",
        content_views.upload,
        name="upload",
    ),
    path(
        "orgs/<uuid:organization_id>/content/<uuid:collection_id>/delete/",
        content_views.delete_collection,
        name="collection-delete",
    ),
    path(
        "orgs/<uuid:organization_id>/uploads/<uuid:job_id>/",
        content_views.ingestion_job,
        name="ingestion-job",
    ),
    path(
        "orgs/<uuid:organization_id>/uploads/<uuid:job_id>/retry/",
        content_views.retry_job,
        name="ingestion-retry",
    ),
    path(
        "orgs/<uuid:organization_id>/documents/<int:document_id>/",
        content_views.document,
        name="document",
    ),
    path(
        "orgs/<uuid:organization_id>/documents/<int:document_id>/delete/",
        content_views.delete_document,
        name="document-delete",
    ),
    # Provider: offers
    path("orgs/<uuid:organization_id>/offers/", offer_views.offers, name="offers"),
    path("orgs/<uuid:organization_id>/offers/new/", offer_views.offer_new, name="offer-new"),
    path(
        "orgs/<uuid:organization_id>/offers/preview/",
        offer_views.price_preview,
        name="offer-preview",
    ),
    path("orgs/<uuid:organization_id>/offers/<uuid:offer_id>/", offer_views.offer, name="offer"),
    path(
        "orgs/<uuid:organization_id>/offers/<uuid:offer_id>/publish/",
        offer_views.offer_publish,
        name="offer-publish",
    ),
    path(
        "orgs/<uuid:organization_id>/offers/<uuid:offer_id>/retire/",
        offer_views.offer_retire,
        name="offer-retire",
    ),
    # Provider: overview and licensees
    path(
        "orgs/<uuid:organization_id>/overview/",
        provider_views.dashboard,
        name="provider-dashboard",
    ),
    path("orgs/<uuid:organization_id>/licensees/", provider_views.licensees, name="licensees"),
    path(
        "orgs/<uuid:organization_id>/licensees/notice/",
        provider_views.give_notice,
        name="licensee-notice",
    ),
    *report_urls.urlpatterns,
]

urlpatterns += agent.urlpatterns
urlpatterns += advertiser.urlpatterns
