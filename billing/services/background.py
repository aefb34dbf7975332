"""Rating without a broker: one daemon thread of the web process (`make run`).

With Celery, beat rates usage every BILLING_RATING_INTERVAL_S (config/settings.py,
CELERY_BEAT_SCHEDULE). Without a broker nothing would, and an agent's wallet holds would only
grow while no provider's balance moved. So with BILLING_WITHOUT_BROKER="thread" (the
default; it applies only when CELERY_TASK_ALWAYS_EAGER), each metered answer wakes a thread
that rates what was used shortly after (and charges due agreements), then releases the holds
of what it rated (an answer held at its worst case goes at the first pass after
BILLING_HOLD_TTL_S). Rating is idempotent, so a pass that races another changes nothing twice.
"""

import logging
import threading
import time

from django.conf import settings
from django.db import connections, transaction

logger = logging.getLogger("provenant.billing")

# Answers that finish close together are rated in one pass.
_SETTLE_S = 0.5


def rating_pass() -> dict[str, int]:
    """Charge due agreements, rate unrated usage, release the holds of what was rated."""
    from billing.services.holds import release_wallet_holds
    from billing.services.rating.agreements import charge_agreements
    from billing.services.rating.usage import rate_usage

    release_wallet_holds()  # marks the holds of answers over, to go once their usage is rated
    charged = charge_agreements()
    run = rate_usage()
    released = release_wallet_holds()
    return {
        "charged": charged.charged,
        "events": run.events,
        "written": run.written,
        "released": released.released,
    }


class _RatingThread:
    """Run rating passes in one daemon thread while answers keep asking for them; the thread
    ends when none has for a while, and the next answer starts it again."""

    def __init__(self) -> None:
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def poke(self) -> None:
        with self._lock:
            self._idle.clear()
            self._wake.set()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._work, name="provenant-rating", daemon=True
                )
                self._thread.start()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every pass asked for so far has run (tests and scripts)."""
        return self._idle.wait(timeout)

    def _work(self) -> None:
        while True:
            with self._lock:
                if not self._wake.is_set():  # nothing asked since the last pass: done
                    self._thread = None
                    self._idle.set()
                    return
                self._wake.clear()
            time.sleep(_SETTLE_S)  # answers finishing meanwhile join this pass
            try:
                rating_pass()
            except Exception:
                logger.exception("Rating failed in the background thread; retried next pass")
            finally:
                connections.close_all()


background_rating = _RatingThread()


def rate_soon() -> None:
    """Say that usage was metered: without a broker, it is rated in the background shortly
    after the current transaction commits; with one, beat's next pass rates it."""
    if settings.CELERY_TASK_ALWAYS_EAGER and settings.BILLING_WITHOUT_BROKER == "thread":
        transaction.on_commit(background_rating.poke)
