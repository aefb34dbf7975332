"""What an ad unit may say: plain text within bounds, an http(s) link, a known category.

Ad text is plain text. Markup (anything that reads as an HTML tag, a comment or a script) is
refused with 400 `markup_not_allowed`, so nobody is shown an advertiser's HTML as if it were
ours; what passes is stored as it was sent and escaped wherever it is shown (`<`, `&` and
quotes are fine in text: "5 < 10 & more").
"""

import re
import unicodedata
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator

from ads import errors
from ads.models import AdUnit, Category
from core.fields import max_length

# What an HTML parser reads as markup: a start or end tag (`<b`, `</a`: "<" then a letter), a
# comment or doctype (`<!`), a processing instruction (`<?`). "a < b" is text.
_MARKUP = re.compile(r"</?[A-Za-z]|<[!?]")
_URL = URLValidator(schemes=["http", "https"])
URL_MAX_LENGTH = max_length(AdUnit, "url")
CATEGORIES = tuple(Category.values)

# Lists: how many items, and how long each.
MAX_WORDS = 50
MAX_WORD_LENGTH = 60
MAX_IDS = 200


def invalid(field: str, message: str, *, code: str = "invalid") -> errors.ValidationFailed:
    return errors.ValidationFailed(message, code=code, details={field: [message]})


def _control_characters(text: str, *, multiline: bool) -> bool:
    allowed = {"\n", "\t", "\r"} if multiline else set()
    return any(unicodedata.category(c) == "Cc" and c not in allowed for c in text)


def clean_text(
    value: object, *, field: str, limit: int, required: bool = True, multiline: bool = False
) -> str:
    """Return plain text, trimmed, within `limit` characters; refuse markup and controls."""
    if not isinstance(value, str):
        raise invalid(field, f"{field} is text.")
    text = value.strip()
    if required and not text:
        raise invalid(field, f"{field} is required.")
    if len(text) > limit:
        raise invalid(field, f"{field} is at most {limit} characters.")
    if _control_characters(text, multiline=multiline):
        what = "control characters" if multiline else "line breaks or control characters"
        raise invalid(field, f"{field} may not hold {what}.")
    if _MARKUP.search(text):
        raise invalid(
            field,
            f"{field} is plain text: HTML tags and scripts are not allowed.",
            code="markup_not_allowed",
        )
    return text


def clean_unit_text(field: str, value: object) -> str:
    """Return a unit's text field cleaned by its own rule."""
    limit = max_length(AdUnit, field)
    if field in ("title", "call_to_action"):
        return clean_text(value, field=field, limit=limit)
    return clean_text(
        value, field=field, limit=limit, required=field != "context_hints", multiline=True
    )


def clean_url(value: object) -> str:
    """Return an absolute http(s) URL without credentials in it."""
    if not isinstance(value, str) or not value.strip():
        raise invalid("url", "url is required.")
    url = value.strip()
    if len(url) > URL_MAX_LENGTH:
        raise invalid("url", f"url is at most {URL_MAX_LENGTH} characters.")
    try:
        _URL(url)
        parts = urlsplit(url)
    except (DjangoValidationError, ValueError) as exc:
        raise invalid("url", "url must be an absolute http:// or https:// address.") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise invalid("url", "url must be an absolute http:// or https:// address.")
    if parts.username is not None or parts.password is not None:
        raise invalid("url", "url may not carry a user name or password.")
    return url


def clean_category(value: object, *, field: str = "category") -> str:
    if not isinstance(value, str) or value not in CATEGORIES:
        raise invalid(field, f"Unknown category; choose from {', '.join(CATEGORIES)}.")
    return value


def clean_categories(values: object, *, field: str) -> list[str]:
    if not isinstance(values, list | tuple):
        raise invalid(field, f"{field} is a list.")
    return sorted({clean_category(value, field=field) for value in values})


def clean_words(values: object, *, field: str) -> list[str]:
    """Return keywords or topics: trimmed, lower-cased, each once, in the order given."""
    if not isinstance(values, list | tuple):
        raise invalid(field, f"{field} is a list of words or phrases.")
    words: dict[str, None] = {}
    for value in values:
        word = clean_text(value, field=field, limit=MAX_WORD_LENGTH).casefold()
        words[word] = None
    if len(words) > MAX_WORDS:
        raise invalid(field, f"At most {MAX_WORDS} {field}.")
    return list(words)
