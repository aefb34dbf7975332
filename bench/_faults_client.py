"""The fault benchmark's agent: answers with `Idempotency-Key`, retried until final.

Each request carries a key of its own and is sent again, with the same key and body, after a
connection error, a 5xx, a 409 `request_in_progress` or a 429, until a final response comes
(a 200 answer, or another 4xx) or `give_up_s` passes. What each request ended with is kept, so
the benchmark can hold it against what was metered and rated.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

QUESTIONS = Path(__file__).resolve().parent / "eval" / "questions.jsonl"
RETRY_STATUSES = {409, 429}


def questions() -> list[str]:
    return [json.loads(line)["question"] for line in QUESTIONS.read_text().splitlines() if line]


@dataclass
class Outcome:
    key: str
    body: dict
    status: int | None  # the final status; None: given up
    answer: dict | None  # the 200 answer
    attempts: int
    retried_for: Counter[str]  # why it was sent again: "connection", "500", "409", ...
    replayed: bool  # the final response was a stored one (Idempotent-Replayed)
    sent_at: float
    done_at: float


@dataclass
class AnswerLoad:
    """Closed-loop clients sending answers until stopped; each request retried until final."""

    base_url: str
    api_key: str
    concurrency: int = 4
    give_up_s: float = 240.0
    timeout_s: float = 30.0
    outcomes: list[Outcome] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        bank = questions()
        random.Random(13).shuffle(bank)
        counter = itertools.count()
        for n in range(self.concurrency):
            thread = threading.Thread(
                target=self._loop, args=(bank, counter), name=f"agent-{n}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Send no new request; wait for the ones under way to reach a final response."""
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _loop(self, bank: list[str], counter) -> None:
        with httpx.Client(
            base_url=self.base_url, timeout=self.timeout_s, trust_env=False
        ) as client:
            while not self._stop.is_set():
                n = next(counter)
                body: dict = {"question": bank[n % len(bank)], "max_sources": 4}
                if n % 5 == 0:  # declared revenue: revenue-share sources earn from it
                    body["revenue_micros"] = 10_000
                outcome = self.ask(client, body, key=f"faults-{uuid.uuid4().hex}")
                with self._lock:
                    self.outcomes.append(outcome)

    def ask(self, client: httpx.Client, body: dict, *, key: str) -> Outcome:
        headers = {"Authorization": f"Bearer {self.api_key}", "Idempotency-Key": key}
        started = time.monotonic()
        attempts, retried = 0, Counter[str]()
        while True:
            attempts += 1
            reason = None
            try:
                response = client.post("/api/v1/answers", json=body, headers=headers)
            except httpx.TransportError as exc:
                reason = f"connection ({type(exc).__name__})"
            else:
                status = response.status_code
                if status < 500 and status not in RETRY_STATUSES:
                    return Outcome(
                        key=key,
                        body=body,
                        status=status,
                        answer=response.json() if status == 200 else None,
                        attempts=attempts,
                        retried_for=retried,
                        replayed=response.headers.get("Idempotent-Replayed") == "true",
                        sent_at=started,
                        done_at=time.monotonic(),
                    )
                reason = str(status)
                if status == 409:
                    reason += f" {_code(response)}"
            retried[reason] += 1
            if time.monotonic() - started > self.give_up_s:
                return Outcome(key, body, None, None, attempts, retried, False, started, started)
            time.sleep(min(1.0, 0.05 * 2 ** min(attempts, 5)) * random.uniform(0.5, 1.0))


def save(outcomes: list[Outcome], path: Path) -> None:
    """Write each request's outcome as a JSON line (for looking into a run)."""
    with path.open("w") as out:
        for o in outcomes:
            row = {**o.__dict__, "answer_id": o.answer["id"] if o.answer else None}
            del row["answer"]
            out.write(json.dumps(row, default=str) + "\n")


def _code(response: httpx.Response) -> str:
    try:
        return str(response.json().get("code"))
    except ValueError:
        return "?"


def replay_all(base_url: str, api_key: str, outcomes: list[Outcome]) -> Counter[str]:
    """Send every answered request again with its key: each must be its stored answer."""
    result = Counter[str]()
    with httpx.Client(base_url=base_url, timeout=30, trust_env=False) as client:
        for outcome in outcomes:
            if outcome.answer is None:
                continue
            response = client.post(
                "/api/v1/answers",
                json=outcome.body,
                headers={"Authorization": f"Bearer {api_key}", "Idempotency-Key": outcome.key},
            )
            same = response.status_code == 200 and response.json() == outcome.answer
            replayed = response.headers.get("Idempotent-Replayed") == "true"
            result["same answer, replayed" if same and replayed else "different"] += 1
    return result
