"""Dataset exports of purchase licences: made by POST, downloaded from a signed URL (ZIP)."""

from django.http import StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services as accounts
from accounts.api.auth import actor_from_request, requested_organization_id
from billing import services
from billing.api import serializers as s


class ZipRenderer(BaseRenderer):
    """Lets `Accept: application/zip` through content negotiation (the download streams)."""

    media_type = "application/zip"
    format = "zip"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        return JSONRenderer().render(data)  # only errors come through a renderer


def _acting(request) -> dict:
    return {
        "actor": actor_from_request(request),
        "organization_id": requested_organization_id(request),
    }


class DatasetExportView(APIView):
    required_scope = accounts.LICENSING

    @extend_schema(
        request=s.DatasetExportCreateSerializer,
        responses={201: s.DatasetExportSerializer},
        operation_id="agreements_dataset_export",
    )
    def post(self, request, agreement_id):
        """Make a dataset export of your paid purchase (training or dataset) licence: a signed
        download URL for a ZIP of the licensed collections' documents (data.jsonl) and a
        manifest (the licence's terms, offer version, provider; every document's id, version
        and content hash). Metered as one `ai-train` use. 402 while the purchase is unpaid;
        409 for a licence that is not a purchase, does not permit ai-train, or has ended."""
        data = s.DatasetExportCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        export = services.create_dataset_export(**_acting(request), agreement_id=agreement_id)
        url = request.build_absolute_uri(reverse("dataset-export-download", args=[export.token]))
        body = {
            "id": export.id,
            "agreement_id": export.agreement_id,
            "documents": export.documents,
            "created_at": export.created_at,
            "expires_at": export.expires_at,
            "url": url,
        }
        return Response(s.DatasetExportSerializer(body).data, status=status.HTTP_201_CREATED)


class DatasetExportDownloadView(APIView):
    required_scope = accounts.LICENSING
    renderer_classes = [JSONRenderer, ZipRenderer]

    @extend_schema(
        responses={
            (200, "application/zip"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="A ZIP archive: data.jsonl (one document a line) and manifest.json.",
            ),
            (410, "application/json"): OpenApiResponse(
                description="The link has expired (`export_expired`): make a new export."
            ),
        },
        operation_id="dataset_exports_download",
    )
    def get(self, request, token):
        """Download a dataset export (with the key of the organization that made it)."""
        source = services.open_dataset_export(**_acting(request), token=token)
        response = StreamingHttpResponse(
            services.export_archive(source, base_url=request.build_absolute_uri("/").rstrip("/")),
            content_type="application/zip",
        )
        response["Content-Disposition"] = f'attachment; filename="{source.filename}"'
        response["Cache-Control"] = "no-store"
        return response
