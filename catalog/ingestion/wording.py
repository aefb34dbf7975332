"""Content words: what is left of a text's words once function words and general words are
dropped and the rest lightly stemmed. A rewording swaps words for synonyms and moves clauses
around but keeps most of these; honest writing on the same topic shares some of them but few of
their pairs in order (docs/catalog.md, "Duplicates").

The list and the stemmer are part of the duplicate signatures' algorithm (`TERMS_VERSION` is in
its tag): changing either makes new signatures incomparable with stored ones, so they are this
module's own, not the attribution's (`inference_client.text`), which may change for its own
reasons.
"""

# Version of the list and the stemmer below; bump it with any change to either.
TERMS_VERSION = 1

# English function words (NLTK's list and the auxiliaries, contractions' halves, determiners and
# pronouns it leaves out) and general words: discourse markers, quantifiers, hedges and the most
# common general verbs and adjectives, which a rewording swaps freely and which say nothing of
# a text's subject.
STOPWORDS = frozenset(
    """
    a about above across after afterwards again against ago ain all almost along already also
    although always am among amongst an and another any anybody anyone anything anyway anywhere
    are aren around as at away
    b back be became because become becomes becoming been before beforehand behind being below
    beside besides best better between beyond both but by
    c can cannot cant could couldn
    d did didn do does doesn doing don done down due during
    e each eg either else elsewhere enough especially etc even ever every everyone everything
    everywhere except
    f far few fewer first for former formerly from further furthermore
    g generally get gets getting give given gives go goes going got
    h had hadn has hasn have haven having he hence her here hereby herein hers herself him
    himself his how however
    i ie if in indeed instead into is isn it its itself
    j just
    k keep keeps kind
    l largely last later latter least less let lets like likely ll
    m ma made mainly make makes making many may maybe me meanwhile might mightn more moreover
    most mostly much must mustn my myself
    n namely near nearly need needn needs neither never nevertheless next no nobody none
    nonetheless noone nor not nothing now nowhere
    o of off often on once one ones only onto or other others otherwise our ours ourselves out
    over overall own
    p particularly per perhaps put
    q quite
    r rather re really
    s same say says seem seemed seeming seems several shall shan she should shouldn since so
    some somehow someone something sometimes somewhat somewhere still such
    t take takes than that the their theirs them themselves then thence there thereafter
    thereby therefore therein thereupon these they thing things this those though through
    throughout thus to together too toward towards truly typically
    u under unless until up upon us use used uses using usually
    v various ve very via
    w was wasn way ways we well were weren what whatever when whence whenever where whereas
    whereby wherein whether which while whither who whoever whole whom whose why will with
    within without won would wouldn
    x y yes yet you your yours yourself yourselves
    z
    """.split()  # noqa: SIM905
)


def stem(word: str) -> str:
    """Return a light stem: plurals and simple verb forms meet ("cells"/"cell", "cooled"/"cool")."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, replacement in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)] + replacement
            break
    else:
        if word.endswith("s") and not word.endswith(("ss", "us", "is")):
            word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
        word = word[:-1]  # "running" -> "runn" -> "run"
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]  # "licensed" -> "licens", "license" -> "licens"
    return word


def term(word: bytes) -> str | None:
    """Return the content term of one word as the shingles see it (lower case, ASCII punctuation
    blanked), or None: a function or general word, a single letter, or no letter or digit."""
    text = word.decode("utf-8", "replace")
    if not text.isalnum():
        # Typographic apostrophes: "dough’s" is "dough" (the ASCII one was blanked already).
        text = text.split("’", 1)[0].split("ʼ", 1)[0]
        start, end = 0, len(text)
        while start < end and not text[start].isalnum():
            start += 1
        while end > start and not text[end - 1].isalnum():
            end -= 1
        text = text[start:end]
    if not text or text in STOPWORDS or (len(text) == 1 and not text.isdigit()):
        return None
    return stem(text)
