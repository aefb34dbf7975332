from django import forms
from django.contrib.auth.forms import AuthenticationForm

from marketplace import errors as marketplace_errors
from marketplace import services as marketplace

ORG_ROLE_CHOICES = [
    ("provider", "Data provider: license my content"),
    ("agent", "Agent operator: my agents ask questions"),
    ("advertiser", "Advertiser: sponsor content in answers"),
]


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


class RateLimitedAuthenticationForm(AuthenticationForm):
    """Django's login form, with attempts counted per address and account before hashing."""

    rate_limited = False
    retry_after_s = 0

    def clean(self):
        email = self.cleaned_data.get("username") or ""
        try:
            marketplace.check_login_allowed(email=email, client_ip=client_ip(self.request))
        except marketplace_errors.RateLimited as exc:
            self.rate_limited = True
            self.retry_after_s = exc.retry_after_s
            raise forms.ValidationError(exc.message, code="rate_limited") from exc
        return super().clean()


class SignUpForm(forms.Form):
    email = forms.EmailField(max_length=254)
    password = forms.CharField(widget=forms.PasswordInput, strip=False, max_length=128)
    organization_name = forms.CharField(max_length=120)
    roles = forms.MultipleChoiceField(choices=ORG_ROLE_CHOICES, widget=forms.CheckboxSelectMultiple)


class APIKeyForm(forms.Form):
    name = forms.CharField(max_length=100)
    scopes = forms.MultipleChoiceField(
        choices=[(scope, f"{scope}: {text}") for scope, text in marketplace.SCOPES.items()],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Leave empty for every scope your organization's roles allow, except admin.",
    )


class MemberForm(forms.Form):
    email = forms.EmailField(max_length=254)
    role = forms.ChoiceField(choices=[("member", "Member"), ("admin", "Admin"), ("owner", "Owner")])
