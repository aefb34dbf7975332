"""The answer use case: licensed retrieval, grounded inference, metering and a signed receipt.

One question flows through entitlements (licensing) -> retrieval inside the entitled
collections -> the offers' restrictions and the agent's price limit -> inference_client ->
metering (licensing) -> a receipt. Planning happens before any text is written, so every
refusal (402, 400) comes before inference and nothing is metered for a failed answer.
"""

from marketplace.services.answers.inference import (
    AnswerInterrupted,
    StreamDelta,
    StreamDone,
    answer_question,
    deliver_answer,
    inference_config,
    statistics_for,
    stream_answer,
    withhold,
    write_answer,
)
from marketplace.services.answers.offers import offer_summary
from marketplace.services.answers.planning import (
    CANDIDATES_PER_SOURCE,
    MAX_PRICE_MICROS,
    MAX_SOURCES,
    RELEVANCE_FLOOR,
    SEARCH_MAX_RESULTS,
    SEARCH_SNIPPET_CHARS,
    AnswerPlan,
    Candidate,
    LeftOut,
    choose_sources,
    new_request_id,
    plan,
)
from marketplace.services.answers.questions import NUL_MESSAGE, clean_question, refuse_unsafe_text
from marketplace.services.answers.relevance import (
    MIN_RELATIVE_SCORE,
    MIN_TERM_COVERAGE,
    QUESTION_WORDS,
    STOPWORDS,
    SUFFIXES,
    WORD,
    content_stems,
    relevant_hits,
)
from marketplace.services.answers.result import (
    AnswerResult,
    ProviderShare,
    UsedSource,
    finish,
    names_for,
)
from marketplace.services.answers.searching import LINK_ONLY_USAGES, plan_search, search
from marketplace.services.answers.sponsored import NO_SPONSORED, SponsoredRequest

__all__ = [
    "CANDIDATES_PER_SOURCE",
    "LINK_ONLY_USAGES",
    "MAX_PRICE_MICROS",
    "MAX_SOURCES",
    "MIN_RELATIVE_SCORE",
    "MIN_TERM_COVERAGE",
    "NO_SPONSORED",
    "NUL_MESSAGE",
    "QUESTION_WORDS",
    "RELEVANCE_FLOOR",
    "SEARCH_MAX_RESULTS",
    "SEARCH_SNIPPET_CHARS",
    "STOPWORDS",
    "SUFFIXES",
    "WORD",
    "AnswerInterrupted",
    "AnswerPlan",
    "AnswerResult",
    "Candidate",
    "LeftOut",
    "ProviderShare",
    "SponsoredRequest",
    "StreamDelta",
    "StreamDone",
    "UsedSource",
    "answer_question",
    "choose_sources",
    "clean_question",
    "content_stems",
    "deliver_answer",
    "finish",
    "inference_config",
    "names_for",
    "new_request_id",
    "offer_summary",
    "plan",
    "plan_search",
    "refuse_unsafe_text",
    "relevant_hits",
    "search",
    "statistics_for",
    "stream_answer",
    "withhold",
    "write_answer",
]
