"""The attribution attacks as data: target articles, the attacker's documents, and the measures.

Everything here is plain Python with no server and no project imports, so the scenario
builders and the deterministic rewording are tested on their own (tests/bench/). The runner,
bench_attribution_attacks.py, uploads what these functions build through the public API.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO_CONTENT = ROOT / "marketplace" / "demo_content"
QUESTIONS_FILE = Path(__file__).resolve().parent / "attack_questions.toml"
REPEATS = 10
KEYWORDS_PER_LINE = 7
OWN_KEYWORDS = 28  # the target article's most frequent content words
OTHER_KEYWORDS = 6  # and a few of every other target's: stuffing for other questions too
SALAD_SENTENCES = 12

# English function words: left out of keyword lists and of answer-change tokens.
STOPWORDS = frozenset(
    """
    a about above after again against all also an and any are as at be because been before
    being below between both but by can could did do does doing down during each even few for
    from further had has have having her here hers him his how i if in into is it its itself
    just may me might more most much must my no nor not now of off on once one only or other
    our out over own same she should so some such than that the their them then there these
    they this those through to too under until up very was we were what when where which while
    who whom why will with would you your
    """.split()  # noqa: SIM905
)


@dataclass(frozen=True)
class Target:
    """A demo article the attacker copies, and the questions the agent asks about it."""

    slug: str
    path: Path
    title: str
    url: str
    text: str
    questions: tuple[str, ...]


@dataclass(frozen=True)
class AttackDocument:
    """One document the attacker uploads, as a record of a jsonl upload."""

    external_id: str
    title: str
    url: str
    text: str

    def record(self) -> dict:
        return {
            "id": self.external_id,
            "url": self.url,
            "title": self.title,
            "author": "Content Desk",
            "published_at": "2025-12-01",
            "text": self.text,
        }


@dataclass(frozen=True)
class AttackPlan:
    """What the attacker uploads: documents per target slug, and the gibberish in them."""

    documents: dict[str, tuple[AttackDocument, ...]]
    gibberish: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scenario:
    name: str
    label: str
    build: Callable[[Sequence[Target]], AttackPlan] | None  # None: no attacker
    padded: bool = False  # judged against the unpadded reworded copies


# -- the targets ---------------------------------------------------------------------------------


def read_article(path: Path) -> tuple[dict[str, str], str]:
    """Return an article's `key: value` front matter and its body."""
    raw = path.read_text(encoding="utf-8")
    head, sep, body = raw.removeprefix("---\n").partition("\n---\n")
    if not raw.startswith("---\n") or not sep:
        raise ValueError(f"{path}: no front matter")
    meta = {}
    for line in head.splitlines():
        key, _, value = line.partition(":")
        meta[key.strip()] = value.strip()
    return meta, body.strip()


def load_targets(path: Path = QUESTIONS_FILE, content_dir: Path = DEMO_CONTENT) -> list[Target]:
    """Read the target articles and their questions."""
    with path.open("rb") as f:
        data = tomllib.load(f)
    targets = []
    for item in data["targets"]:
        article = content_dir / item["article"]
        meta, text = read_article(article)
        targets.append(
            Target(
                slug=item["slug"],
                path=article,
                title=meta["title"],
                url=meta["url"],
                text=text,
                questions=tuple(item["questions"]),
            )
        )
    return targets


# -- deterministic rewording ---------------------------------------------------------------------

