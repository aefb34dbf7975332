from django.urls import path

from marketplace.api import answer_views as views
from marketplace.api import content_views

urlpatterns = [
    path("documents/<int:document_id>/content", content_views.DocumentContentView.as_view()),
    path(
        "collections/<uuid:collection_id>/documents/<int:document_id>/content",
        content_views.DocumentContentView.as_view(),
        name="collection-document-content",
    ),
    path("answers", views.AnswerView.as_view(), name="answers"),
    path("search", views.SearchView.as_view(), name="search"),
    path("usage", views.UsageView.as_view(), name="usage"),
    path("receipts/verify", views.ReceiptVerifyView.as_view(), name="receipts-verify"),
    path("receipts/public-key", views.ReceiptKeyView.as_view(), name="receipts-public-key"),
]
