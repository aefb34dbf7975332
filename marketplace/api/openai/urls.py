"""The OpenAI-compatible API under /v1/ (base URL `http://<host>/v1` in OpenAI SDKs)."""

from django.urls import path

from marketplace.api.openai import views

urlpatterns = [
    path("models", views.ModelListView.as_view(), name="openai-models"),
    path("models/<path:model_id>", views.ModelView.as_view(), name="openai-model"),
    path("chat/completions", views.ChatCompletionView.as_view(), name="openai-chat-completions"),
]
