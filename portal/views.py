"""Server-rendered pages: sign-up, login, invitations, and an organization's keys and members."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST

from accounts import errors as accounts_errors
from accounts import services as accounts
from portal.actions import act
from portal.forms import (
    APIKeyForm,
    InvitationForm,
    InvitedSignUpForm,
    RateLimitedAuthenticationForm,
    SignUpForm,
    client_address,
)


class LoginView(auth_views.LoginView):
    template_name = "portal/login.html"
    authentication_form = RateLimitedAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.rate_limited:
            response.status_code = 429
            response["Retry-After"] = str(form.retry_after_s)
        return response


def _rate_limited(response, exc: accounts_errors.RateLimited):
    response.status_code = 429
    response["Retry-After"] = str(exc.retry_after_s)
    return response


def signup(request):
    if request.user.is_authenticated:
        return redirect("portal:dashboard")
    form = SignUpForm(request.POST or None)
    limited = None
    if request.method == "POST" and form.is_valid():
        try:
            user, _org = accounts.sign_up(
                **form.cleaned_data, client_address=client_address(request)
            )
        except accounts_errors.RateLimited as exc:
            form.add_error(None, exc.message)
            limited = exc
        except accounts_errors.ValidationFailed as exc:
            _show_next_to_fields(form, exc)
        except accounts_errors.DomainError as exc:
            form.add_error(None, exc.message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, "Welcome to Provenant. Create an API key to get started.")
            return redirect("portal:dashboard")
    if request.method == "POST" and form.errors:
        # The form stopped at its own fields; the service's checks say the rest now too.
        try:
            accounts.check_sign_up(
                email=str(request.POST.get("email", "")),
                password=str(request.POST.get("password", "")),
                organization_name=str(request.POST.get("organization_name", "")),
                roles=[r for r in request.POST.getlist("roles") if isinstance(r, str)],
            )
        except accounts_errors.ValidationFailed as exc:
            _show_next_to_fields(form, exc, skip=set(form.errors))
    response = render(
        request, "portal/signup.html", {"form": form}, status=400 if form.errors else 200
    )
    return _rate_limited(response, limited) if limited else response


# The service names the organization's name `name`; the form, `organization_name`.
SIGN_UP_FIELDS = {"name": "organization_name"}


def _show_next_to_fields(form, refusal, *, skip: set[str] = frozenset()) -> None:
    """Put each of a refusal's messages next to its field (the rest above the form), except
    on the fields in `skip` (which already say what is wrong)."""
    for field_name, texts in (refusal.details or {}).items():
        field_name = SIGN_UP_FIELDS.get(field_name, field_name)
        if field_name in skip:
            continue
        for text in texts:
            form.add_error(field_name if field_name in form.fields else None, text)
    if not refusal.details:
        form.add_error(None, refusal.message)


def _actor(request) -> accounts.Actor:
    return accounts.actor_for_user(user_id=request.user.pk)


@login_required
def dashboard(request):
    orgs = accounts.list_organizations(actor=_actor(request))
    if len(orgs) == 1:
        return redirect("portal:organization", organization_id=orgs[0].id)
    return render(request, "portal/dashboard.html", {"organizations": orgs})


def _organization_page(request, organization_id, *, new_key: str | None = None):
    actor = _actor(request)
    try:
        org = accounts.get_organization(actor=actor, organization_id=organization_id)
        members = accounts.list_members(actor=actor, organization_id=organization_id)
    except accounts_errors.NotFound:
        return render(request, "portal/not_found.html", status=404)
    can_manage = org.my_role in ("owner", "admin")
    keys, invitations = [], []
    if can_manage:
        keys = accounts.list_api_keys(actor=actor, organization_id=organization_id)
        invitations = [
            invitation
            for invitation in accounts.list_invitations(
                actor=actor, organization_id=organization_id
            )
            if invitation.status == "pending"
        ]
    response = render(
        request,
        "portal/organization.html",
        {
            "org": org,
            "members": members,
            "keys": keys,
            "invitations": invitations,
            "can_manage": can_manage,
            # The service refuses the last owner's leaving; the page says so up front.
            "sole_owner": org.my_role == "owner"
            and sum(member.role == "owner" for member in members) == 1,
            "key_form": APIKeyForm(),
            "invitation_form": InvitationForm(),
            "new_key": new_key,
        },
    )
    if new_key is not None:
        add_never_cache_headers(response)  # the secret is in this page: no cache may keep it
    return response


@login_required
def organization(request, organization_id):
    return _organization_page(request, organization_id)


def _organization_url(organization_id) -> str:
    return reverse("portal:organization", kwargs={"organization_id": organization_id})


def _done(request, organization_id, text: str):
    messages.success(request, text)
    return redirect(_organization_url(organization_id))


@login_required
@require_POST
def create_key(request, organization_id):
    form = APIKeyForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the key a name (at most 100 characters).")
        return redirect("portal:organization", organization_id=organization_id)
    return act(
        request,
        lambda: accounts.create_api_key(
            actor=_actor(request),
            organization_id=organization_id,
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"] or None,
        ),
        # Shown once, in this response; the secret is never written to the session or anywhere.
        lambda created: _organization_page(request, organization_id, new_key=created.secret),
        back=_organization_url(organization_id),
    )


@login_required
@require_POST
def revoke_key(request, organization_id, api_key_id):
    return act(
        request,
        lambda: accounts.revoke_api_key(
            actor=_actor(request), organization_id=organization_id, api_key_id=api_key_id
        ),
        lambda key: _done(request, organization_id, f"Key {key.name} ({key.prefix}) is revoked."),
        back=_organization_url(organization_id),
    )


@login_required
@require_POST
def invite_member(request, organization_id):
    form = InvitationForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter a valid email address and role.")
        return redirect("portal:organization", organization_id=organization_id)
    return act(
        request,
        lambda: accounts.invite_member(
            actor=_actor(request),
            organization_id=organization_id,
            base_url=request.build_absolute_uri("/"),
            **form.cleaned_data,
        ),
        lambda invitation: _done(
            request,
            organization_id,
            f"Invitation sent to {invitation.email} to join as {invitation.role}.",
        ),
        back=_organization_url(organization_id),
    )


@login_required
@require_POST
def revoke_invitation(request, organization_id, invitation_id):
    return act(
        request,
        lambda: accounts.revoke_invitation(
            actor=_actor(request), organization_id=organization_id, invitation_id=invitation_id
        ),
        lambda invitation: _done(
            request, organization_id, f"The invitation to {invitation.email} is revoked."
        ),
        back=_organization_url(organization_id),
    )


@login_required
@require_POST
def leave_organization(request, organization_id):
    def left(_):
        messages.success(request, "You left the organization.")
        return redirect("portal:dashboard")

    return act(
        request,
        lambda: accounts.leave_organization(actor=_actor(request), organization_id=organization_id),
        left,
        back=_organization_url(organization_id),
    )


def invitation(request, token):
    """Show an invitation; accept it signed in as the invited address, or sign up from it."""
    try:
        preview = accounts.preview_invitation(token=token)
    except accounts_errors.NotFound:
        return render(request, "portal/not_found.html", status=404)
    except accounts_errors.DomainError as exc:
        return render(request, "portal/invitation.html", {"error": exc.message}, status=410)
    form = InvitedSignUpForm(request.POST or None)
    error, limited = None, None
    if request.method == "POST":
        try:
            if request.user.is_authenticated:
                org = accounts.accept_invitation(user_id=request.user.pk, token=token)
                messages.success(request, f"You joined {org.name} as {org.my_role}.")
                return redirect("portal:organization", organization_id=org.id)
            if not form.is_valid():
                raise accounts_errors.ValidationFailed("Choose a password for your account.")
            user, org = accounts.sign_up_invited(
                token=token,
                password=form.cleaned_data["password"],
                client_address=client_address(request),
            )
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to Provenant. You joined {org.name}.")
            return redirect("portal:organization", organization_id=org.id)
        except accounts_errors.RateLimited as exc:
            error, limited = exc.message, exc
        except accounts_errors.DomainError as exc:
            error = exc.message
    email_matches = (
        request.user.is_authenticated and request.user.email.lower() == preview.email.lower()
    )
    response = render(
        request,
        "portal/invitation.html",
        {"invitation": preview, "form": form, "error": error, "email_matches": email_matches},
        status=400 if error else 200,
    )
    return _rate_limited(response, limited) if limited else response
