"""The operations admin: Django's admin site, whose login counts attempts like the portal's."""

from django.contrib import admin

from portal.forms import RateLimitedAdminAuthenticationForm


class RateLimitedAdminSite(admin.AdminSite):
    site_header = "Provenant operations"
    login_form = RateLimitedAdminAuthenticationForm

    def login(self, request, extra_context=None):
        """Log in; past the limit, answer 429 with Retry-After before any password is hashed."""
        response = super().login(request, extra_context)
        form = (getattr(response, "context_data", None) or {}).get("form")
        if getattr(form, "rate_limited", False):
            response.status_code = 429
            response["Retry-After"] = str(form.retry_after_s)
        return response
