"""The one check every interface applies to what it is asked, before anything is planned."""

from django.conf import settings

from marketplace import errors

NUL_MESSAGE = "Null characters are not allowed."  # the words DRF's CharField uses


def refuse_unsafe_text(text: str, *, field: str) -> None:
    """Refuse text holding NUL or a lone surrogate: neither can be stored, signed or sent on."""
    if "\x00" in text:
        raise errors.ValidationFailed(NUL_MESSAGE, details={field: [NUL_MESSAGE]})
    for char in text:
        if 0xD800 <= ord(char) <= 0xDFFF:
            message = f"Surrogate characters are not allowed: U+{ord(char):X}."
            raise errors.ValidationFailed(message, details={field: [message]})


def clean_question(question: object, *, field: str = "question") -> str:
    """Return the question stripped, or refuse it (400).

    The one check every interface (REST answers and search, OpenAI-compatible chat, MCP)
    applies to what it is asked, before anything is planned or metered.
    """
    if not isinstance(question, str) or not question.strip():
        raise errors.ValidationFailed(
            "Ask a question.", code="empty_question", details={field: ["Required."]}
        )
    refuse_unsafe_text(question, field=field)
    question = question.strip()
    limit = settings.ANSWER_MAX_QUESTION_CHARS
    if len(question) > limit:
        raise errors.ValidationFailed(
            f"A question is at most {limit} characters.",
            code="question_too_long",
            details={field: [f"At most {limit} characters; this one has {len(question)}."]},
        )
    return question
