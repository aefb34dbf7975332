"""Server-rendered pages: sign-up, login, and an organization's keys and members."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from marketplace import errors as marketplace_errors
from marketplace import services as marketplace
from portal.forms import APIKeyForm, MemberForm, RateLimitedAuthenticationForm, SignUpForm


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


def signup(request):
    if request.user.is_authenticated:
        return redirect("portal:dashboard")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user, _org = marketplace.sign_up(**form.cleaned_data)
        except marketplace_errors.DomainError as exc:
            form.add_error(None, exc.message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, "Welcome to Provenant. Create an API key to get started.")
            return redirect("portal:dashboard")
    return render(request, "portal/signup.html", {"form": form}, status=400 if form.errors else 200)


def _actor(request) -> marketplace.Actor:
    return marketplace.actor_for_user(user_id=request.user.pk)


@login_required
def dashboard(request):
    orgs = marketplace.list_organizations(actor=_actor(request))
    if len(orgs) == 1:
        return redirect("portal:organization", organization_id=orgs[0].id)
    return render(request, "portal/dashboard.html", {"organizations": orgs})


@login_required
def organization(request, organization_id):
    actor = _actor(request)
    try:
        org = marketplace.get_organization(actor=actor, organization_id=organization_id)
        members = marketplace.list_members(actor=actor, organization_id=organization_id)
    except marketplace_errors.NotFound:
        return render(request, "portal/not_found.html", status=404)
    can_manage = org.my_role in ("owner", "admin")
    keys = (
        marketplace.list_api_keys(actor=actor, organization_id=organization_id)
        if can_manage
        else []
    )
    return render(
        request,
        "portal/organization.html",
        {
            "org": org,
            "members": members,
            "keys": keys,
            "can_manage": can_manage,
            "key_form": APIKeyForm(),
            "member_form": MemberForm(),
            "new_key": request.session.pop("new_api_key", None),
        },
    )


@login_required
@require_POST
def create_key(request, organization_id):
    form = APIKeyForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the key a name (at most 100 characters).")
        return redirect("portal:organization", organization_id=organization_id)
    try:
        created = marketplace.create_api_key(
            actor=_actor(request),
            organization_id=organization_id,
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"] or None,
        )
    except marketplace_errors.NotFound:
        return render(request, "portal/not_found.html", status=404)
    except marketplace_errors.DomainError as exc:
        messages.error(request, exc.message)
    else:
        # Shown once on the next page, then gone from the session.
        request.session["new_api_key"] = created.secret
    return redirect("portal:organization", organization_id=organization_id)


@login_required
@require_POST
def revoke_key(request, organization_id, api_key_id):
    try:
        key = marketplace.revoke_api_key(
            actor=_actor(request), organization_id=organization_id, api_key_id=api_key_id
        )
    except marketplace_errors.NotFound:
        return render(request, "portal/not_found.html", status=404)
    except marketplace_errors.DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Key {key.name} ({key.prefix}) is revoked.")
    return redirect("portal:organization", organization_id=organization_id)


@login_required
@require_POST
def add_member(request, organization_id):
    form = MemberForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter a valid email address and role.")
        return redirect("portal:organization", organization_id=organization_id)
    try:
        member = marketplace.add_member(
            actor=_actor(request), organization_id=organization_id, **form.cleaned_data
        )
    except marketplace_errors.NotFound:
        return render(request, "portal/not_found.html", status=404)
    except marketplace_errors.DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{member.email} joined as {member.role}.")
    return redirect("portal:organization", organization_id=organization_id)
