"""Grounded answers with citations and attribution, on an embedded backend or GPU servers.

Plain Python: no Django, no app imports. Services build a :class:`InferenceConfig` (for
example with :meth:`InferenceConfig.from_env`) and call :func:`shared_client`.
"""

from inference_client.client import InferenceClient, shared_client
from inference_client.config import InferenceConfig
from inference_client.errors import (
    ConfigurationError,
    InferenceError,
    InferenceProtocolError,
    InferenceUnavailable,
    InvalidRequest,
)
from inference_client.grounding import keep_grounding
from inference_client.question import GENERAL_WORDS
from inference_client.selection import relevant_window
from inference_client.types import (
    Answer,
    AnswerComplete,
    AnswerMetadata,
    Attribution,
    Citation,
    CorpusStatistics,
    DroppedCitation,
    Health,
    SentenceGrounding,
    Source,
    SourceWeight,
    Sponsored,
    StreamEvent,
    TextDelta,
    Usage,
)

__all__ = [
    "GENERAL_WORDS",
    "Answer",
    "AnswerComplete",
    "AnswerMetadata",
    "Attribution",
    "Citation",
    "ConfigurationError",
    "CorpusStatistics",
    "DroppedCitation",
    "Health",
    "InferenceClient",
    "InferenceConfig",
    "InferenceError",
    "InferenceProtocolError",
    "InferenceUnavailable",
    "InvalidRequest",
    "SentenceGrounding",
    "Source",
    "SourceWeight",
    "Sponsored",
    "StreamEvent",
    "TextDelta",
    "Usage",
    "keep_grounding",
    "relevant_window",
    "shared_client",
]
