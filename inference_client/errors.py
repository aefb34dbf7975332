"""Errors raised by the inference client."""

from __future__ import annotations


class InferenceError(Exception):
    """Base class for every error the inference client raises."""

    code = "inference_error"


class ConfigurationError(InferenceError, ValueError):
    """The inference configuration is invalid."""

    code = "inference_misconfigured"


class InferenceUnavailable(InferenceError):
    """The backend could not produce an answer (exhausted retries, timeout, open circuit)."""

    code = "inference_unavailable"

    def __init__(self, message: str, *, reason: str, attempts: int = 0) -> None:
        super().__init__(message)
        self.reason = reason
        self.attempts = attempts


class InferenceProtocolError(InferenceError):
    """The backend answered with something that is not a valid chat completion."""

    code = "inference_protocol_error"

    def __init__(self, message: str, *, reason: str = "malformed_response", attempts: int = 1):
        super().__init__(message)
        self.reason = reason
        self.attempts = attempts


class InvalidRequest(InferenceError, ValueError):
    """The question, sources or options cannot be answered as given."""

    code = "invalid_inference_request"
