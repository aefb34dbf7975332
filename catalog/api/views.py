"""The provider's catalog: collections, documents, uploads, URL ingestion, jobs and a search
preview. Views validate, call one service, serialize."""

from dataclasses import asdict

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.http.multipartparser import MultiPartParser as DjangoMultiPartParser
from django.http.multipartparser import MultiPartParserError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.parsers import DataAndFiles, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services as accounts
from accounts.api.auth import actor_from_request
from catalog import errors, services
from catalog.api import serializers as s

SCOPE = accounts.CATALOG


class CollectionListView(APIView):
    required_scope = SCOPE

    @extend_schema(
        parameters=[OpenApiParameter("organization_id", OpenApiTypes.UUID, required=False)],
        responses=s.CollectionSerializer(many=True),
        operation_id="collections_list",
    )
    def get(self, request):
        """List your organizations' collections."""
        collections = services.list_collections(
            actor=actor_from_request(request),
            organization_id=request.query_params.get("organization_id"),
        )
        return Response(s.CollectionSerializer([asdict(c) for c in collections], many=True).data)

    @extend_schema(
        request=s.CollectionCreateSerializer,
        responses={201: s.CollectionSerializer},
        operation_id="collections_create",
    )
    def post(self, request):
        """Create a collection in one of your provider organizations."""
        actor = actor_from_request(request)
        data = s.CollectionCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        collection = services.create_collection(actor=actor, **data.validated_data)
        return Response(s.CollectionSerializer(asdict(collection)).data, status=201)


