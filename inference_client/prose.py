"""Tell prose from text that only looks like it: keyword lists, word salad and headings.

A sentence is quoted and credited only if it reads as a statement. Each signal below is one a
keyword list or a string of noun phrases fails, and none of them is met by adding one function
word: a share of function words (one "the" in a list of eight keywords is 11%), a predicate (a
verb form, not just nouns joined by "and the"), varied function words (salad repeats the same
"the ... and the ... of the" frame), more content words than articles (salad gives each its
own "the"), no long run of content words, and the shape of a sentence (a capital first, a stop
last: a keyword line is neither).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

# Closed-class English words: determiners, pronouns, prepositions, conjunctions, auxiliaries.
FUNCTION_WORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its
    itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    may might must shall one ones many much isn aren wasn weren don doesn didn won wouldn
    also even still often always never already usually yet however thus across along among
    around beneath beside beyond despite inside onto outside per since toward towards upon via
    within without near though although unless whether either neither every another whose
    """.split()  # noqa: SIM905
)
AUXILIARIES = frozenset(
    """
    is are was were be been being am has have had do does did can could will would shall should
    may might must isn aren wasn weren don doesn didn won wouldn
    """.split()  # noqa: SIM905
)
# Words that start a clause as its subject: a word right after one is usually its verb.
SUBJECTS = frozenset(
    """
    i you he she it we they this that these those which who there
    """.split()  # noqa: SIM905
)
# Common irregular verb forms, which no suffix gives away.
IRREGULAR_VERBS = frozenset(
    """
    began begun became become bought brought broke broken built came chose chosen cut drew drawn
    drove fell felt flew found gave given got gone went grew grown held hit kept knew known laid
    led left lent lost made meant met paid put ran rose said sat saw seen sent set shown sold
    spent split spread stood struck taught told thought took taken understood won wore wrote
    written
    """.split()  # noqa: SIM905
)
# Common English verbs (base forms): "symptoms include", "plants add" have no other verb sign.
COMMON_VERBS = frozenset(
    """
    accept add affect agree allow appear apply argue arrive ask avoid base bear beat begin
    believe belong bind block boil break bring build burn buy call carry catch cause change
    charge check choose claim clean clear close collect combine come compare complete consider
    contain continue control convert cool cost count cover create cross cut deal decide define
    deliver depend describe design destroy detect determine develop die differ disappear do
    draw drink drive drop eat enable encourage end enter escape expand expect explain fail fall
    feed feel fight fill find finish fit fix flow fly follow forget form gain get give go grow
    handle happen hate hear help hide hit hold hope identify imagine improve include increase
    indicate involve join keep kill know last lead learn leave let lie like limit link listen
    live look lose love lower maintain make manage matter mean measure meet melt mix move need
    note notice occur offer open operate own pass pay perform pick place plan play point
    prefer prepare present press prevent produce protect prove provide publish pull push put
    raise reach read receive recognize record reduce refer reflect release remain remember
    remove repeat replace report represent require respond rest result return reveal rise run
    save say see seem sell send serve set settle share shift show shut sing sit sleep slow
    sound speak spend split spread stand start stay stick stop store strike study suffer
    suggest supply support suppose survive take talk teach tell tend think throw touch track
    travel treat try turn understand use vary wait walk want warm wash watch wear win wish work
    worry write yield
    """.split()  # noqa: SIM905
)
# A prose sentence has at least this share of function words (prose runs 30-60%, a keyword
# list of five words or more with one "the" in it under 20%); or, holding two function words
# or more, a lower share with a verb form (a clear one for the lowest share).
MIN_FUNCTION_SHARE = 0.2
MIN_FUNCTION_SHARE_TWO_WORDS = 0.15
MIN_FUNCTION_SHARE_CLEAR_VERB = 0.1
# Word salad strings noun phrases together with the same few function words ("the X and the
# Y and the Z and the W"): a sentence whose joins of two function words or more repeat one
# linking join ("and the", "of the") at least SALAD_REPEATS times, and in at least this share
# of them, is salad.
SALAD_REPEATS = 3
SALAD_SHARE = 0.5
_LINKS = frozenset({"and", "or", "of", "with", "plus"})
# Word salad also gives every content word an article of its own ("The X and the Y of the Z
# in the W": four articles, four content words); prose names things and says something of
# them, so its content words outnumber its articles (at most 3 articles to 4 content words in
# the demo corpus). A sentence with at least SALAD_ARTICLES articles and no more content words
# than articles is salad, whatever function word is added (one more article only adds to them).
ARTICLES = frozenset({"a", "an", "the"})
SALAD_ARTICLES = 3
# Prose seldom runs more than ten content words without a function word or a comma.
MAX_CONTENT_RUN = 10
HEADING_MAX_WORDS = 12

