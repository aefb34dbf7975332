from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config import errors, health

api_v1 = [
    path("", include("marketplace.api.urls")),
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include(api_v1)),
    re_path(r"^(api|v1)/", errors.json_not_found),
    path("admin/", admin.site.urls),
    path("", include("portal.urls")),
]

handler404 = errors.handler404
handler500 = errors.handler500
