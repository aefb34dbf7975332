from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm

from accounts import errors as accounts_errors
from accounts import services as accounts

ORG_ROLE_CHOICES = [(role, text[:1].upper() + text[1:]) for role, text in accounts.ROLES.items()]


def client_address(request) -> str:
    """Return the client's address behind the trusted proxies (see TRUSTED_PROXY_COUNT)."""
    return accounts.client_address(request.META) if request is not None else "unknown"


class RateLimitedLoginMixin:
    """Count attempts per client address and per account before any password is hashed."""

    rate_limited = False
    retry_after_s = 0

    def clean(self):
        email = self.cleaned_data.get("username") or ""
        try:
            accounts.check_login_allowed(email=email, client_ip=client_address(self.request))
        except accounts_errors.RateLimited as exc:
            self.rate_limited = True
            self.retry_after_s = exc.retry_after_s
            raise forms.ValidationError(exc.message, code="rate_limited") from exc
        return super().clean()


class RateLimitedAuthenticationForm(RateLimitedLoginMixin, AuthenticationForm):
    """The portal's login form."""


class RateLimitedAdminAuthenticationForm(RateLimitedLoginMixin, AdminAuthenticationForm):
    """The admin's login form: rate-limited, and still only for staff."""


class SignUpForm(forms.Form):
    email = forms.EmailField(max_length=254)
    password = forms.CharField(widget=forms.PasswordInput, strip=False, max_length=128)
    organization_name = forms.CharField(max_length=120)
    roles = forms.MultipleChoiceField(choices=ORG_ROLE_CHOICES, widget=forms.CheckboxSelectMultiple)


class APIKeyForm(forms.Form):
    name = forms.CharField(max_length=100)
    scopes = forms.MultipleChoiceField(
        choices=[(scope, f"{scope}: {text}") for scope, text in accounts.SCOPES.items()],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Leave empty for every scope your organization's roles allow, except admin.",
    )


class InvitationForm(forms.Form):
    email = forms.EmailField(max_length=254)
    role = forms.ChoiceField(choices=[("member", "Member"), ("admin", "Admin"), ("owner", "Owner")])


class InvitedSignUpForm(forms.Form):
    password = forms.CharField(widget=forms.PasswordInput, strip=False, max_length=128)
