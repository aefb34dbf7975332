from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from billing.api.payment_views import stripe_webhook
from config import health
from core.api import errors
from licensing.api import views as licensing_views

api_v1 = [
    path("", include("accounts.api.urls")),
    path("", include("catalog.api.urls")),
    path("", include("licensing.api.urls")),
    path("", include("billing.api.urls")),
    path("", include("billing.api.payment_urls")),
    path("", include("ads.api.urls")),
    path("", include("marketplace.api.answer_urls")),
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("stripe/webhook", stripe_webhook, name="stripe-webhook"),
    path("robots.txt", licensing_views.robots_txt, name="robots"),
    path("", include("ads.urls")),  # /c/<token>: sponsored items' click URLs
    path("rsl/<slug:provider_slug>.xml", licensing_views.RSLDocumentView.as_view(), name="rsl"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI from drf-spectacular-sidecar, its script in a file of its own: no CDN, and
    # nothing inline for the Content-Security-Policy to allow.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="schema", template_name="portal/swagger_ui.html"
        ),
        name="api-docs",
    ),
    path("api/v1/", include(api_v1)),
    path("v1/", include("marketplace.api.openai.urls")),
    re_path(r"^(api|v1)/", errors.json_not_found),
    path("admin/", admin.site.urls),
    path("", include("portal.urls")),
]

handler400 = errors.handler400
handler403 = errors.handler403
handler404 = errors.handler404
handler500 = errors.handler500
