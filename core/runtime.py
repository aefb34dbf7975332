"""How long-lived processes (web and Celery workers) treat their start-up heap."""

import gc


def settle_heap() -> None:
    """Keep the objects loaded at start-up out of every garbage collection, and collect the
    young generation less often.

    They live as long as the process: under load, full collections over the start-up heap were
    the largest source of slow answers (web) and cost ingestion about 0.4 ms a document
    (workers; docs/performance.md).
    """
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
