"""Everyone's pages: the dashboard, signing up and in, password resets, an organization's
members, invitations and API keys."""

from django.contrib.auth import views as auth_views
from django.urls import path

from portal import password_views, views

ORG = "orgs/<uuid:organization_id>/"
RESET = "password-reset/"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("signup/", views.signup, name="signup"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(RESET, password_views.PasswordResetView.as_view(), name="password-reset"),
    path(
        f"{RESET}sent/",
        password_views.PasswordResetDoneView.as_view(),
        name="password-reset-done",
    ),
    path(
        f"{RESET}<uidb64>/<token>/",
        password_views.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path(
        f"{RESET}done/",
        password_views.PasswordResetCompleteView.as_view(),
        name="password-reset-complete",
    ),
    path(ORG, views.organization, name="organization"),
    path(f"{ORG}keys/", views.create_key, name="create-key"),
    path(f"{ORG}keys/<uuid:api_key_id>/revoke/", views.revoke_key, name="revoke-key"),
    path(f"{ORG}invitations/", views.invite_member, name="invite-member"),
    path(
        f"{ORG}invitations/<uuid:invitation_id>/revoke/",
        views.revoke_invitation,
        name="revoke-invitation",
    ),
    path(f"{ORG}leave/", views.leave_organization, name="leave"),
    path("invitations/<str:token>/", views.invitation, name="invitation"),
]