class CollectionDetailView(APIView):
    required_scope = SCOPE

    @extend_schema(responses=s.CollectionSerializer, operation_id="collections_retrieve")
    def get(self, request, collection_id):
        collection = services.get_collection(
            actor=actor_from_request(request), collection_id=collection_id
        )
        return Response(s.CollectionSerializer(asdict(collection)).data)

    @extend_schema(
        request=s.CollectionUpdateSerializer,
        responses=s.CollectionSerializer,
        operation_id="collections_update",
    )
    def patch(self, request, collection_id):
        actor = actor_from_request(request)
        data = s.CollectionUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        collection = services.update_collection(
            actor=actor, collection_id=collection_id, **data.validated_data
        )
        return Response(s.CollectionSerializer(asdict(collection)).data)

    @extend_schema(responses={204: None}, operation_id="collections_destroy")
    def delete(self, request, collection_id):
        """Delete a collection, its documents and their chunks."""
        services.delete_collection(actor=actor_from_request(request), collection_id=collection_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DocumentListView(APIView):
    required_scope = SCOPE

    @extend_schema(
        parameters=[s.PageQuerySerializer],
        responses=s.DocumentPageSerializer,
        operation_id="documents_list",
    )
    def get(self, request, collection_id):
        """List a collection's documents, newest first."""
        actor = actor_from_request(request)
        query = s.PageQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        page = services.list_documents(
            actor=actor, collection_id=collection_id, **query.validated_data
        )
        return Response(s.DocumentPageSerializer(asdict(page)).data)


class DocumentDetailView(APIView):
    required_scope = SCOPE

    @extend_schema(responses=s.DocumentDetailSerializer, operation_id="documents_retrieve")
    def get(self, request, document_id):
        """Return a document with its clean text."""
        document = services.get_document(actor=actor_from_request(request), document_id=document_id)
        return Response(s.DocumentDetailSerializer(asdict(document)).data)

    @extend_schema(responses={204: None}, operation_id="documents_destroy")
    def delete(self, request, document_id):
        """Delete a document; it leaves search at once."""
        services.delete_document(actor=actor_from_request(request), document_id=document_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DocumentDisputeView(APIView):
    required_scope = SCOPE

    @extend_schema(responses=s.DisputeSerializer, operation_id="documents_dispute_retrieve")
    def get(self, request, document_id):
        """Return the latest dispute of your held-out document (404 if it has none)."""
        dispute = services.get_dispute(actor=actor_from_request(request), document_id=document_id)
        return Response(s.DisputeSerializer(asdict(dispute)).data)

    @extend_schema(
        request=s.DisputeRequestSerializer,
        responses={201: s.DisputeSerializer},
        operation_id="documents_dispute_create",
    )
    def post(self, request, document_id):
        """Contest that your document is a copy of another provider's (status `duplicate`): an
        operator reviews it and releases the document or upholds the verdict. 409
        `not_held_out` for a document that is not held out, `dispute_open` if one is open."""
        body = s.DisputeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        dispute = services.dispute_duplicate(
            actor=actor_from_request(request),
            document_id=document_id,
            reason=body.validated_data["reason"],
        )
        return Response(s.DisputeSerializer(asdict(dispute)).data, status=status.HTTP_201_CREATED)


class UploadTooLarge(errors.DomainError):
    status = 413
    code = "request_too_large"


class StreamingUploadParser(MultiPartParser):
    """Multipart for uploads: the size is checked before the body is read, and every file is
    streamed to a temporary file (never held in memory, whatever its size)."""

    def parse(self, stream, media_type=None, parser_context=None):
        request = parser_context["request"]
        limit = settings.INGESTION_MAX_REQUEST_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            raise UploadTooLarge(
                f"The upload is {length} bytes; the limit is {limit} per request.",
                details={"files": [f"At most {limit} bytes in one request."]},
            )
        meta = request.META.copy()
        meta["CONTENT_TYPE"] = media_type
        handlers = [TemporaryFileUploadHandler(request._request)]
        try:
            data, files = DjangoMultiPartParser(meta, stream, handlers, "utf-8").parse()
        except TooManyFilesSent as exc:
            limit = settings.INGESTION_MAX_FILES_PER_UPLOAD
            raise errors.ValidationFailed(
                f"Upload at most {limit} files at once.",
                code="too_many_files",
                details={"files": [f"At most {limit} files."]},
            ) from exc
        except (TooManyFieldsSent, RequestDataTooBig) as exc:
            raise errors.ValidationFailed(
                "Send only the files field.", code="unknown_field", details={}
            ) from exc
        except MultiPartParserError as exc:
            raise ParseError(f"Multipart form parse error - {exc}") from exc
        return DataAndFiles(data, files)


class UploadView(APIView):
    required_scope = SCOPE

    parser_classes = [StreamingUploadParser]

    @extend_schema(
        request={"multipart/form-data": s.UploadSerializer},
        responses={202: s.IngestionJobSerializer},
        operation_id="collections_upload",
    )
    def post(self, request, collection_id):
        """Upload files (txt, md, html, pdf, jsonl/csv records) to ingest as one job."""
        actor = actor_from_request(request)
        unknown = sorted((set(request.data) | set(request.FILES)) - {"files"})
        if unknown:
            raise errors.ValidationFailed(
                "Unknown fields in the request.",
                code="unknown_field",
                details={name: ["Unknown field."] for name in unknown},
            )
        files = [
            services.UploadedFile(
                name=upload.name,
                content_type=upload.content_type or "",
                size=upload.size,
                open=lambda upload=upload: upload,
            )
            for upload in request.FILES.getlist("files")
        ]
        job = services.start_upload_ingestion(actor=actor, collection_id=collection_id, files=files)
        return Response(s.IngestionJobSerializer(asdict(job)).data, status=202)


class IngestionListView(APIView):
    required_scope = SCOPE

    @extend_schema(responses=s.IngestionJobSerializer(many=True), operation_id="ingestions_list")
    def get(self, request, collection_id):
        """List a collection's recent ingestion jobs."""
        jobs = services.list_ingestion_jobs(
            actor=actor_from_request(request), collection_id=collection_id
        )
        return Response(s.IngestionJobSerializer([asdict(j) for j in jobs], many=True).data)

    @extend_schema(
        request=s.UrlIngestionSerializer,
        responses={202: s.IngestionJobSerializer},
        operation_id="ingestions_create",
    )
    def post(self, request, collection_id):
        """Ingest a web page, a sitemap's pages or a feed's entries (fetched SSRF-safely)."""
        actor = actor_from_request(request)
        data = s.UrlIngestionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = services.start_url_ingestion(
            actor=actor, collection_id=collection_id, **data.validated_data
        )
        return Response(s.IngestionJobSerializer(asdict(job)).data, status=202)


class IngestionJobView(APIView):
    required_scope = SCOPE

    @extend_schema(responses=s.IngestionJobSerializer, operation_id="ingestion_jobs_retrieve")
    def get(self, request, job_id):
        """Return a job's status, progress (done/total) and per-item errors."""
        job = services.get_ingestion_job(actor=actor_from_request(request), job_id=job_id)
        return Response(s.IngestionJobSerializer(asdict(job)).data)


class IngestionJobRetryView(APIView):
    required_scope = SCOPE

    @extend_schema(
        request=None, responses={202: s.IngestionJobSerializer}, operation_id="ingestion_jobs_retry"
    )
    def post(self, request, job_id):
        """Run a job's failed items again."""
        job = services.retry_ingestion_job(actor=actor_from_request(request), job_id=job_id)
        return Response(s.IngestionJobSerializer(asdict(job)).data, status=202)


class SearchView(APIView):
    required_scope = SCOPE

    @extend_schema(
        request=s.SearchSerializer,
        responses=s.ChunkHitSerializer(many=True),
        operation_id="collections_search",
    )
    def post(self, request):
        """Search your own collections: the passages agents would be given."""
        actor = actor_from_request(request)
        data = s.SearchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        hits = services.search_my_collections(actor=actor, **data.validated_data)
        return Response(s.ChunkHitSerializer([asdict(h) for h in hits], many=True).data)
