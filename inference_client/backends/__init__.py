"""Backends that produce answer text with [n] citation markers."""

from inference_client.backends.base import Backend, Completion, CompletionRequest

__all__ = ["Backend", "Completion", "CompletionRequest"]
