from django.urls import path

from catalog.api import views

urlpatterns = [
    path("collections", views.CollectionListView.as_view(), name="collections"),
    path("collections/search", views.SearchView.as_view(), name="collections-search"),
    path(
        "collections/<uuid:collection_id>",
        views.CollectionDetailView.as_view(),
        name="collection",
    ),
    path(
        "collections/<uuid:collection_id>/documents",
        views.DocumentListView.as_view(),
        name="collection-documents",
    ),
    path(
        "collections/<uuid:collection_id>/uploads",
        views.UploadView.as_view(),
        name="collection-uploads",
    ),
    path(
        "collections/<uuid:collection_id>/ingestions",
        views.IngestionListView.as_view(),
        name="collection-ingestions",
    ),
    path("documents/<int:document_id>", views.DocumentDetailView.as_view(), name="document"),
    path(
        "documents/<int:document_id>/dispute",
        views.DocumentDisputeView.as_view(),
        name="document-dispute",
    ),
    path("ingestion-jobs/<uuid:job_id>", views.IngestionJobView.as_view(), name="ingestion-job"),
    path(
        "ingestion-jobs/<uuid:job_id>/retry",
        views.IngestionJobRetryView.as_view(),
        name="ingestion-job-retry",
    ),
]