_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)?|[,;:()\[\]\"“”—–]")
_TERMINAL = re.compile(r"[.!?][\"'”’)\]]*\s*$")


def _predicate(words: Sequence[str]) -> int:
    """Return 2 for a clear verb form (an auxiliary, a past form, "to" or a subject before a
    word), 1 for a likely one (a common verb, a word in -s after a noun, a word in -ing),
    0 for none. A word right after an article names a thing ("the run", "a cut"), not an act."""
    found = 0
    previous = ""
    for word in words:
        if previous in ARTICLES:
            previous = word
            continue
        if _clear_verb(word, previous):
            return 2
        if word.isalpha() and _likely_verb(word, previous):
            found = 1
        previous = word
    return found


def _clear_verb(word: str, previous: str) -> bool:
    if word in AUXILIARIES or word in IRREGULAR_VERBS:
        return True
    if not word.isalpha():
        return False
    if len(word) > 3 and word.endswith("ed"):
        return True
    # "to reduce", "it expands", "they draw"
    return (previous in SUBJECTS or previous == "to") and word not in FUNCTION_WORDS


def _likely_verb(word: str, previous: str) -> bool:
    if _is_common_verb(word):
        return True
    if len(word) <= 3:
        return False
    if word.endswith("ing"):
        return True
    # "heat reduces", "the auction ranks"
    return (
        bool(previous)
        and previous not in FUNCTION_WORDS
        and word.endswith("s")
        and not word.endswith(("ss", "us", "is"))
    )


def _is_common_verb(word: str) -> bool:
    if word in COMMON_VERBS:
        return True
    if word.endswith("ies"):
        return word[:-3] + "y" in COMMON_VERBS
    return word.endswith("s") and (word[:-1] in COMMON_VERBS or word[:-2] in COMMON_VERBS)


def is_prose(text: str) -> bool:
    """Return whether a sentence reads as a statement, not a keyword list, salad or heading."""
    tokens = [token.lower().replace("’", "'") for token in _TOKEN.findall(text)]
    words = [t.split("'", 1)[0] for t in tokens if t[0].isalnum()]
    if len(words) < 3:
        return False
    function_words = [w for w in words if w in FUNCTION_WORDS]
    share = len(function_words) / len(words)
    verb = _predicate(words)
    several = len(function_words) >= 2
    if not (
        (share >= MIN_FUNCTION_SHARE and verb)
        or (several and share >= MIN_FUNCTION_SHARE_TWO_WORDS and verb)
        or (several and share >= MIN_FUNCTION_SHARE_CLEAR_VERB and verb == 2)
    ):
        return False
    if _repeats_a_frame(tokens):
        return False
    articles = sum(1 for w in words if w in ARTICLES)
    if articles >= SALAD_ARTICLES and len(words) - len(function_words) <= articles:
        return False
    run = longest = 0
    for token in tokens:
        word = token.split("'", 1)[0]
        run = 0 if word in FUNCTION_WORDS or not word[:1].isalnum() else run + 1
        longest = max(longest, run)
    if longest > MAX_CONTENT_RUN:
        return False
    return _looks_like_a_sentence(text)


def _repeats_a_frame(tokens: Sequence[str]) -> bool:
    """Return whether the same run of function words joins most of the content words."""
    joins: list[tuple[str, ...]] = []
    run: list[str] = []
    for token in tokens:
        word = token.split("'", 1)[0]
        if word in FUNCTION_WORDS:
            run.append(word)
            continue
        if len(run) >= 2:
            joins.append(tuple(run))
        run = []
    if len(joins) < SALAD_REPEATS:
        return False
    join, repeats = Counter(joins).most_common(1)[0]
    return join[0] in _LINKS and repeats >= SALAD_REPEATS and repeats / len(joins) >= SALAD_SHARE


def _looks_like_a_sentence(text: str) -> bool:
    stripped = text.strip().lstrip("-*•> ")
    first = stripped[:1]
    return (
        bool(first)
        and (first.isupper() or first.isdigit() or first in "\"'“‘`(")
        and bool(_TERMINAL.search(stripped))
    )


def is_heading(text: str, *, ends_line: bool) -> bool:
    """Return whether a line is a heading: marked with '#', or short, unpunctuated, alone."""
    stripped = text.strip()
    if stripped.startswith("#"):
        return True
    if not ends_line or not stripped or stripped[-1] in ".!?;:,\"'”’)]":
        return False
    words = [t for t in _TOKEN.findall(stripped) if t[0].isalnum()]
    return 0 < len(words) <= HEADING_MAX_WORDS and stripped[0].isupper()
