from django.contrib.auth import views as auth_views
from django.urls import path

from portal import billing_views, password_views, views

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
]
