"""The provider's pages: content (collections, uploads, documents), offers, the overview and
licensees."""

from django.urls import path

from portal import content_views, offer_views, provider_views

ORG = "orgs/<uuid:organization_id>/"
COLLECTION = f"{ORG}content/<uuid:collection_id>/"
JOB = f"{ORG}uploads/<uuid:job_id>/"
DOCUMENT = f"{ORG}documents/<int:document_id>/"
OFFER = f"{ORG}offers/<uuid:offer_id>/"

urlpatterns = [
    # Content
    path(f"{ORG}content/", content_views.collections, name="collections"),
    path(COLLECTION, content_views.collection, name="collection"),
    path(f"{COLLECTION}upload/", content_views.upload, name="upload"),
    path(f"{COLLECTION}delete/", content_views.delete_collection, name="collection-delete"),
    path(JOB, content_views.ingestion_job, name="ingestion-job"),
    path(f"{JOB}retry/", content_views.retry_job, name="ingestion-retry"),
    path(DOCUMENT, content_views.document, name="document"),
    path(f"{DOCUMENT}delete/", content_views.delete_document, name="document-delete"),
    # Offers
    path(f"{ORG}offers/", offer_views.offers, name="offers"),
    path(f"{ORG}offers/new/", offer_views.offer_new, name="offer-new"),
    path(f"{ORG}offers/preview/", offer_views.price_preview, name="offer-preview"),
    path(OFFER, offer_views.offer, name="offer"),
    path(f"{OFFER}publish/", offer_views.offer_publish, name="offer-publish"),
    path(f"{OFFER}retire/", offer_views.offer_retire, name="offer-retire"),
    # Overview and licensees
    path(f"{ORG}overview/", provider_views.dashboard, name="provider-dashboard"),
    path(f"{ORG}licensees/", provider_views.licensees, name="licensees"),
    path(f"{ORG}licensees/notice/", provider_views.give_notice, name="licensee-notice"),
]
