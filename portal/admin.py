# The admin site itself is portal.admin_site.RateLimitedAdminSite (see portal.apps).