# A spinner's table: common words swapped for near-synonyms. Subject terms (caffeine, heat
# pump, refrigerant, ETag) are kept, as a copier who wants to be found would keep them.
SYNONYMS = {
    "builds up": "accumulates",
    "gives up": "hands over",
    "speeds up": "accelerates",
    "keeps working": "continues to operate",
    "keep working": "continue to operate",
    "breaks down": "decomposes",
    "instead of": "rather than",
    "broken down": "decomposed",
    "absorb": "soak up",
    "absorbing": "soaking up",
    "allows": "permits",
    "allow": "permit",
    "appear": "show up",
    "approximately": "about",
    "around": "about",
    "backup": "reserve",
    "biggest": "largest",
    "blocks": "obstructs",
    "briefly": "momentarily",
    "change": "shift",
    "changes": "shifts",
    "cheaply": "inexpensively",
    "common": "widespread",
    "commonly": "usually",
    "considerably": "substantially",
    "contains": "holds",
    "controlled": "governed",
    "correct": "proper",
    "decide": "determine",
    "delivered": "supplied",
    "design": "engineering",
    "disturb": "disrupt",
    "drops": "lowers",
    "easy": "simple",
    "effect": "impact",
    "environment": "surroundings",
    "especially": "particularly",
    "exists": "is present",
    "explicitly": "expressly",
    "faster": "quicker",
    "fetching": "retrieving",
    "forbids": "prohibits",
    "growing": "increasing",
    "help": "assist",
    "helps": "assists",
    "however": "nevertheless",
    "important": "significant",
    "instead": "rather",
    "large": "big",
    "larger": "bigger",
    "main": "principal",
    "mainly": "chiefly",
    "matter": "count",
    "matters": "counts",
    "misunderstood": "misread",
    "mixture": "blend",
    "moves": "transfers",
    "naturally": "inherently",
    "needs": "requires",
    "often": "frequently",
    "people": "individuals",
    "produce": "generate",
    "producing": "generating",
    "produces": "generates",
    "quickly": "rapidly",
    "raises": "increases",
    "rarely": "seldom",
    "reaches": "attains",
    "really": "truly",
    "reduce": "lower",
    "reduced": "lowered",
    "regular": "routine",
    "repeats": "recurs",
    "requires": "demands",
    "rest": "pause",
    "several": "a number of",
    "short": "brief",
    "simple": "basic",
    "simpler": "more basic",
    "simply": "merely",
    "small": "little",
    "sometimes": "occasionally",
    "stable": "steady",
    "starts": "begins",
    "suddenly": "abruptly",
    "typical": "standard",
    "typically": "generally",
    "usual": "customary",
    "usually": "normally",
    "uses": "employs",
    "using": "employing",
    "various": "diverse",
    "vary": "differ",
    "varies": "differs",
    "waiting": "idling",
    "warm": "heated",
    "whether": "if",
    "widely": "broadly",
}
_SYNONYM_WORD = re.compile(
    r"\b(" + "|".join(sorted(SYNONYMS, key=len, reverse=True)) + r")\b", re.IGNORECASE
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'`(])")
# "During sleep, adenosine levels fall." -> "Adenosine levels fall during sleep."
_LEADING_CLAUSE = re.compile(
    r"^(When|If|Because|Although|While|During|Once|Since|Unless) ([^,;:]{3,60}), ([^,;]+?)([.!?])$"
)
# "X happens because Y." -> "Because Y, x happens."
_TRAILING_CLAUSE = re.compile(
    r"^([^,;:]{12,}?) (because|when|although|while|since|unless) ([^,;:]{8,})([.!?])$"
)
# Capitalised words that stay capitalised in the middle of a sentence.
_PROPER_NOUNS = frozenset({"I", "Python", "Norway", "Sweden", "Finland", "Europe", "Health"})


def _match_case(original: str, replacement: str) -> str:
    if original.isupper() and len(original) > 1:
        return replacement.upper()
    if original[0].isupper():
        return replacement[0].upper() + replacement[1:]
    return replacement


def _swap_synonyms(text: str) -> str:
    # Inline code (`max-age=3600`) is kept as it is: renaming a header is not rewording it.
    parts = re.split(r"(`[^`]*`)", text)
    for i in range(0, len(parts), 2):
        parts[i] = _SYNONYM_WORD.sub(
            lambda m: _match_case(m.group(0), SYNONYMS[m.group(0).lower()]), parts[i]
        )
    return "".join(parts)


def _mid_sentence(clause: str) -> str:
    """Return a clause that used to start a sentence, as it reads after a comma."""
    first, _, rest = clause.partition(" ")
    if first not in _PROPER_NOUNS and (len(first) == 1 or first[1:].islower()):
        first = first.lower()
    return f"{first} {rest}" if rest else first


def _capitalized(clause: str) -> str:
    return clause[0].upper() + clause[1:] if clause else clause


def reorder_clauses(sentence: str) -> str:
    """Move a leading subordinate clause to the end, or a trailing one to the front, or swap
    the two halves of a semicolon; return the sentence unchanged if none applies."""
    leading = _LEADING_CLAUSE.match(sentence)
    if leading:
        conjunction, clause, main, stop = leading.groups()
        return f"{_capitalized(main)} {conjunction.lower()} {clause}{stop}"
    trailing = _TRAILING_CLAUSE.match(sentence)
    if trailing:
        main, conjunction, clause, stop = trailing.groups()
        return f"{conjunction.capitalize()} {clause}, {_mid_sentence(main)}{stop}"
    if sentence.count("; ") == 1 and sentence[-1] in ".!?":
        first, second = sentence[:-1].split("; ")
        return f"{_capitalized(second)}; {_mid_sentence(first)}{sentence[-1]}"
    return sentence


def reword(text: str) -> str:
    """Return a deterministic rewording of a text: synonyms swapped, clauses reordered.

    Paragraphs and sentence order are kept; the same text always gives the same result.
    """
    paragraphs = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        sentences = _SENTENCE_END.split(" ".join(paragraph.split()))
        paragraphs.append(" ".join(reorder_clauses(_swap_synonyms(s)) for s in sentences))
    return "\n\n".join(paragraphs)


# -- keyword lists and word salad ----------------------------------------------------------------


def content_words(text: str) -> list[str]:
    """Return the lower-case words of a text that are not function words, in order."""
    return [
        w for w in re.findall(r"[a-z][a-z0-9]+", text.lower()) if w not in STOPWORDS and len(w) > 2
    ]


def top_words(text: str, n: int) -> list[str]:
    """Return the n most frequent content words (ties: first seen first)."""
    words = content_words(text)
    first_seen = {w: i for i, w in reversed(list(enumerate(words)))}
    counts = Counter(words)
    return sorted(counts, key=lambda w: (-counts[w], first_seen[w]))[:n]


def stuffing_vocabulary(targets: Sequence[Target], target: Target) -> list[str]:
    """Return the words an attacker stuffs into its copy of `target`: its own most frequent
    words (title first), then a few of every other target's, without repeats."""
    words = content_words(target.title) + top_words(target.text, OWN_KEYWORDS)
    for other in targets:
        if other.slug != target.slug:
            words += top_words(other.text, OTHER_KEYWORDS)
    return list(dict.fromkeys(words))


def keyword_lines(vocabulary: Sequence[str]) -> list[str]:
    """Return keyword lines of the vocabulary, each with one function word ("the") in it: the
    least a line needs to pass for prose today."""
    lines = []
    for start in range(0, len(vocabulary), KEYWORDS_PER_LINE):
        words = list(vocabulary[start : start + KEYWORDS_PER_LINE])
        words.insert(min(3, len(words)), "the")
        lines.append(" ".join(words))
    return lines


def word_salad(vocabulary: Sequence[str], sentences: int = SALAD_SENTENCES) -> list[str]:
    """Return "The X and the Y of the Z in the W." sentences cycling through the vocabulary."""
    out = []
    n = len(vocabulary)
    for i in range(sentences):
        a, b, c, d = (vocabulary[(4 * i + k) % n] for k in range(4))
        out.append(f"The {a} and the {b} of the {c} in the {d}.")
    return out


# -- the scenarios -------------------------------------------------------------------------------


def _plan(
    targets: Sequence[Target],
    kind: str,
    body: Callable[[Target], tuple[str, list[str]]],
    *,
    title_of: Callable[[Target], str],
    copies: int = 1,
) -> AttackPlan:
    """Return a plan of `copies` documents per target, each holding body(target)'s text."""
    documents, gibberish = {}, []
    for target in targets:
        text, junk = body(target)
        names = [target.slug] if copies == 1 else [f"{target.slug}/{k}" for k in range(copies)]
        documents[target.slug] = tuple(
            AttackDocument(
                external_id=f"{kind}/{name}",
                title=title_of(target),
                url=f"https://content-desk.example/{kind}/{name}",
                text=text,
            )
            for name in names
        )
        gibberish += junk
    return AttackPlan(documents=documents, gibberish=tuple(dict.fromkeys(gibberish)))


def _reworded_title(target: Target) -> str:
    return _swap_synonyms(target.title)


def _stuffed(targets: Sequence[Target], target: Target, *, salad: bool) -> tuple[str, list[str]]:
    """Return the reworded copy followed by keyword lines (and word salad), one blank line
    apart, and the lines that are gibberish."""
    vocabulary = stuffing_vocabulary(targets, target)
    junk = keyword_lines(vocabulary)
    blocks = [reword(target.text), *junk]
    if salad:
        sentences = word_salad(vocabulary)
        blocks.append(" ".join(sentences))
        junk += sentences
    return "\n\n".join(blocks), junk


def verbatim_copies(targets: Sequence[Target]) -> AttackPlan:
    """One exact copy of each target, title included."""
    return _plan(targets, "verbatim", lambda t: (t.text, []), title_of=lambda t: t.title)


def reworded_copies(targets: Sequence[Target]) -> AttackPlan:
    """One reworded copy of each target."""
    return _plan(targets, "reworded", lambda t: (reword(t.text), []), title_of=_reworded_title)


def reworded_repeated(targets: Sequence[Target]) -> AttackPlan:
    """The reworded copy of each target uploaded REPEATS times, as as many documents."""
    return _plan(
        targets,
        "repeated",
        lambda t: (reword(t.text), []),
        title_of=_reworded_title,
        copies=REPEATS,
    )


def reworded_repeated_inline(targets: Sequence[Target]) -> AttackPlan:
    """One document per target holding its reworded copy REPEATS times over."""
    return _plan(
        targets,
        "inline",
        lambda t: ("\n\n".join([reword(t.text)] * REPEATS), []),
        title_of=_reworded_title,
    )


def reworded_with_keywords(targets: Sequence[Target]) -> AttackPlan:
    """One document per target: the reworded copy followed by keyword lines."""
    return _plan(
        targets,
        "keywords",
        lambda t: _stuffed(targets, t, salad=False),
        title_of=_reworded_title,
    )


def reworded_repeated_keywords_salad(targets: Sequence[Target]) -> AttackPlan:
    """REPEATS documents per target: the reworded copy, keyword lines and word salad."""
    return _plan(
        targets,
        "salad",
        lambda t: _stuffed(targets, t, salad=True),
        title_of=_reworded_title,
        copies=REPEATS,
    )


SCENARIOS = (
    Scenario("none", "none (baseline)", None),
    Scenario("verbatim", "verbatim copies of the targets", verbatim_copies),
    Scenario("reworded", "reworded copies", reworded_copies),
    Scenario(
        "repeated",
        f"reworded, repeated {REPEATS}x ({REPEATS} documents)",
        reworded_repeated,
        padded=True,
    ),
    Scenario(
        "inline",
        f"reworded, repeated {REPEATS}x inside one document",
        reworded_repeated_inline,
        padded=True,
    ),
    Scenario("keywords", "reworded + a keyword list", reworded_with_keywords, padded=True),
    Scenario(
        "salad",
        f'reworded x{REPEATS} + keywords + "The X and the Y..." word salad',
        reworded_repeated_keywords_salad,
        padded=True,
    ),
)
SCENARIO_NAMES = tuple(s.name for s in SCENARIOS)


# -- measures ------------------------------------------------------------------------------------

_MARKER = re.compile(r"\s*\[\d+\]")


def words(text: str) -> list[str]:
    """Return the lower-case words of a text, citation markers removed."""
    return re.findall(r"[a-z0-9]+", _MARKER.sub("", text).lower())


def shingles(text: str, size: int = 5) -> set[tuple[str, ...]]:
    tokens = words(text)
    if len(tokens) < size:
        return {tuple(tokens)} if tokens else set()
    return {tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


def same_passage(a: str, b: str, threshold: float = 0.5) -> bool:
    """Return whether two passages are the same text: at least `threshold` of the shorter
    one's 5-word shingles are in the other (windows of a repeated text count as the same)."""
    sa, sb = shingles(a), shingles(b)
    if not sa or not sb:
        return False
    return len(sa & sb) / min(len(sa), len(sb)) >= threshold


def answer_change(before: str, after: str) -> float:
    """Return 1 - the Jaccard similarity of the two answers' content-word sets."""
    a = {w for w in words(before) if w not in STOPWORDS}
    b = {w for w in words(after) if w not in STOPWORDS}
    if not a and not b:
        return 0.0
    return 1.0 - len(a & b) / len(a | b)


def quotes_gibberish(quoted: Sequence[str], gibberish: Sequence[str]) -> bool:
    """Return whether any quoted text is (part of) a keyword line or word-salad sentence, or
    holds one whole."""
    lines = [" ".join(words(g)) for g in gibberish]
    lines = [f" {g} " for g in lines if g]
    for text in quoted:
        quote = " ".join(words(text))
        if not quote:
            continue
        padded = f" {quote} "
        if any(padded in line or line in padded for line in lines):
            return True
    return False


def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Return Spearman's rank correlation (ties get average ranks).

    When one side is constant the correlation is undefined; it is taken as 1.0 if both are
    constant (nothing to disagree about) and 0.0 if only one is (the other varies for
    reasons it does not see).
    """
    if len(xs) != len(ys) or len(xs) < 2:
        raise ValueError("spearman needs two sequences of the same length, at least 2")
    rx, ry = _ranks(xs), _ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    vx = math.fsum((r - mx) ** 2 for r in rx)
    vy = math.fsum((r - my) ** 2 for r in ry)
    if vx == 0 or vy == 0:
        return 1.0 if vx == vy else 0.0
    return math.fsum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True)) / math.sqrt(vx * vy)
