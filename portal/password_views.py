"""Password reset by email: Django's views, with the portal's pages, a rate limit on the
requests (each sends an email) and links to PORTAL_BASE_URL when it is set. The email goes
through EMAIL_BACKEND (printed to the console unless an SMTP host is set)."""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.urls import reverse_lazy

from accounts import errors as accounts_errors
from accounts import services as accounts
from portal.forms import client_address


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "portal/password_reset.html"
    email_template_name = "portal/email/password_reset.txt"
    subject_template_name = "portal/email/password_reset_subject.txt"
    success_url = reverse_lazy("portal:password-reset-done")

    def form_valid(self, form):
        try:
            accounts.check_password_reset_allowed(
                email=form.cleaned_data["email"], client_ip=client_address(self.request)
            )
        except accounts_errors.RateLimited as exc:
            form.add_error(None, exc.message)
            response = self.form_invalid(form)
            response.status_code = 429
            response["Retry-After"] = str(exc.retry_after_s)
            return response
        base_url = settings.PORTAL_BASE_URL or f"{self.request.scheme}://{self.request.get_host()}"
        self.extra_email_context = {"base_url": base_url.rstrip("/")}
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "portal/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "portal/password_reset_confirm.html"
    success_url = reverse_lazy("portal:password-reset-complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "portal/password_reset_complete.html"
