"""Duplicate defence: the first published copy of a text owns it.

Every new version of a document is signed (MinHash over 5-word shingles, per document and per
passage) and judged against the whole catalog during ingestion, in the transaction that stores
it:

- a document that nearly repeats an earlier document of another provider is held out of
  retrieval with status `duplicate`, pointing at that document;
- a passage that nearly repeats an earlier passage of another provider, or an earlier passage
  of its own collection (the same document included), is held out, so a text is indexed once.

"Nearly" is an estimated Jaccard similarity of at least CATALOG_DUPLICATE_THRESHOLD; "earlier"
is the `since` of each signature. Signatures and their LSH band keys are rows, so every worker
and web process sees the same index. When an original goes (a new version, a deletion), the
texts held out against it are judged again, and the earliest of them may become the owner. An
operator releases a false positive in the admin; it is then never held out against that
original again.
"""

from catalog.services.duplicates.disputes import (
    DisputeInfo,
    dispute_duplicate,
    get_dispute,
    resolve_dispute,
)
from catalog.services.duplicates.judging import judge
from catalog.services.duplicates.rejudging import dependents_of, recheck, release_duplicate
from catalog.services.duplicates.texts import DuplicateRef, Verdict
from catalog.services.duplicates.versions import (
    Judgement,
    batch_may_change,
    deferred_signatures,
    judge_version,
    record_version,
    recording,
    sign_documents,
)

__all__ = [
    "DisputeInfo",
    "DuplicateRef",
    "Judgement",
    "Verdict",
    "batch_may_change",
    "deferred_signatures",
    "dependents_of",
    "dispute_duplicate",
    "get_dispute",
    "judge",
    "judge_version",
    "recheck",
    "record_version",
    "recording",
    "release_duplicate",
    "resolve_dispute",
    "sign_documents",
]
