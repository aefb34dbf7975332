from django.contrib import admin

from portal.forms import RateLimitedAuthenticationForm

# The admin's login is rate-limited like the portal's, before any password hash is checked.
admin.site.login_form = RateLimitedAuthenticationForm
admin.site.site_header = "Provenant operations"
